//! Building a configured core: directives in, `sesame_config_build` out.

use std::ffi::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::config::ConfigBuilder;
use crate::engine::Sesame;

use super::errors::SesameError;
use super::{guarded, guarded_err, in_str, out_str, set_error, status, SesameStr, EMPTY};

/// Collects directives before `sesame_config_build`.
pub struct SesameConfigBuilder(pub(super) ConfigBuilder);
/// A configured core; shareable between threads.
pub struct SesameHandle(pub(super) Sesame);

/// A new, empty configuration builder (NULL only if a panic occurred).
#[no_mangle]
pub extern "C" fn sesame_config_builder_new() -> *mut SesameConfigBuilder {
    catch_unwind(|| Box::into_raw(Box::new(SesameConfigBuilder(ConfigBuilder::new()))))
        .unwrap_or(std::ptr::null_mut())
}

/// Frees a builder that was not passed to `sesame_config_build` (NULL is fine).
///
/// # Safety
/// `b` must be NULL or a builder from this library not yet freed or built.
#[no_mangle]
pub unsafe extern "C" fn sesame_config_builder_free(b: *mut SesameConfigBuilder) {
    if !b.is_null() {
        // SAFETY: created by Box::into_raw in sesame_config_builder_new, not freed (contract).
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(b) })));
    }
}

/// `ConfigBuilder::set_global`: a http-level directive (`redis`, `secret_file`, ...), key
/// without the `sesame_` prefix, value = the directive's arguments joined by one space.
/// Returns 0, or -1 with `*err` set.
///
/// # Safety
/// `b` must be NULL or a live builder; strings must be valid for their lengths; `err` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn sesame_config_set_global(
    b: *mut SesameConfigBuilder,
    key: *const c_char,
    key_len: usize,
    value: *const c_char,
    value_len: usize,
    err: *mut *mut SesameError,
) -> c_int {
    let r = guarded_err(|| {
        // SAFETY: the caller passes NULL or a live builder, used by this thread only.
        let b = unsafe { b.as_mut() }.ok_or("sesame_config_set_global: builder is NULL")?;
        // SAFETY: caller guarantees the (ptr, len) pairs.
        let key = unsafe {
            in_str(
                SesameStr {
                    ptr: key,
                    len: key_len,
                },
                "directive name",
            )?
        };
        // SAFETY: as above.
        let value = unsafe {
            in_str(
                SesameStr {
                    ptr: value,
                    len: value_len,
                },
                "directive value",
            )?
        };
        b.0.set_global(key, value).map_err(SesameError::from)
    });
    // SAFETY: err is NULL or writable (caller contract).
    unsafe { status(err, r) }
}

/// `ConfigBuilder::add_provider`: opens a `sesame_provider NAME { }` block.
///
/// # Safety
/// As for `sesame_config_set_global`.
#[no_mangle]
pub unsafe extern "C" fn sesame_config_add_provider(
    b: *mut SesameConfigBuilder,
    name: *const c_char,
    name_len: usize,
    err: *mut *mut SesameError,
) -> c_int {
    let r = guarded_err(|| {
        // SAFETY: the caller passes NULL or a live builder.
        let b = unsafe { b.as_mut() }.ok_or("sesame_config_add_provider: builder is NULL")?;
        // SAFETY: caller guarantees the (ptr, len) pair.
        let name = unsafe {
            in_str(
                SesameStr {
                    ptr: name,
                    len: name_len,
                },
                "provider name",
            )?
        };
        b.0.add_provider(name).map_err(SesameError::from)
    });
    // SAFETY: err is NULL or writable.
    unsafe { status(err, r) }
}

/// The core key of a directive written inside `<SesameProvider>` as Apache spells it
/// (`ClientID` -> `client_id`, any letter case), from the directive registry; `{NULL, 0}` when
/// the registry knows no such name (the caller then hands the name to the core, which names it
/// as unknown). The string is static.
///
/// # Safety
/// `name` must be valid for `name_len` bytes (or NULL with 0).
#[no_mangle]
pub unsafe extern "C" fn sesame_provider_key(name: *const c_char, name_len: usize) -> SesameStr {
    guarded(|| {
        // SAFETY: caller guarantees the (ptr, len) pair.
        let name = unsafe {
            in_str(
                SesameStr {
                    ptr: name,
                    len: name_len,
                },
                "directive name",
            )?
        };
        Ok(crate::directives::registry::provider_keys()
            .find(|d| d.apache.is_some_and(|a| a.eq_ignore_ascii_case(name)))
            .map_or(EMPTY, |d| out_str(d.key)))
    })
    .unwrap_or(EMPTY)
}

/// `ConfigBuilder::set_provider`: one directive inside a provider block.
///
/// # Safety
/// As for `sesame_config_set_global`.
#[no_mangle]
pub unsafe extern "C" fn sesame_config_set_provider(
    b: *mut SesameConfigBuilder,
    name: *const c_char,
    name_len: usize,
    key: *const c_char,
    key_len: usize,
    value: *const c_char,
    value_len: usize,
    err: *mut *mut SesameError,
) -> c_int {
    let r = guarded_err(|| {
        // SAFETY: the caller passes NULL or a live builder.
        let b = unsafe { b.as_mut() }.ok_or("sesame_config_set_provider: builder is NULL")?;
        // SAFETY: caller guarantees the (ptr, len) pairs.
        let name = unsafe {
            in_str(
                SesameStr {
                    ptr: name,
                    len: name_len,
                },
                "provider name",
            )?
        };
        // SAFETY: as above.
        let key = unsafe {
            in_str(
                SesameStr {
                    ptr: key,
                    len: key_len,
                },
                "directive name",
            )?
        };
        // SAFETY: as above.
        let value = unsafe {
            in_str(
                SesameStr {
                    ptr: value,
                    len: value_len,
                },
                "directive value",
            )?
        };
        b.0.set_provider(name, key, value)
            .map_err(SesameError::from)
    });
    // SAFETY: err is NULL or writable.
    unsafe { status(err, r) }
}

/// `ConfigBuilder::build`: cross-checks, reads the secret files, returns the configured core
/// or NULL with `*err` set. Consumes `b` in every case (do not free it afterwards).
/// Opens no socket and starts no thread.
///
/// # Safety
/// `b` must be NULL or a live builder; `err` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sesame_config_build(
    b: *mut SesameConfigBuilder,
    err: *mut *mut SesameError,
) -> *mut SesameHandle {
    let r = guarded_err(|| {
        if b.is_null() {
            return Err(SesameError::from("sesame_config_build: builder is NULL"));
        }
        // SAFETY: created by sesame_config_builder_new and not freed (contract); consumed here.
        let builder = unsafe { Box::from_raw(b) };
        builder.0.build().map_err(SesameError::from)
    });
    match r {
        Ok(s) => Box::into_raw(Box::new(SesameHandle(s))),
        Err(m) => {
            // SAFETY: err is NULL or writable.
            unsafe { set_error(err, m) };
            std::ptr::null_mut()
        }
    }
}

/// Frees a configured core (NULL is fine). Jobs and locations already handed out stay valid.
///
/// # Safety
/// `s` must be NULL or a core from `sesame_config_build` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn sesame_free(s: *mut SesameHandle) {
    if !s.is_null() {
        // SAFETY: created by Box::into_raw in sesame_config_build, not freed (contract).
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(s) })));
    }
}

/// `Sesame::shares_secret_with`: 1 when both cores (with providers) were built with the same
/// secret, else 0 (also for NULL). For a configuration-time warning.
///
/// # Safety
/// `a` and `b` must be NULL or live cores.
#[no_mangle]
pub unsafe extern "C" fn sesame_shares_secret(
    a: *const SesameHandle,
    b: *const SesameHandle,
) -> c_int {
    if a.is_null() || b.is_null() {
        return 0;
    }
    // SAFETY: both are live cores from sesame_config_build (contract), only read here.
    let (a, b) = unsafe { (&*a, &*b) };
    catch_unwind(AssertUnwindSafe(|| {
        c_int::from(a.0.shares_secret_with(&b.0))
    }))
    .unwrap_or(0)
}
