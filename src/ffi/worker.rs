//! C ABI: what a server does in each worker / child process once it has forked (start the
//! revocation feed) and when that process exits (stop it).

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::config::SesameHandle;

/// `Sesame::start_worker`: call in each child after the fork (Apache `child_init`), once per
/// core. Starts the thread that keeps the session cache in step with sessions ended elsewhere
/// (logouts in other processes, `sesame sessions kill`). NULL is ignored.
///
/// # Safety
/// `s` must be NULL or a live core.
#[no_mangle]
pub unsafe extern "C" fn sesame_worker_start(s: *const SesameHandle) {
    // SAFETY: NULL or a live core (contract); shared access only.
    if let Some(s) = unsafe { s.as_ref() } {
        let _ = catch_unwind(AssertUnwindSafe(|| s.0.start_worker()));
    }
}

/// `Sesame::stop_worker`: call when the child exits (a pool cleanup of the child's pool). Waits
/// for the thread, a quarter of a second at most. NULL is ignored.
///
/// # Safety
/// `s` must be NULL or a live core.
#[no_mangle]
pub unsafe extern "C" fn sesame_worker_stop(s: *const SesameHandle) {
    // SAFETY: NULL or a live core (contract); shared access only.
    if let Some(s) = unsafe { s.as_ref() } {
        let _ = catch_unwind(AssertUnwindSafe(|| s.0.stop_worker()));
    }
}
