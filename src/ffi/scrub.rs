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

/// `Sesame::write_without_own_cookies`: removes Sesame's own cookies (session, login, logout) from a
/// Cookie header before the request reaches the backend. `header` is every Cookie value of the
/// request joined by "; "; `buf` must have room for `header.len` bytes (the result is never
/// longer; it may be NULL when `header.len` is 0) and must not overlap `header`. Returns 0 when the header holds none of
/// Sesame's cookies (forward it unchanged: the usual case), 1 when `*out_len` bytes written to
/// `buf` replace it (`*out_len` 0: remove the Cookie header), -1 when an argument is invalid
/// (the caller removes the Cookie header: the safe side), overlapping buffers included. `s` may
/// be NULL.
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
    // The result is written into `buf` while `header` is read: they must be apart.
    let (h, b) = (header.ptr as usize, buf as usize);
    if header.len > 0 && h < b.saturating_add(header.len) && b < h.saturating_add(header.len) {
        return -1;
    }
    let r = guarded(|| {
        // SAFETY: caller guarantees the (ptr, len) pair.
        let bytes = unsafe { in_bytes(header, "cookie header")? };
        if !crate::session::has_own_cookies(bytes) {
            return Ok(None);
        }
        // SAFETY: has_own_cookies found a pair, so header.len > 0 and buf is non-NULL (checked
        // above) and writable for header.len bytes (the contract); nothing else refers to it
        // during the call.
        let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), header.len) };
        crate::session::write_without_own_cookies(bytes, out)
            .map(Some)
            .ok_or_else(|| "the cookie buffer is too short".to_owned())
    });
    match r {
        Ok(None) => 0,
        Ok(Some(kept_len)) => {
            // SAFETY: out_len is non-NULL (checked above) and writable (the contract).
            unsafe { *out_len = kept_len };
            1
        }
        _ => -1,
    }
}
