//! The core's log lines, into nginx's error log (`error_log` of the running cycle).
//!
//! The sink is called from the event loop and from thread-pool threads (jobs). That is the same
//! use nginx makes of `ngx_log_error` itself from pool threads (ngx_thread_pool.c and the thread
//! read/write handlers of ngx_files.c log from there): the line is formatted on the stack, the
//! time comes from nginx's rotating cached-time slots, and it is written with one write(2). The
//! cycle pointer is read at each call, so a reload in single-process mode or a worker's cycle is
//! always the current one.

use core::ptr;

use ngx::ffi::{ngx_cycle, NGX_LOG_DEBUG, NGX_LOG_ERR, NGX_LOG_INFO, NGX_LOG_WARN};
use sesame::LogLevel;

/// Replaces the core's default (stderr) sink. Idempotent; called at configuration time (so
/// `nginx -t` shows core warnings the nginx way) and in each worker at start.
pub fn install_sink() {
    sesame::set_log_sink(Box::new(write));
}

fn write(level: LogLevel, message: &str) {
    let level = match level {
        LogLevel::Error => NGX_LOG_ERR,
        LogLevel::Warn => NGX_LOG_WARN,
        LogLevel::Info => NGX_LOG_INFO,
        LogLevel::Debug => NGX_LOG_DEBUG,
    };
    // SAFETY: ngx_cycle is nginx's current cycle pointer, set before any module code runs and
    // only replaced by the master between configuration cycles; a volatile read matches its C
    // declaration.
    let cycle = unsafe { ptr::read_volatile(ptr::addr_of!(ngx_cycle)) };
    // SAFETY: a non-null cycle has a valid log for its lifetime.
    let Some(log) = (unsafe { cycle.as_ref() }).map(|c| c.log) else {
        eprintln!("sesame: {message}");
        return;
    };
    if log.is_null() {
        eprintln!("sesame: {message}");
        return;
    }
    // Core lines usually name themselves already; mark the others so they can be grepped.
    let prefix = if message.starts_with("sesame") {
        ""
    } else {
        "sesame: "
    };
    ngx::ngx_log_error!(level, log, "{}{}", prefix, message);
}
