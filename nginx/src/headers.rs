//! Request and response header lists (ngx_list_t of ngx_table_elt_t).

use std::borrow::Cow;

use ngx::ffi::{
    ngx_http_request_t, ngx_list_init, ngx_list_part_t, ngx_list_push, ngx_list_t, ngx_str_t,
    ngx_table_elt_t, NGX_LOG_INFO, NGX_OK,
};
use sesame::Sesame;

/// Every element of a header list, in order.
///
/// # Safety
/// `list` must be a valid, initialised list of ngx_table_elt_t that is not modified while the
/// returned iterator is used.
pub unsafe fn elements(list: &ngx_list_t) -> impl Iterator<Item = &ngx_table_elt_t> {
    let mut part: *const ngx_list_part_t = &list.part;
    let mut i = 0usize;
    core::iter::from_fn(move || loop {
        // SAFETY: part walks the list's chain of parts, each holding nelts elements.
        let p = unsafe { part.as_ref()? };
        if i < p.nelts {
            // SAFETY: i < nelts, the part's elts array holds ngx_table_elt_t values.
            let elt = unsafe { &*p.elts.cast::<ngx_table_elt_t>().add(i) };
            i += 1;
            return Some(elt);
        }
        part = p.next;
        i = 0;
    })
}

pub fn text(s: &ngx_str_t) -> Cow<'_, str> {
    if s.len == 0 || s.data.is_null() {
        return Cow::Borrowed("");
    }
    String::from_utf8_lossy(s.as_bytes())
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

/// Removes incoming headers that could pass for Sesame's own (`X-Sesame-*`, `Remote-User`...)
/// so neither FastCGI nor proxy_pass forwards them.
///
/// The kept elements are copied into a new list rather than shifted in place: nginx keeps
/// pointers to known headers (`r->headers_in.host`, cookie chains) into the old list, which stays
/// valid and unchanged in the request pool. The copy only happens when there is something to
/// remove, i.e. practically only for forged requests.
///
/// Returns false when memory ran out (the caller fails the request rather than forward them).
///
/// # Safety
/// `r` must be a valid request.
pub unsafe fn scrub_spoofable(r: *mut ngx_http_request_t, sesame: &Sesame) -> bool {
    let spoofable = |h: &ngx_table_elt_t| h.hash != 0 && sesame.is_spoofable_header(&text(&h.key));
    // SAFETY: the request's header list is valid and not modified during the scan.
    let headers = unsafe { &mut (*r).headers_in.headers };
    let (mut kept, mut removed) = (0usize, 0usize);
    // SAFETY: as above.
    for h in unsafe { elements(headers) } {
        if spoofable(h) {
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
            if spoofable(h) {
                let log = (*(*r).connection).log;
                ngx::ngx_log_error!(
                    NGX_LOG_INFO,
                    log,
                    "sesame: removed request header \"{}\" that only Sesame may set",
                    text(&h.key)
                );
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
