//! Errors as values: a message in each server's directive syntax and, for a configuration
//! mistake, what it is about.

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{
    out_str, SesameStr, EMPTY, SESAME_SUBJECT_GLOBAL, SESAME_SUBJECT_LOCATION,
    SESAME_SUBJECT_PROVIDER, SESAME_SUBJECT_WHOLE, SESAME_SYNTAX_APACHE,
};

/// An error: its message in each server's syntax and, for a configuration mistake, what it is
/// about (so the caller points at the line it recorded for that directive).
pub struct SesameError {
    message: String,
    /// The message in Apache's directive syntax (`SesameSecretFile`, `<SesameProvider fc>`).
    apache: String,
    subject: c_int,
    provider: String,
    key: String,
}

impl From<String> for SesameError {
    fn from(message: String) -> Self {
        SesameError {
            apache: message.clone(),
            message,
            subject: SESAME_SUBJECT_WHOLE,
            provider: String::new(),
            key: String::new(),
        }
    }
}

impl From<&str> for SesameError {
    fn from(message: &str) -> Self {
        SesameError::from(message.to_owned())
    }
}

impl From<crate::directives::ConfigError> for SesameError {
    fn from(e: crate::directives::ConfigError) -> Self {
        use crate::directives::{Subject, Syntax};
        let (subject, provider, key) = match &e.subject {
            Subject::Whole => (SESAME_SUBJECT_WHOLE, "", None),
            Subject::Global { key } => (SESAME_SUBJECT_GLOBAL, "", Some(key)),
            Subject::Provider { name, key } => {
                (SESAME_SUBJECT_PROVIDER, name.as_str(), key.as_ref())
            }
            Subject::Location { key } => (SESAME_SUBJECT_LOCATION, "", key.as_ref()),
        };
        SesameError {
            message: e.render(Syntax::Nginx),
            apache: e.render(Syntax::Apache),
            subject,
            provider: provider.to_owned(),
            key: key.cloned().unwrap_or_default(),
        }
    }
}

/// The message of an error (UTF-8, not NUL-terminated); `{NULL, 0}` for a NULL error.
///
/// # Safety
/// `err` must be NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn sesame_error_message(err: *const SesameError) -> SesameStr {
    catch_unwind(|| {
        // SAFETY: the caller passes NULL or a live error handle.
        match unsafe { err.as_ref() } {
            Some(e) => out_str(&e.message),
            None => EMPTY,
        }
    })
    .unwrap_or(EMPTY)
}

/// The message of an error in a server's directive syntax (`SESAME_SYNTAX_NGINX` or
/// `SESAME_SYNTAX_APACHE`; any other value reads as nginx); `{NULL, 0}` for a NULL error.
///
/// # Safety
/// `err` must be NULL or a live error from this library.
#[no_mangle]
pub unsafe extern "C" fn sesame_error_render(err: *const SesameError, syntax: c_int) -> SesameStr {
    catch_unwind(|| {
        // SAFETY: the caller passes NULL or a live error handle.
        match unsafe { err.as_ref() } {
            Some(e) if syntax == SESAME_SYNTAX_APACHE => out_str(&e.apache),
            Some(e) => out_str(&e.message),
            None => EMPTY,
        }
    })
    .unwrap_or(EMPTY)
}

/// What a configuration error is about: one of `SESAME_SUBJECT_*`, with the provider's name
/// (`SESAME_SUBJECT_PROVIDER`) and the directive's core key (empty when about the block or the
/// location itself) written to the non-NULL out-parameters. The strings live as long as `err`.
///
/// # Safety
/// `err` must be NULL or a live error from this library; `provider` and `key` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn sesame_error_subject(
    err: *const SesameError,
    provider: *mut SesameStr,
    key: *mut SesameStr,
) -> c_int {
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller passes NULL or a live error handle.
        let Some(e) = (unsafe { err.as_ref() }) else {
            return SESAME_SUBJECT_WHOLE;
        };
        // SAFETY: each out-parameter is NULL or writable (caller contract).
        unsafe {
            if let Some(out) = provider.as_mut() {
                *out = out_str(&e.provider);
            }
            if let Some(out) = key.as_mut() {
                *out = out_str(&e.key);
            }
        }
        e.subject
    }))
    .unwrap_or(SESAME_SUBJECT_WHOLE)
}

/// Frees an error (NULL is fine).
///
/// # Safety
/// `err` must be NULL or an error from this library not yet freed.
#[no_mangle]
pub unsafe extern "C" fn sesame_error_free(err: *mut SesameError) {
    if !err.is_null() {
        // SAFETY: created by Box::into_raw in set_error and not freed before (caller contract).
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(err) })));
    }
}
