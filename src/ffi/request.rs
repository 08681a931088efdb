//! The request path's first step: `sesame_begin` (pure CPU) and `sesame_recheck`.

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::engine::{Request, Sesame, Step};

use super::config::SesameHandle;
use super::errors::SesameError;
use super::job::SesameJob;
use super::location::SesameLocation;
use super::outcome::SesameOutcome;
use super::{in_lossy, set_error, SesameStr, SESAME_STEP_DONE, SESAME_STEP_JOB};

/// The request as the server sees it; every field borrowed for the duration of the call.
/// Fields the server does not have are `{NULL, 0}`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SesameRequest {
    /// "GET", "POST", ...
    pub method: SesameStr,
    /// "http" or "https".
    pub scheme: SesameStr,
    /// Host header (with port if any).
    pub host: SesameStr,
    /// Raw request target: path + optional `?query`, not decoded.
    pub uri: SesameStr,
    /// All Cookie header values joined with "; ".
    pub cookie: SesameStr,
    /// Client address, for log lines.
    pub client_addr: SesameStr,
    /// These request headers (first value each, `{NULL, 0}` when absent) tell a page
    /// navigation from a script's request and this site from another: `Accept`.
    pub accept: SesameStr,
    /// `X-Requested-With`.
    pub x_requested_with: SesameStr,
    /// `Sec-Fetch-Mode`.
    pub sec_fetch_mode: SesameStr,
    /// `Sec-Fetch-Site`.
    pub sec_fetch_site: SesameStr,
    /// `Sec-Fetch-Dest`.
    pub sec_fetch_dest: SesameStr,
    /// `Origin`.
    pub origin: SesameStr,
    /// `Referer`.
    pub referer: SesameStr,
    /// `Accept-Language` (the login page's language).
    pub accept_language: SesameStr,
    /// `If-None-Match` (the login page's ETag).
    pub if_none_match: SesameStr,
}

/// `Sesame::begin`: pure CPU, never blocks. `loc` is NULL for locations without a sesame
/// directive (then only Sesame's own endpoints answer). Returns SESAME_STEP_DONE with `*out`
/// set, SESAME_STEP_JOB with `*job` set, or -1 with `*err` set (NULL arguments). A panic
/// becomes a 500 page outcome.
///
/// # Safety
/// `s` a live core, `loc` NULL or a live location, `req` a valid request whose strings are
/// valid for their lengths, `out` and `job` writable, `err` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sesame_begin(
    s: *const SesameHandle,
    loc: *const SesameLocation,
    req: *const SesameRequest,
    out: *mut *mut SesameOutcome,
    job: *mut *mut SesameJob,
    err: *mut *mut SesameError,
) -> c_int {
    let begin = |core: &Sesame, request: &Request<'_>| {
        // SAFETY: NULL or a live location (contract).
        let loc = unsafe { loc.as_ref() }.map(|l| &l.0);
        Ok(core.begin(loc, request))
    };
    // SAFETY: sesame_begin's # Safety (repeated in include/sesame.h) is step_call's: a live core, a
    // valid request, out and job writable, err NULL or writable.
    unsafe { step_call("sesame_begin", s, req, out, job, err, begin) }
}

/// `Sesame::recheck`: the verdict of `loc` for the identity of `earlier`, the ALLOW outcome an
/// earlier section of this same request got (an internal redirect: DirectoryIndex,
/// ErrorDocument, FallbackResource, mod_rewrite `[PT]`). A protected location of that
/// identity's provider applies its own level and required claims with no session read; any
/// other location answers as `sesame_begin`. Returns as `sesame_begin`; -1 with `*err` set
/// when `loc` is NULL or `earlier` is not an ALLOW outcome.
///
/// # Safety
/// As `sesame_begin`; `loc` NULL or a live location, `earlier` NULL or a live outcome.
#[no_mangle]
pub unsafe extern "C" fn sesame_recheck(
    s: *const SesameHandle,
    loc: *const SesameLocation,
    earlier: *const SesameOutcome,
    req: *const SesameRequest,
    out: *mut *mut SesameOutcome,
    job: *mut *mut SesameJob,
    err: *mut *mut SesameError,
) -> c_int {
    let recheck = |core: &Sesame, request: &Request<'_>| {
        // SAFETY: NULL or a live location (contract).
        let loc = unsafe { loc.as_ref() }.ok_or("sesame_recheck: location is NULL")?;
        // SAFETY: NULL or a live outcome (contract).
        let identity = unsafe { earlier.as_ref() }
            .and_then(|o| o.identity.as_ref())
            .ok_or("sesame_recheck: earlier is not an ALLOW outcome")?;
        Ok(core.recheck(&loc.0, identity, request))
    };
    // SAFETY: sesame_recheck's # Safety includes sesame_begin's, which is step_call's.
    unsafe { step_call("sesame_recheck", s, req, out, job, err, recheck) }
}

/// What `sesame_begin` and `sesame_recheck` share: arguments checked, the request read, `f`
/// run with no panic crossing, its step written out.
///
/// # Safety
/// As `sesame_begin`.
unsafe fn step_call(
    what: &str,
    s: *const SesameHandle,
    req: *const SesameRequest,
    out: *mut *mut SesameOutcome,
    job: *mut *mut SesameJob,
    err: *mut *mut SesameError,
    f: impl FnOnce(&Sesame, &Request<'_>) -> Result<Step, String>,
) -> c_int {
    if out.is_null() || job.is_null() {
        // SAFETY: err is NULL or writable.
        unsafe { set_error(err, format!("{what}: out and job must not be NULL")) };
        return -1;
    }
    // SAFETY: out and job are non-NULL and writable (contract).
    unsafe {
        *out = std::ptr::null_mut();
        *job = std::ptr::null_mut();
    }
    let r = catch_unwind(AssertUnwindSafe(|| -> Result<Step, String> {
        // SAFETY: the caller passes NULL or a live core.
        let s = unsafe { s.as_ref() }.ok_or_else(|| format!("{what}: sesame is NULL"))?;
        // SAFETY: the caller passes NULL or a valid request.
        let req = unsafe { req.as_ref() }.ok_or_else(|| format!("{what}: request is NULL"))?;
        // SAFETY: every field's (ptr, len) is valid for this call (contract).
        let (method, scheme, host, uri, cookie, client_addr) = unsafe {
            (
                in_lossy(req.method, "method")?,
                in_lossy(req.scheme, "scheme")?,
                in_lossy(req.host, "host")?,
                in_lossy(req.uri, "uri")?,
                in_lossy(req.cookie, "cookie")?,
                in_lossy(req.client_addr, "client_addr")?,
            )
        };
        // SAFETY: as above.
        let headers = unsafe {
            [
                in_lossy(req.accept, "accept")?,
                in_lossy(req.x_requested_with, "x_requested_with")?,
                in_lossy(req.sec_fetch_mode, "sec_fetch_mode")?,
                in_lossy(req.sec_fetch_site, "sec_fetch_site")?,
                in_lossy(req.sec_fetch_dest, "sec_fetch_dest")?,
                in_lossy(req.origin, "origin")?,
                in_lossy(req.referer, "referer")?,
                in_lossy(req.accept_language, "accept_language")?,
                in_lossy(req.if_none_match, "if_none_match")?,
            ]
        };
        let [accept, x_requested_with, sec_fetch_mode, sec_fetch_site, sec_fetch_dest, origin, referer, accept_language, if_none_match] =
            &headers;
        let request = Request {
            method: &method,
            scheme: &scheme,
            host: &host,
            uri: &uri,
            cookie: &cookie,
            client_addr: &client_addr,
            accept,
            x_requested_with,
            sec_fetch_mode,
            sec_fetch_site,
            sec_fetch_dest,
            origin,
            referer,
            accept_language,
            if_none_match,
        };
        f(&s.0, &request)
    }));
    match r {
        Ok(Ok(Step::Done(outcome))) => {
            let o = Box::into_raw(Box::new(SesameOutcome::from_outcome(outcome)));
            // SAFETY: out is writable (checked non-NULL above).
            unsafe { *out = o };
            SESAME_STEP_DONE
        }
        Ok(Ok(Step::Job(j))) => {
            // SAFETY: job is writable (checked non-NULL above).
            unsafe { *job = Box::into_raw(Box::new(SesameJob(j))) };
            SESAME_STEP_JOB
        }
        Ok(Err(m)) => {
            // SAFETY: err is NULL or writable.
            unsafe { set_error(err, m) };
            -1
        }
        Err(_) => {
            // SAFETY: out is writable (checked non-NULL above).
            unsafe { *out = SesameOutcome::internal_error(what) };
            SESAME_STEP_DONE
        }
    }
}
