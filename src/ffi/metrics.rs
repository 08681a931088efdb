//! The metrics page (Apache `SetHandler sesame-metrics`).

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::config::SesameHandle;
use super::outcome::SesameOutcome;
use super::{in_lossy, SesameStr};
use crate::engine::Outcome;

/// `Sesame::metrics_page`: a PAGE outcome with the counts of every process of this server in
/// the Prometheus text format (405 for a method other than GET and HEAD). NULL only when `s` is
/// NULL; a panic becomes a 500 page outcome. Free it with `sesame_outcome_free`.
///
/// # Safety
/// `s` NULL or a live core; `method` valid for its length.
#[no_mangle]
pub unsafe extern "C" fn sesame_metrics_page(
    s: *const SesameHandle,
    method: SesameStr,
) -> *mut SesameOutcome {
    if s.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: a live core from sesame_config_build (contract), only read here.
    let core = unsafe { &*s };
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: method is valid for its length (contract).
        let method = unsafe { in_lossy(method, "method") }.unwrap_or_default();
        let page = core.0.metrics_page(&method);
        Box::into_raw(Box::new(SesameOutcome::from_outcome(Outcome::Page(page))))
    }))
    .unwrap_or_else(|_| SesameOutcome::internal_error("sesame_metrics_page"))
}
