//! Resolving a location's settings against a configured core.

use std::ffi::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::directives::{LocationMode, LocationSpec};
use crate::engine::Location;

use super::config::SesameHandle;
use super::errors::SesameError;
use super::{
    guarded_err, in_str, set_error, SesameStr, SESAME_MODE_LOGOUT, SESAME_MODE_LOGOUT_LOCAL,
    SESAME_MODE_PROTECT,
};

/// One per-location option (key, value).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SesameOption {
    pub key: SesameStr,
    pub value: SesameStr,
}

/// A resolved location.
pub struct SesameLocation(pub(super) Location);

/// `Sesame::location`: resolves a location (`mode` = SESAME_MODE_*, `provider` = block name,
/// `options` may be NULL when `options_len` is 0). NULL with `*err` set on error.
///
/// # Safety
/// `s` must be a live core; strings valid for their lengths; `options` NULL or
/// `options_len` readable items; `err` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sesame_location_new(
    s: *const SesameHandle,
    mode: c_int,
    provider: *const c_char,
    provider_len: usize,
    options: *const SesameOption,
    options_len: usize,
    err: *mut *mut SesameError,
) -> *mut SesameLocation {
    let r = guarded_err(|| {
        // SAFETY: the caller passes NULL or a live core.
        let s = unsafe { s.as_ref() }.ok_or("sesame_location_new: sesame is NULL")?;
        let mode = match mode {
            SESAME_MODE_PROTECT => LocationMode::Protect,
            SESAME_MODE_LOGOUT => LocationMode::Logout,
            SESAME_MODE_LOGOUT_LOCAL => LocationMode::LogoutLocal,
            other => {
                return Err(SesameError::from(format!(
                    "sesame_location_new: unknown mode {other}"
                )))
            }
        };
        // SAFETY: caller guarantees the (ptr, len) pair.
        let provider = unsafe {
            in_str(
                SesameStr {
                    ptr: provider,
                    len: provider_len,
                },
                "provider name",
            )?
        };
        let opts: &[SesameOption] = if options.is_null() || options_len == 0 {
            &[]
        } else {
            // SAFETY: non-NULL and the caller guarantees options_len readable items.
            unsafe { std::slice::from_raw_parts(options, options_len) }
        };
        let mut pairs = Vec::with_capacity(opts.len());
        for o in opts {
            // SAFETY: caller guarantees each (ptr, len) pair.
            let k = unsafe { in_str(o.key, "option name")? };
            // SAFETY: as above.
            let v = unsafe { in_str(o.value, "option value")? };
            pairs.push((k.to_owned(), v.to_owned()));
        }
        let spec = LocationSpec {
            mode,
            provider: provider.to_owned(),
            options: pairs,
        };
        s.0.location(&spec).map_err(SesameError::from)
    });
    match r {
        Ok(l) => Box::into_raw(Box::new(SesameLocation(l))),
        Err(m) => {
            // SAFETY: err is NULL or writable.
            unsafe { set_error(err, m) };
            std::ptr::null_mut()
        }
    }
}

/// Frees a location (NULL is fine).
///
/// # Safety
/// `l` must be NULL or a location from `sesame_location_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn sesame_location_free(l: *mut SesameLocation) {
    if !l.is_null() {
        // SAFETY: created by Box::into_raw in sesame_location_new, not freed (contract).
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(l) })));
    }
}
