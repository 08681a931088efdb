//! What the server removes before the request reaches the backend: headers that could pass
//! for Sesame's, Sesame's own cookies.

use std::ffi::{c_char, c_int};

use super::config::SesameHandle;
use super::{guarded, in_bytes, in_lossy, SesameStr};

/// `Sesame::is_spoofable_header`: 1 when an incoming header of this name must be removed
/// before the request reaches the backend, else 0. `s` may be NULL.
///
/// # Safety
/// `name` valid for `name_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn sesame_is_spoofable_header(
    s: *const SesameHandle,
    name: *const c_char,
    name_len: usize,
) -> c_int {
    let _ = s;
    let r = guarded(|| {
        // SAFETY: caller guarantees the (ptr, len) pair.
        let name = unsafe {
            in_lossy(
                SesameStr {
                    ptr: name,
                    len: name_len,
                },
                "header name",
            )?
        };
        Ok(crate::claims::is_spoofable_header(&name))
    });
    // Unreadable input is treated as spoofable: removing a header is the safe side.
    c_int::from(r.unwrap_or(true))
}

/// `Sesame::without_own_cookies`: removes Sesame's own cookies (session, login, logout) from a
/// Cookie header before the request reaches the backend. `header` is every Cookie value of the
/// request joined by "; "; `buf` must have room for `header.len` bytes (the result is never
/// longer; it may be NULL when `header.len` is 0). Returns 0 when the header holds none of
/// Sesame's cookies (forward it unchanged: the usual case), 1 when `*out_len` bytes written to
/// `buf` replace it (`*out_len` 0: remove the Cookie header), -1 when an argument is invalid
/// (the caller removes the Cookie header: the safe side). `s` may be NULL.
///
/// # Safety
/// `header` valid for its length; `buf` NULL or writable for `header.len` bytes; `out_len`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sesame_without_own_cookies(
    s: *const SesameHandle,
    header: SesameStr,
    buf: *mut c_char,
    out_len: *mut usize,
) -> c_int {
    let _ = s;
    if out_len.is_null() || (buf.is_null() && header.len > 0) {
        return -1;
    }
    let r = guarded(|| {
        // SAFETY: caller guarantees the (ptr, len) pair.
        let bytes = unsafe { in_bytes(header, "cookie header")? };
        Ok(crate::session::without_own_cookies(bytes))
    });
    match r {
        Ok(None) => 0,
        Ok(Some(kept)) if kept.len() <= header.len => {
            // SAFETY: buf is writable for header.len >= kept.len() bytes (checked above and by
            // the contract); out_len is non-NULL and writable.
            unsafe {
                if !kept.is_empty() {
                    std::ptr::copy_nonoverlapping(kept.as_ptr(), buf.cast::<u8>(), kept.len());
                }
                *out_len = kept.len();
            }
            1
        }
        _ => -1,
    }
}
