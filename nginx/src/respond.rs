//! Applies the core's `Outcome` to the request, from the ACCESS phase.

use core::ptr;

use ngx::ffi::{
    ngx_buf_t, ngx_chain_t, ngx_http_complex_value_t, ngx_http_discard_request_body,
    ngx_http_finalize_request, ngx_http_output_filter, ngx_http_request_t, ngx_http_send_header,
    ngx_http_send_response, ngx_int_t, ngx_pcalloc, ngx_str_t, NGX_DECLINED, NGX_DONE, NGX_ERROR,
    NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_HTTP_SEE_OTHER, NGX_OK,
};
use sesame::{Outcome, Page};

use crate::ctx;
use crate::headers::add_response_header;

const ERROR: ngx_int_t = NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;

/// Returns what the ACCESS handler returns: NGX_DECLINED (not ours), NGX_OK (allowed), an HTTP
/// status for nginx to finalize with (redirect), or NGX_DONE (page sent and finalized here).
///
/// # Safety
/// `r` must be the main request, in the ACCESS phase, header not sent yet.
pub unsafe fn apply(r: *mut ngx_http_request_t, outcome: Outcome) -> ngx_int_t {
    // SAFETY: r is the main request in the ACCESS phase with no header sent (this function's #
    // Safety), which each arm's helper requires; each copies what it hands nginx into r's pool.
    unsafe {
        match outcome {
            Outcome::Decline => NGX_DECLINED as ngx_int_t,
            Outcome::Allow(identity) => {
                let Some(ctx) = ctx::get_or_create(r) else {
                    return ERROR;
                };
                ctx.identity = Some(identity);
                NGX_OK as ngx_int_t
            }
            Outcome::Redirect {
                location,
                set_cookies: cookies,
            } => redirect(r, &location, &cookies),
            Outcome::Page(page) => send_page(r, &page),
        }
    }
}

/// # Safety
/// See [`apply`].
unsafe fn set_cookies(r: *mut ngx_http_request_t, cookies: &[String]) -> bool {
    cookies
        .iter()
        // SAFETY: r is the main request and no header was sent (apply's # Safety), so headers_out
        // still takes headers; add_response_header copies the value into r's pool.
        .all(|c| unsafe { add_response_header(r, "Set-Cookie", c) })
}

/// 303 See Other, like `return 303 URL;` (nginx adds the short body and makes a relative
/// Location absolute according to `absolute_redirect`).
///
/// # Safety
/// See [`apply`].
unsafe fn redirect(r: *mut ngx_http_request_t, location: &str, cookies: &[String]) -> ngx_int_t {
    // SAFETY: r is the main request and no header was sent (apply's # Safety); the location is
    // copied into the request pool.
    unsafe {
        if !set_cookies(r, cookies) || !add_response_header(r, "Cache-Control", "no-store") {
            return ERROR;
        }
        let Some(value) = ngx_str_t::from_bytes((*r).pool, location.as_bytes()) else {
            return ERROR;
        };
        // A complex value without lengths is a constant: its `value` is used as is.
        let mut cv: ngx_http_complex_value_t = core::mem::zeroed();
        cv.value = value;
        // Returns 303 (or an error status): nginx finalizes with it.
        ngx_http_send_response(r, NGX_HTTP_SEE_OTHER as usize, ptr::null_mut(), &mut cv)
    }
}

/// Sends one of the core's pages ourselves (not through nginx's special responses, so a site's
/// `error_page 401 ...` does not replace the explanation), then finalizes the request.
///
/// # Safety
/// See [`apply`].
unsafe fn send_page(r: *mut ngx_http_request_t, page: &Page) -> ngx_int_t {
    // SAFETY: as write_page requires (apply's # Safety).
    match unsafe { write_page(r, page) } {
        Written::Not(rc) => rc,
        Written::Sent(rc) => {
            // SAFETY: r is the main request whose response was just handed to the filters.
            unsafe { ngx_http_finalize_request(r, rc) };
            NGX_DONE as ngx_int_t
        }
    }
}

/// A content handler's answer: one of the core's pages (`sesame_metrics;`), the status
/// nginx's content phase finalizes the request with.
///
/// # Safety
/// `r` must be a main request in the CONTENT phase, header not sent yet.
pub unsafe fn content_page(r: *mut ngx_http_request_t, page: &Page) -> ngx_int_t {
    // SAFETY: as write_page requires (this function's # Safety).
    match unsafe { write_page(r, page) } {
        Written::Not(rc) | Written::Sent(rc) => rc,
    }
}

/// How far [`write_page`] went.
enum Written {
    /// Nothing was sent: answer with this status.
    Not(ngx_int_t),
    /// Header (and body) sent: finalize with this rc.
    Sent(ngx_int_t),
}

/// # Safety
/// `r` must be a main request whose header was not sent yet.
unsafe fn write_page(r: *mut ngx_http_request_t, page: &Page) -> Written {
    // SAFETY: r is the main request and no header was sent (this function's # Safety); every
    // byte handed to nginx is copied into the request pool, so nothing borrowed from `page`
    // outlives this call.
    unsafe {
        let rc = ngx_http_discard_request_body(r);
        if rc != NGX_OK as ngx_int_t {
            return Written::Not(rc);
        }
        if !set_cookies(r, &page.set_cookies) {
            return Written::Not(ERROR);
        }
        for (name, value) in &page.headers {
            if !add_response_header(r, name, value) {
                return Written::Not(ERROR);
            }
        }
        let pool = (*r).pool;
        let (Some(content_type), Some(body)) = (
            ngx_str_t::from_bytes(pool, page.content_type.as_bytes()),
            ngx_str_t::from_bytes(pool, page.body.as_bytes()),
        ) else {
            return Written::Not(ERROR);
        };
        // After `error_page 404 /x;` nginx would send any response with the original status
        // (`r->err_status`): Sesame's answer at the target (403 "Accès refusé"...) keeps its own,
        // as nginx's own access modules' do.
        (*r).err_status = 0;
        let out = &mut (*r).headers_out;
        out.status = usize::from(page.status);
        out.content_type_len = content_type.len;
        out.content_type = content_type;
        out.content_type_lowcase = ptr::null_mut();
        out.content_length_n = body.len as i64;

        let rc = ngx_http_send_header(r);
        if rc == NGX_ERROR as ngx_int_t || rc > NGX_OK as ngx_int_t || (*r).header_only() != 0 {
            return Written::Sent(rc);
        }

        let b = ngx_pcalloc(pool, core::mem::size_of::<ngx_buf_t>()).cast::<ngx_buf_t>();
        let chain = ngx_pcalloc(pool, core::mem::size_of::<ngx_chain_t>()).cast::<ngx_chain_t>();
        if b.is_null() || chain.is_null() {
            return Written::Sent(NGX_ERROR as ngx_int_t);
        }
        (*b).pos = body.data;
        (*b).last = body.data.add(body.len);
        (*b).set_memory(if body.len > 0 { 1 } else { 0 });
        (*b).set_last_buf(1);
        (*b).set_last_in_chain(1);
        (*chain).buf = b;
        (*chain).next = ptr::null_mut();

        Written::Sent(ngx_http_output_filter(r, chain))
    }
}
