//! Request and response header lists (ngx_list_t of ngx_table_elt_t).

use core::ffi::c_void;
use core::ptr;
use std::borrow::Cow;

use ngx::ffi::{
    ngx_http_request_t, ngx_list_init, ngx_list_part_t, ngx_list_push, ngx_list_t, ngx_pnalloc,
    ngx_pool_cleanup_add, ngx_str_t, ngx_table_elt_t, NGX_LOG_INFO, NGX_OK,
};
use sesame::Sesame;

/// Every element of a header list, in order.
///
/// # Safety
/// `list` must be a valid, initialised list of ngx_table_elt_t that is not modified while the
/// returned iterator is used.
pub unsafe fn elements(list: &ngx_list_t) -> impl Iterator<Item = &ngx_table_elt_t> {
    // SAFETY: `list` is valid, initialised and not modified while the iterator lives (this
    // function's # Safety), which is all element_ptrs requires; the elements are only read, for the
    // list's lifetime.
    let ptrs = unsafe { element_ptrs(ptr::from_ref(list).cast_mut()) };
    // SAFETY: each pointer is a live element of `list`, which outlives the iterator.
    ptrs.map(|h| unsafe { &*h })
}

/// Pointers to every element of a header list, in order, for rewriting elements in place.
///
/// # Safety
/// `list` must point to a valid, initialised list of ngx_table_elt_t that does not grow or
/// shrink while the returned iterator is used.
unsafe fn element_ptrs(list: *mut ngx_list_t) -> impl Iterator<Item = *mut ngx_table_elt_t> {
    // SAFETY: `list` points to a valid, initialised list that keeps its size while the iterator
    // lives (this function's # Safety), so its first part can be taken once, here.
    let mut part: *mut ngx_list_part_t = unsafe { &raw mut (*list).part };
    let mut i = 0usize;
    core::iter::from_fn(move || loop {
        if part.is_null() {
            return None;
        }
        // SAFETY: part walks the list's chain of parts, each holding nelts elements.
        let (nelts, elts, next) = unsafe { ((*part).nelts, (*part).elts, (*part).next) };
        if i < nelts {
            // SAFETY: i < nelts, the part's elts array holds ngx_table_elt_t values.
            let elt = unsafe { elts.cast::<ngx_table_elt_t>().add(i) };
            i += 1;
            return Some(elt);
        }
        part = next;
        i = 0;
    })
}

pub fn text(s: &ngx_str_t) -> Cow<'_, str> {
    if s.len == 0 || s.data.is_null() {
        return Cow::Borrowed("");
    }
    let bytes = s.as_bytes();
    // Headers are nearly always valid UTF-8: the standard validator (word at a time) is several
    // times faster than the lossy conversion's chunk walk, which is kept for the rest.
    match std::str::from_utf8(bytes) {
        Ok(valid) => Cow::Borrowed(valid),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// All Cookie request headers joined by "; " (HTTP/2 and HTTP/3 clients send one per cookie).
/// Borrowed when there is a single one.
///
/// # Safety
/// `r` must be a valid request.
pub unsafe fn cookies<'a>(r: *mut ngx_http_request_t) -> Cow<'a, str> {
    let mut joined: Option<Cow<'a, str>> = None;
    // SAFETY: headers_in.headers is the request's initialised header list.
    for h in unsafe { elements(&(*r).headers_in.headers) } {
        if h.hash == 0 || !h.key.as_bytes().eq_ignore_ascii_case(b"cookie") {
            continue;
        }
        let value = text(&h.value);
        joined = Some(match joined {
            None => value,
            Some(prev) => Cow::Owned(format!("{prev}; {value}")),
        });
    }
    joined.unwrap_or(Cow::Borrowed(""))
}

fn is_cookie(h: &ngx_table_elt_t) -> bool {
    h.key.as_bytes().eq_ignore_ascii_case(b"cookie")
}

/// The Cookie header as the client sent it, kept in the request pool once Sesame's cookies were
/// removed from what the backend sees (found again like the module context, through a pool
/// cleanup with a marker handler: internal redirects do not touch the pool).
#[repr(C)]
struct SavedCookies {
    request: *mut ngx_http_request_t,
    value: ngx_str_t,
}

unsafe extern "C" fn saved_cookies_marker(_data: *mut c_void) {}

/// # Safety
/// `r` must be a valid request.
unsafe fn saved_cookies<'a>(r: *mut ngx_http_request_t) -> Option<&'a ngx_str_t> {
    // SAFETY: the pool and its cleanup list are valid for the request's lifetime; cleanup data
    // with our marker handler is always a SavedCookies.
    unsafe {
        let mut cln = (*(*r).pool).cleanup;
        while !cln.is_null() {
            if let Some(handler) = (*cln).handler {
                if ptr::fn_addr_eq(
                    handler,
                    saved_cookies_marker as unsafe extern "C" fn(*mut c_void),
                ) {
                    let saved = (*cln).data.cast::<SavedCookies>();
                    if (*saved).request == r {
                        return Some(&(*saved).value);
                    }
                }
            }
            cln = (*cln).next;
        }
    }
    None
}

/// What the core reads: all Cookie headers as the client sent them, Sesame's own included, even
/// after [`strip_own_cookies`] removed those from what the backend sees (the ACCESS phase runs
/// again after an internal redirect).
///
/// # Safety
/// `r` must be a valid request.
pub unsafe fn cookies_as_sent<'a>(r: *mut ngx_http_request_t) -> Cow<'a, str> {
    // SAFETY: r is a valid request (this function's # Safety), all saved_cookies needs: it only
    // walks r's pool cleanup list.
    match unsafe { saved_cookies(r) } {
        Some(saved) => text(saved),
        // SAFETY: r is a valid request, so its header list is initialised; cookies only reads it.
        None => unsafe { cookies(r) },
    }
}

/// A copy of `bytes` in the request pool.
///
/// # Safety
/// `r` must be a valid request.
unsafe fn pool_str(r: *mut ngx_http_request_t, bytes: &[u8]) -> Option<ngx_str_t> {
    if bytes.is_empty() {
        return Some(ngx_str_t {
            len: 0,
            data: ptr::null_mut(),
        });
    }
    // SAFETY: r->pool is the request pool; the allocation is bytes.len() long.
    unsafe {
        let data = ngx_pnalloc((*r).pool, bytes.len()).cast::<u8>();
        if data.is_null() {
            return None;
        }
        ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
        Some(ngx_str_t {
            len: bytes.len(),
            data,
        })
    }
}

/// Whether a live Cookie element holds one of Sesame's cookies (a scan, no allocation).
fn holds_own_cookies(h: &ngx_table_elt_t, sesame: &Sesame) -> bool {
    h.hash != 0 && h.value.len != 0 && is_cookie(h) && sesame.has_own_cookies(h.value.as_bytes())
}

/// Rewrites one Cookie element without Sesame's cookies if it holds any; an element left empty
/// gets hash 0 (and is then unlinked and removed by the caller).
///
/// # Safety
/// `r` must be a valid request and `h` one of its request header elements.
unsafe fn strip_element(
    r: *mut ngx_http_request_t,
    h: *mut ngx_table_elt_t,
    sesame: &Sesame,
) -> Result<(), ()> {
    // SAFETY: h is a live element of the request's headers (contract).
    if !holds_own_cookies(unsafe { &*h }, sesame) {
        return Ok(());
    }
    // SAFETY: as above; r is a valid request (contract).
    unsafe { rewrite_element(r, h, sesame) }
}

/// Rewrites a Cookie element that holds Sesame's cookies without them; hash 0 when nothing is
/// left.
///
/// # Safety
/// `r` must be a valid request and `h` one of its request header elements.
unsafe fn rewrite_element(
    r: *mut ngx_http_request_t,
    h: *mut ngx_table_elt_t,
    sesame: &Sesame,
) -> Result<(), ()> {
    // SAFETY: h is a live element of the request's headers (contract).
    let h = unsafe { &mut *h };
    let sent = h.value.as_bytes();
    // The other cookies are written straight into the request's pool (the result is never
    // longer than what was sent), so the header element can point at them.
    // SAFETY: r->pool is the request pool (this function's # Safety); the allocation is
    // sent.len() bytes, written below before being read.
    let data = unsafe { ngx_pnalloc((*r).pool, sent.len()) }.cast::<u8>();
    if data.is_null() {
        return Err(());
    }
    // SAFETY: data is a fresh allocation of sent.len() bytes that nothing else points at.
    let out = unsafe { core::slice::from_raw_parts_mut(data, sent.len()) };
    let len = sesame.write_without_own_cookies(sent, out).ok_or(())?;
    h.value = ngx_str_t { len, data };
    if len == 0 {
        h.hash = 0;
    }
    Ok(())
}

/// Removes Sesame's own cookies (session, login, logout) from every Cookie request header, so
/// that neither FastCGI (`HTTP_COOKIE`), uwsgi, SCGI nor proxy_pass forwards a session id that
/// co-hosted code could replay, and `$http_cookie` / `$cookie_NAME` no longer show them. The
/// values are rewritten in place: the header list and nginx's own cookie index
/// (`headers_in.cookie` chain since 1.23, `headers_in.cookies` array before) share the
/// elements. A header left empty is removed from both. The header as sent is kept for
/// [`cookies_as_sent`]. Nothing is allocated when no Sesame cookie is there.
///
/// Returns false when memory ran out (the caller fails the request rather than forward them).
///
/// # Safety
/// `r` must be a valid request.
pub unsafe fn strip_own_cookies(r: *mut ngx_http_request_t, sesame: &Sesame) -> bool {
    let (mut saved, mut emptied) = (false, false);
    // SAFETY: r is a valid request, so its header list is initialised; elements are rewritten in
    // place and the list is never resized while these pointers are used.
    for h in unsafe { element_ptrs(&raw mut (*r).headers_in.headers) } {
        // SAFETY: h is an element of the request's header list.
        if !unsafe { holds_own_cookies(&*h, sesame) } {
            continue;
        }
        // The header as sent is kept before the first rewrite (one scan of each header: the
        // usual request, without Sesame's cookies, allocates nothing).
        // SAFETY: r is a valid request (this function's # Safety) whose headers are still as
        // sent: nothing was rewritten before this first match.
        if !saved && !unsafe { save_cookies_as_sent(r) } {
            return false;
        }
        saved = true;
        // SAFETY: h is a live element of the request's header list, holding Sesame's cookies.
        if unsafe { rewrite_element(r, h, sesame) }.is_err() {
            return false;
        }
        // SAFETY: h is still a live element: rewrite_element rewrote it in place.
        emptied |= unsafe { (*h).hash == 0 };
    }
    if !saved {
        return true;
    }
    // SAFETY: r is a valid request (this function's # Safety); strip_cookie_index only rewrites or
    // unlinks elements of r's own cookie index, and no iterator over it is alive here.
    if unsafe { strip_cookie_index(r, sesame) }.is_err() {
        return false;
    }
    // SAFETY: r is a valid request (this function's # Safety); remove_headers rewrites r's header
    // list in place, and the loop above holds no iterator over it any more.
    !emptied || unsafe { remove_headers(r, |h| h.hash == 0 && is_cookie(h), false) }
}

/// Keeps every Cookie header as the client sent it (joined) in the request pool, once per
/// request, for [`cookies_as_sent`]. False when memory ran out.
///
/// # Safety
/// `r` must be a valid request.
unsafe fn save_cookies_as_sent(r: *mut ngx_http_request_t) -> bool {
    // SAFETY: r is a valid request (this function's # Safety), so its pool and cleanup list are
    // usable; the copy lives in the request pool, its cleanup entry only marks it (nothing to
    // free).
    unsafe {
        if saved_cookies(r).is_some() {
            return true;
        }
        let original = cookies(r);
        let Some(value) = pool_str(r, original.as_bytes()) else {
            return false;
        };
        let cln = ngx_pool_cleanup_add((*r).pool, core::mem::size_of::<SavedCookies>());
        if cln.is_null() {
            return false;
        }
        ptr::write(
            (*cln).data.cast::<SavedCookies>(),
            SavedCookies { request: r, value },
        );
        (*cln).handler = Some(saved_cookies_marker);
    }
    true
}

/// nginx 1.23+: the `headers_in.cookie` chain. Its elements are normally the list's (already
/// rewritten); any other is rewritten too, and emptied ones are unlinked.
///
/// # Safety
/// `r` must be a valid request.
#[cfg(nginx1_23_0)]
unsafe fn strip_cookie_index(r: *mut ngx_http_request_t, sesame: &Sesame) -> Result<(), ()> {
    // SAFETY: the chain links live elements of the request's headers through `next`.
    unsafe {
        let mut link: *mut *mut ngx_table_elt_t = &mut (*r).headers_in.cookie;
        while !(*link).is_null() {
            let h = *link;
            strip_element(r, h, sesame)?;
            if (*h).hash == 0 && is_cookie(&*h) {
                *link = (*h).next;
            } else {
                link = &mut (*h).next;
            }
        }
    }
    Ok(())
}

/// nginx 1.22: the `headers_in.cookies` array of element pointers.
///
/// # Safety
/// `r` must be a valid request.
#[cfg(not(nginx1_23_0))]
unsafe fn strip_cookie_index(r: *mut ngx_http_request_t, sesame: &Sesame) -> Result<(), ()> {
    // SAFETY: the array holds `nelts` pointers to live elements of the request's headers; it is
    // compacted in place (never grown).
    unsafe {
        let cookies = &mut (*r).headers_in.cookies;
        if cookies.elts.is_null() {
            return Ok(());
        }
        let elts = cookies.elts.cast::<*mut ngx_table_elt_t>();
        let mut kept = 0;
        for i in 0..cookies.nelts {
            let h = *elts.add(i);
            strip_element(r, h, sesame)?;
            if !((*h).hash == 0 && is_cookie(&*h)) {
                *elts.add(kept) = h;
                kept += 1;
            }
        }
        cookies.nelts = kept;
    }
    Ok(())
}

/// Removes incoming headers that could pass for Sesame's own (`X-Sesame-*`, `Remote-User`,
/// mod_auth_openidc's `OIDC_CLAIM_*`...) so neither FastCGI nor proxy_pass forwards them.
///
/// Returns false when memory ran out (the caller fails the request rather than forward them).
///
/// # Safety
/// `r` must be a valid request.
pub unsafe fn scrub_spoofable(r: *mut ngx_http_request_t, sesame: &Sesame) -> bool {
    // SAFETY: r is a valid request (this function's # Safety), remove_headers' only requirement.
    unsafe {
        remove_headers(
            r,
            |h| h.hash != 0 && sesame.is_spoofable_header(&text(&h.key)),
            true,
        )
    }
}

/// Removes the request headers `remove` picks (FastCGI, uwsgi, SCGI and proxy_pass forward every
/// element of the list, whatever its hash).
///
/// The kept elements are copied into a new list rather than shifted in place: nginx keeps
/// pointers to known headers (`r->headers_in.host`, cookie chains) into the old list, which stays
/// valid and unchanged in the request pool. The copy only happens when there is something to
/// remove, i.e. practically only for forged requests or Sesame's cookies.
///
/// # Safety
/// `r` must be a valid request.
unsafe fn remove_headers(
    r: *mut ngx_http_request_t,
    remove: impl Fn(&ngx_table_elt_t) -> bool,
    log_each: bool,
) -> bool {
    // SAFETY: the request's header list is valid and not modified during the scan.
    let headers = unsafe { &mut (*r).headers_in.headers };
    let (mut kept, mut removed) = (0usize, 0usize);
    // SAFETY: as above.
    for h in unsafe { elements(headers) } {
        if remove(h) {
            removed += 1;
        } else {
            kept += 1;
        }
    }
    if removed == 0 {
        return true;
    }

    // SAFETY: a zeroed ngx_list_t is a valid target for ngx_list_init.
    let mut fresh: ngx_list_t = unsafe { core::mem::zeroed() };
    // SAFETY: r->pool is the request pool; elements are plain C structs copied by value.
    unsafe {
        if ngx_list_init(
            &mut fresh,
            (*r).pool,
            kept.max(1),
            core::mem::size_of::<ngx_table_elt_t>(),
        ) != NGX_OK as isize
        {
            return false;
        }
        for h in elements(headers) {
            if remove(h) {
                if log_each {
                    let log = (*(*r).connection).log;
                    ngx::ngx_log_error!(
                        NGX_LOG_INFO,
                        log,
                        "sesame: removed request header \"{}\" that only Sesame may set",
                        sesame::escape_unsafe(&text(&h.key))
                    );
                }
                continue;
            }
            let slot = ngx_list_push(&mut fresh).cast::<ngx_table_elt_t>();
            if slot.is_null() {
                return false;
            }
            *slot = *h;
        }
        (*r).headers_in.headers = fresh;
    }
    true
}

/// Appends a response header.
///
/// # Safety
/// `r` must be a valid request whose header has not been sent.
pub unsafe fn add_response_header(r: *mut ngx_http_request_t, name: &str, value: &str) -> bool {
    // SAFETY: headers_out.headers is the request's initialised response header list; values are
    // copied into the request pool.
    unsafe {
        let pool = (*r).pool;
        let elt = ngx_list_push(&mut (*r).headers_out.headers).cast::<ngx_table_elt_t>();
        if elt.is_null() {
            return false;
        }
        let (Some(key), Some(val)) = (
            ngx_str_t::from_bytes(pool, name.as_bytes()),
            ngx_str_t::from_bytes(pool, value.as_bytes()),
        ) else {
            (*elt).hash = 0; // an element with hash 0 is skipped by the header filter
            return false;
        };
        *elt = core::mem::zeroed();
        (*elt).hash = 1;
        (*elt).key = key;
        (*elt).value = val;
        true
    }
}
