//! Log lines: the process-global sink a server installs at worker/child start.

use std::ffi::{c_char, c_int, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::log::LogLevel;

use super::{SESAME_LOG_DEBUG, SESAME_LOG_ERROR, SESAME_LOG_INFO, SESAME_LOG_WARN};

/// Log callback: `msg` is NUL-terminated and `len` bytes long (without the NUL). Called from
/// any thread; must not call back into Sesame's log functions.
pub type SesameLogFn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, level: c_int, msg: *const c_char, len: usize),
>;

struct CSink {
    cb: unsafe extern "C" fn(*mut c_void, c_int, *const c_char, usize),
    user_data: *mut c_void,
}

// SAFETY: the caller of sesame_set_log_sink promises the callback and its user data may be
// used from any thread (documented on the function).
unsafe impl Send for CSink {}
// SAFETY: as above; we only pass the pointer back, never dereference it.
unsafe impl Sync for CSink {}

impl CSink {
    fn call(&self, level: LogLevel, msg: &str) {
        let level = match level {
            LogLevel::Error => SESAME_LOG_ERROR,
            LogLevel::Warn => SESAME_LOG_WARN,
            LogLevel::Info => SESAME_LOG_INFO,
            LogLevel::Debug => SESAME_LOG_DEBUG,
        };
        let text = CString::new(msg.replace('\0', " ")).unwrap_or_default();
        let len = text.as_bytes().len();
        // SAFETY: the callback was supplied by the C caller for exactly this use; `text` is a
        // NUL-terminated buffer of `len` bytes alive for the duration of the call.
        unsafe { (self.cb)(self.user_data, level, text.as_ptr(), len) };
    }
}

/// Installs the process-global log sink (call at worker/child start). `cb` NULL restores the
/// default (stderr). `cb` is called from any thread with `user_data`, which must stay valid
/// until the sink is replaced.
///
/// # Safety
/// `cb` must be safe to call from any thread with `user_data` until replaced.
#[no_mangle]
pub unsafe extern "C" fn sesame_set_log_sink(cb: SesameLogFn, user_data: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| match cb {
        Some(cb) => {
            let sink = CSink { cb, user_data };
            crate::log::set_sink(Box::new(move |level, msg| sink.call(level, msg)));
        }
        None => crate::log::reset_sink(),
    }));
}

/// Starts holding this thread's log lines back: the lines of the request calls that follow
/// (`sesame_begin`, `sesame_recheck`, `sesame_job_run`) wait for `sesame_log_capture_end`,
/// which writes them through the request's own log (Apache: `ap_log_rerror`, the virtual
/// host's `ErrorLog`). Calling it again before the end keeps collecting.
#[no_mangle]
pub extern "C" fn sesame_log_capture_begin() {
    let _ = catch_unwind(crate::log::scope::begin);
}

/// Writes what this thread logged since `sesame_log_capture_begin` through `cb` (with
/// `user_data`), in order, audit lines to the audit log, and stops holding lines back. `cb`
/// NULL writes them to the process-global sink. Nothing happens without a capture.
///
/// # Safety
/// `cb` must be NULL or safe to call on this thread with `user_data` during this call.
#[no_mangle]
pub unsafe extern "C" fn sesame_log_capture_end(cb: SesameLogFn, user_data: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let captured = crate::log::scope::end();
        match cb {
            Some(cb) => {
                let sink = CSink { cb, user_data };
                captured.write(|level, msg| sink.call(level, msg));
            }
            None => captured.write(crate::log::emit),
        }
    }));
}
