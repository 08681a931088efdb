//! The ACCESS phase handler: one call per request and per internal redirect, plus one call after
//! a job completes (then it applies the job's outcome).

use std::borrow::Cow;
use std::mem;
use std::panic::{self, AssertUnwindSafe};

use ngx::ffi::{
    ngx_http_request_t, ngx_int_t, NGX_AGAIN, NGX_DECLINED, NGX_HTTP_INTERNAL_SERVER_ERROR,
    NGX_LOG_ERR, NGX_OK,
};
use ngx::http::{HttpModuleLocationConf, HttpModuleMainConf, Request as NgxRequest};
use sesame::{Request, Step};

use crate::ctx::{self, JobState};
use crate::headers::{cookies, scrub_spoofable, text};
use crate::{job, respond, Module};

const ERROR: ngx_int_t = NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;

pub unsafe extern "C" fn access_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: nginx calls phase handlers with a valid request on the event-loop thread.
    match panic::catch_unwind(AssertUnwindSafe(|| unsafe { handle(r) })) {
        Ok(rc) => rc,
        Err(_) => {
            // SAFETY: as above.
            let log = unsafe { (*(*r).connection).log };
            ngx::ngx_log_error!(
                NGX_LOG_ERR,
                log,
                "sesame: internal error (panic) while handling the request; see stderr"
            );
            ERROR
        }
    }
}

/// # Safety
/// `r` must be a valid main request in the ACCESS phase (nginx skips that phase for
/// subrequests).
unsafe fn handle(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: forwarded contract.
    let req = unsafe { NgxRequest::from_ngx_http_request(r) };
    let Some(mcf) = Module::main_conf(req) else {
        return NGX_DECLINED as ngx_int_t;
    };
    let (Some(sesame), Some(lcf)) = (mcf.sesame.as_ref(), Module::location_conf(req)) else {
        return NGX_DECLINED as ngx_int_t;
    };

    // Whatever the location, no client-sent header may pass for Sesame's own.
    // SAFETY: forwarded contract.
    if !unsafe { scrub_spoofable(r, sesame) } {
        return ERROR;
    }

    // SAFETY: forwarded contract.
    if let Some(ctx) = unsafe { ctx::find(r) } {
        match mem::replace(&mut ctx.job, JobState::Idle) {
            running @ JobState::Running { .. } => {
                ctx.job = running;
                return NGX_AGAIN as ngx_int_t;
            }
            // SAFETY: forwarded contract.
            JobState::Finished(Some(outcome)) => return unsafe { respond::apply(r, outcome) },
            JobState::Finished(None) => {
                ngx::ngx_log_error!(
                    NGX_LOG_ERR,
                    req.log(),
                    "sesame: internal error (panic) in a background job; see stderr"
                );
                return ERROR;
            }
            JobState::Idle => {}
        }
        // Allowed earlier in this request (before try_files / index / error_page sent it
        // here): the same provider's protection is already satisfied.
        if let (Some(identity), Some(provider)) = (&ctx.identity, lcf.protecting_provider()) {
            if identity.provider() == provider {
                return NGX_OK as ngx_int_t;
            }
        }
    }

    // SAFETY: forwarded contract; every borrowed field lives in the request.
    let view = unsafe { RequestView::new(r) };
    let step = sesame.begin(lcf.location(), &view.as_request());
    match step {
        // SAFETY: forwarded contract.
        Step::Done(outcome) => unsafe { respond::apply(r, outcome) },
        Step::Job(work) => {
            // SAFETY: forwarded contract.
            let Some(ctx) = (unsafe { ctx::get_or_create(r) }) else {
                return ERROR;
            };
            let pool = job::pool_for(mcf, &work);
            // SAFETY: forwarded contract; the pools were registered at configuration time.
            unsafe { job::start(r, ctx, work, pool) }
        }
    }
}

/// The request fields the core reads, borrowed from nginx's request (copied only when not valid
/// UTF-8, or when several Cookie headers must be joined).
struct RequestView<'a> {
    method: Cow<'a, str>,
    scheme: &'static str,
    host: Cow<'a, str>,
    uri: Cow<'a, str>,
    cookie: Cow<'a, str>,
    client_addr: Cow<'a, str>,
}

impl<'a> RequestView<'a> {
    /// # Safety
    /// `r` must be a valid request that outlives the view.
    unsafe fn new(r: *mut ngx_http_request_t) -> Self {
        // SAFETY: forwarded contract.
        unsafe {
            let r = &*r;
            let c = &*r.connection;
            let host = if let Some(h) = r.headers_in.host.as_ref() {
                text(&h.value)
            } else {
                text(&r.headers_in.server)
            };
            RequestView {
                method: text(&r.method_name),
                scheme: scheme(c),
                host,
                uri: text(&r.unparsed_uri),
                cookie: cookies(r as *const _ as *mut _),
                client_addr: text(&c.addr_text),
            }
        }
    }

    fn as_request(&self) -> Request<'_> {
        Request {
            method: &self.method,
            scheme: self.scheme,
            host: &self.host,
            uri: &self.uri,
            cookie: &self.cookie,
            client_addr: &self.client_addr,
        }
    }
}

#[cfg(ngx_feature = "ssl")]
fn scheme(c: &ngx::ffi::ngx_connection_t) -> &'static str {
    if c.ssl.is_null() {
        "http"
    } else {
        "https"
    }
}

#[cfg(not(ngx_feature = "ssl"))]
fn scheme(_c: &ngx::ffi::ngx_connection_t) -> &'static str {
    "http"
}
