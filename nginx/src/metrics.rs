//! `sesame_metrics;` (set in `conf.rs`): the location's content handler answers the core's metrics page (the
//! counts of every worker of this server, in the Prometheus text format). A content handler,
//! not the ACCESS phase, so that nginx's `allow` / `deny` / `auth_basic` in the location
//! guard the page as they guard any other content.

use std::panic::{self, AssertUnwindSafe};

use ngx::ffi::{ngx_http_request_t, ngx_int_t, NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_LOG_ERR};
use ngx::http::HttpModuleMainConf;

use crate::Module;

const ERROR: ngx_int_t = NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;

/// # Safety
/// Called by nginx's content phase with a valid request.
pub(crate) unsafe extern "C" fn metrics_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: nginx calls content handlers with a valid request on the event-loop thread.
    match panic::catch_unwind(AssertUnwindSafe(|| unsafe { answer(r) })) {
        Ok(rc) => rc,
        Err(_) => {
            // SAFETY: as above.
            let log = unsafe { (*(*r).connection).log };
            ngx::ngx_log_error!(
                NGX_LOG_ERR,
                log,
                "sesame: internal error (panic) while answering the metrics; see stderr"
            );
            ERROR
        }
    }
}

/// # Safety
/// `r` is a valid request in the content phase.
unsafe fn answer(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: r is valid (this function's # Safety); the borrow ends with this call.
    let req = unsafe { ngx::http::Request::from_ngx_http_request(r) };
    let Some(sesame) = Module::main_conf(req).and_then(|m| m.sesame.as_ref()) else {
        return ERROR;
    };
    // SAFETY: method_name is nginx's copy of the request method, valid for the request.
    let method = unsafe { (*r).method_name.to_str() }.unwrap_or("");
    let page = sesame.metrics_page(method);
    // SAFETY: r is a request in the content phase with no header sent yet.
    unsafe { crate::respond::content_page(r, &page) }
}
