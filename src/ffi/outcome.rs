//! The answer for one request, flattened for C accessors (its identity: `identity.rs`).

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use crate::engine::{internal_error, Outcome};

use super::{
    out_str, SesameStr, EMPTY, SESAME_ALLOW, SESAME_DECLINE, SESAME_PAGE, SESAME_REDIRECT,
};

/// The answer for one request, flattened for C accessors.
pub struct SesameOutcome {
    pub(super) kind: c_int,
    pub(super) status: c_int,
    pub(super) location: String,
    pub(super) body: String,
    pub(super) content_type: String,
    pub(super) cookies: Vec<String>,
    pub(super) headers: Vec<(String, String)>,
    /// SESAME_ALLOW: the identity (shared with the session cache, nothing copied) and the
    /// views of it built on first use only; see `ffi/identity.rs`.
    pub(super) identity: Option<crate::identity::Identity>,
    pub(super) views: Views,
}

impl SesameOutcome {
    pub(super) fn from_outcome(outcome: Outcome) -> SesameOutcome {
        let mut out = SesameOutcome {
            kind: SESAME_DECLINE,
            status: 0,
            location: String::new(),
            body: String::new(),
            content_type: String::new(),
            cookies: Vec::new(),
            headers: Vec::new(),
            identity: None,
            views: Views::default(),
        };
        match outcome {
            Outcome::Decline => {}
            Outcome::Allow(identity) => {
                out.kind = SESAME_ALLOW;
                out.identity = Some(identity);
            }
            Outcome::Redirect {
                location,
                set_cookies,
            } => {
                out.kind = SESAME_REDIRECT;
                out.status = 303;
                out.location = location;
                out.cookies = set_cookies;
            }
            Outcome::Page(page) => {
                out.kind = SESAME_PAGE;
                out.status = c_int::from(page.status);
                out.body = page.body;
                out.content_type = page.content_type;
                out.cookies = page.set_cookies;
                out.headers = page.headers;
            }
        }
        out
    }

    pub(super) fn internal_error(context: &str) -> *mut SesameOutcome {
        // Building the 500 page itself could only panic on allocation failure (which aborts).
        let page = catch_unwind(|| internal_error(context)).ok();
        match page {
            Some(p) => Box::into_raw(Box::new(SesameOutcome::from_outcome(Outcome::Page(p)))),
            None => std::ptr::null_mut(),
        }
    }
}

/// Applies `f` to a live outcome; `default` for NULL or a panic.
///
/// # Safety
/// `o` must be NULL or a live outcome.
pub(super) unsafe fn with_outcome<T>(
    o: *const SesameOutcome,
    default: T,
    f: impl FnOnce(&SesameOutcome) -> T,
) -> T {
    // SAFETY: NULL or a live outcome (caller contract).
    match unsafe { o.as_ref() } {
        Some(o) => catch_unwind(AssertUnwindSafe(|| f(o))).unwrap_or(default),
        None => default,
    }
}

/// SESAME_DECLINE / SESAME_ALLOW / SESAME_REDIRECT / SESAME_PAGE, or -1 for NULL.
///
/// # Safety
/// `o` must be NULL or a live outcome.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_kind(o: *const SesameOutcome) -> c_int {
    // SAFETY: `o` is NULL or a live outcome (this function's contract).
    unsafe { with_outcome(o, -1, |o| o.kind) }
}

/// HTTP status: 303 for a redirect, the page's status for a page, 0 otherwise.
///
/// # Safety
/// `o` must be NULL or a live outcome.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_status(o: *const SesameOutcome) -> c_int {
    // SAFETY: `o` is NULL or a live outcome (this function's contract).
    unsafe { with_outcome(o, 0, |o| o.status) }
}

/// Redirect target (empty unless SESAME_REDIRECT).
///
/// # Safety
/// `o` must be NULL or a live outcome.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_location(o: *const SesameOutcome) -> SesameStr {
    // SAFETY: `o` is NULL or a live outcome (this function's contract).
    unsafe { with_outcome(o, EMPTY, |o| out_str(&o.location)) }
}

/// Page body (empty unless SESAME_PAGE).
///
/// # Safety
/// `o` must be NULL or a live outcome.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_body(o: *const SesameOutcome) -> SesameStr {
    // SAFETY: `o` is NULL or a live outcome (this function's contract).
    unsafe { with_outcome(o, EMPTY, |o| out_str(&o.body)) }
}

/// Page content type (empty unless SESAME_PAGE).
///
/// # Safety
/// `o` must be NULL or a live outcome.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_content_type(o: *const SesameOutcome) -> SesameStr {
    // SAFETY: `o` is NULL or a live outcome (this function's contract).
    unsafe { with_outcome(o, EMPTY, |o| out_str(&o.content_type)) }
}

/// Number of Set-Cookie header values to add to the response (any kind).
///
/// # Safety
/// `o` must be NULL or a live outcome.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_cookie_count(o: *const SesameOutcome) -> usize {
    // SAFETY: `o` is NULL or a live outcome (this function's contract).
    unsafe { with_outcome(o, 0, |o| o.cookies.len()) }
}

/// The i-th Set-Cookie value (`{NULL, 0}` when out of range).
///
/// # Safety
/// `o` must be NULL or a live outcome.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_cookie(o: *const SesameOutcome, i: usize) -> SesameStr {
    // SAFETY: `o` is NULL or a live outcome (this function's contract).
    unsafe { with_outcome(o, EMPTY, |o| o.cookies.get(i).map_or(EMPTY, |c| out_str(c))) }
}

/// Number of extra response headers (e.g. Cache-Control on pages).
///
/// # Safety
/// `o` must be NULL or a live outcome.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_header_count(o: *const SesameOutcome) -> usize {
    // SAFETY: `o` is NULL or a live outcome (this function's contract).
    unsafe { with_outcome(o, 0, |o| o.headers.len()) }
}

/// The i-th extra response header: 0 with `*name`/`*value` set, -1 when out of range.
///
/// # Safety
/// `o` must be NULL or a live outcome; `name` and `value` writable.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_header(
    o: *const SesameOutcome,
    i: usize,
    name: *mut SesameStr,
    value: *mut SesameStr,
) -> c_int {
    if name.is_null() || value.is_null() {
        return -1;
    }
    // SAFETY: `o` is NULL or a live outcome (this function's contract).
    let pair = unsafe {
        with_outcome(o, None, |o| {
            o.headers.get(i).map(|(n, v)| (out_str(n), out_str(v)))
        })
    };
    match pair {
        Some((n, v)) => {
            // SAFETY: name and value are non-NULL and writable (contract).
            unsafe {
                *name = n;
                *value = v;
            }
            0
        }
        None => -1,
    }
}

/// Frees an outcome (NULL is fine).
///
/// # Safety
/// `o` must be NULL or an outcome from this library not yet freed.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_free(o: *mut SesameOutcome) {
    if !o.is_null() {
        // SAFETY: created by Box::into_raw in this module, not freed (contract).
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(o) })));
    }
}

/// Views of the identity built for C callers on first use (`identity.rs` fills them).
#[derive(Debug, Default)]
pub(super) struct Views {
    /// `claim_<name>` for every claim, in the identity's order.
    pub(super) claim_var_names: OnceLock<Vec<String>>,
    /// Every identity variable's value, header-encoded, in `sesame_outcome_var` order.
    pub(super) var_header_values: OnceLock<Vec<String>>,
    /// The present uniform claims' values, header-encoded, in `sesame_outcome_uniform` order.
    pub(super) uniform_header_values: OnceLock<Vec<String>>,
}
