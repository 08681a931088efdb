//! The core's log lines, into nginx's error logs.
//!
//! Lines about a request go to the `error_log` of the location that handled it (nginx resolves
//! it per location, `ngx_http_core_loc_conf_t.error_log`, into the request's connection log),
//! without nginx's request context: its request line would put a callback's authorization
//! code in the log. The core holds them back during
//! `begin` / `recheck` and during a job (`sesame::capture_log_lines`); `write_captured` writes
//! them on the event loop: right after `begin`, and when a job completes. A job's lines are not
//! written from the pool thread through the location's log: its writers (syslog, the memory
//! buffer) are the event loop's, and `USR1` reopens its files there; they wait until the job
//! ends, which `http_timeout` and `redis_timeout` bound.
//!
//! Lines with no request (configuration, start-up) go to the global sink below. It is called from the event loop and from thread-pool threads (jobs). That is the same
//! use nginx makes of `ngx_log_error` itself from pool threads (ngx_thread_pool.c and the thread
//! read/write handlers of ngx_files.c log from there): the line is formatted on the stack, the
//! time comes from nginx's rotating cached-time slots, and it is written with one write(2). The
//! cycle pointer is read at each call, so a reload in single-process mode or a worker's cycle is
//! always the current one.

use core::ptr;

use ngx::ffi::{
    ngx_cycle, ngx_http_request_t, ngx_log_t, ngx_uint_t, NGX_LOG_DEBUG, NGX_LOG_ERR, NGX_LOG_INFO,
    NGX_LOG_WARN,
};
use sesame::LogLevel;

/// Replaces the core's default (stderr) sink. Idempotent; called at configuration time (so
/// `nginx -t` shows core warnings the nginx way) and in each worker at start.
pub fn install_sink() {
    sesame::set_log_sink(Box::new(write));
}

fn ngx_level(level: LogLevel) -> ngx_uint_t {
    match level {
        LogLevel::Error => NGX_LOG_ERR as ngx_uint_t,
        LogLevel::Warn => NGX_LOG_WARN as ngx_uint_t,
        LogLevel::Info => NGX_LOG_INFO as ngx_uint_t,
        LogLevel::Debug => NGX_LOG_DEBUG as ngx_uint_t,
    }
}

/// Core lines usually name themselves already; mark the others so they can be grepped.
fn prefix_of(message: &str) -> &'static str {
    if message.starts_with("sesame") {
        ""
    } else {
        "sesame: "
    }
}

/// Writes a request call's lines (and audit lines) through the request's log: its location's
/// `error_log`, each line filtered by that log's level as nginx's own lines are.
///
/// # Safety
/// On the event loop, with `r` a valid request.
pub unsafe fn write_captured(r: *mut ngx_http_request_t, lines: sesame::CapturedLogLines) {
    if lines.is_empty() {
        return;
    }
    // SAFETY: r is a valid request (# Safety); its connection log is the location's error_log
    // (set by ngx_http_update_location_config) and valid for the request's lifetime.
    let Some(request_log) = (unsafe { (*(*r).connection).log.as_ref() }) else {
        lines.write(write);
        return;
    };
    // A copy without nginx's request handler: it would append the request line, and a
    // callback's request line holds the authorization code and state, which no log may keep.
    // The copy writes to the same files (and the same chain of error_log lines) at the same
    // levels; the core's lines name the client themselves.
    let mut log = *request_log;
    log.handler = None;
    log.data = core::ptr::null_mut();
    let log: *mut ngx_log_t = &mut log;
    lines.write(|level, message| {
        ngx::ngx_log_error!(ngx_level(level), log, "{}{}", prefix_of(message), message);
    });
}

fn write(level: LogLevel, message: &str) {
    let level = ngx_level(level);
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
    ngx::ngx_log_error!(level, log, "{}{}", prefix_of(message), message);
}
