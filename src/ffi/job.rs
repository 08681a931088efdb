//! The request path's second step: blocking work run once on any thread.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::engine::Job;

use super::outcome::SesameOutcome;

/// Blocking work to run once with `sesame_job_run` (any thread), or drop with `sesame_job_free`.
pub struct SesameJob(pub(super) Job);

/// `Job::run`: blocking (Redis, HTTPS); any thread. Consumes `job`. Returns the outcome
/// (a 500 page if a panic occurred), or NULL when `job` is NULL.
///
/// # Safety
/// `job` must be NULL or a job from `sesame_begin` not yet run or freed.
#[no_mangle]
pub unsafe extern "C" fn sesame_job_run(job: *mut SesameJob) -> *mut SesameOutcome {
    if job.is_null() {
        return std::ptr::null_mut();
    }
    let run = move || {
        // SAFETY: created by Box::into_raw in sesame_begin, not run or freed (contract).
        let job = unsafe { Box::from_raw(job) };
        job.0.run()
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(outcome) => Box::into_raw(Box::new(SesameOutcome::from_outcome(outcome))),
        Err(_) => SesameOutcome::internal_error("sesame_job_run"),
    }
}

/// Drops a job without running it (NULL is fine).
///
/// # Safety
/// `job` must be NULL or a job from `sesame_begin` not yet run or freed.
#[no_mangle]
pub unsafe extern "C" fn sesame_job_free(job: *mut SesameJob) {
    if !job.is_null() {
        // SAFETY: created by Box::into_raw in sesame_begin, not run or freed (contract).
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(job) })));
    }
}
