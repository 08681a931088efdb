//! The ACCESS phase handler: one call per request and per internal redirect, plus one call after
//! a job completes (then it applies the job's outcome).

use std::borrow::Cow;
use std::mem;
use std::panic::{self, AssertUnwindSafe};

use ngx::ffi::{
    ngx_http_request_t, ngx_int_t, NGX_AGAIN, NGX_DECLINED, NGX_HTTP_INTERNAL_SERVER_ERROR,
    NGX_LOG_ERR,
};
use ngx::http::{HttpModuleLocationConf, HttpModuleMainConf, Request as NgxRequest};
use sesame::{Request, Step};

use crate::conf::MainConf;
use crate::ctx::{self, JobState};
use crate::fetch_headers::{fetch_header_index, FETCH_HEADERS};
use crate::headers::{cookies_as_sent, elements, scrub_spoofable, strip_own_cookies, text};
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
    // SAFETY: nginx calls this phase handler with a valid main request on the event-loop thread
    // (handle's # Safety); the NgxRequest borrow ends with this call.
    let req = unsafe { NgxRequest::from_ngx_http_request(r) };
    let Some(mcf) = Module::main_conf(req) else {
        return NGX_DECLINED as ngx_int_t;
    };
    let (Some(sesame), Some(lcf)) = (mcf.sesame.as_ref(), Module::location_conf(req)) else {
        return NGX_DECLINED as ngx_int_t;
    };

    // Whatever the location, no client-sent header may pass for Sesame's own, and no backend
    // sees Sesame's cookies (the core still reads them: `cookies_as_sent`).
    // SAFETY: r is a valid main request (handle's # Safety); both functions rewrite its header
    // lists in place, and no iterator over them is alive here.
    if !unsafe { strip_own_cookies(r, sesame) && scrub_spoofable(r, sesame) } {
        return ERROR;
    }

    // SAFETY: r is a valid main request of this event-loop iteration, what find requires.
    if let Some(ctx) = unsafe { ctx::find(r) } {
        match mem::replace(&mut ctx.job, JobState::Idle) {
            running @ JobState::Running { .. } => {
                ctx.job = running;
                return NGX_AGAIN as ngx_int_t;
            }
            // SAFETY: r is the main request in the ACCESS phase and nothing was sent for it yet (a
            // finished job's outcome is applied once, here), what respond::apply requires.
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
        // Allowed earlier in this request, then sent here by an internal redirect (try_files,
        // index, error_page, a named location, X-Accel-Redirect): this location's own rules
        // (level, required claims) judge the identity in hand, with no session read.
        if let (Some(identity), Some(location)) = (&ctx.identity, lcf.location()) {
            // SAFETY: r stays valid for the whole call (handle's # Safety) and the view is dropped
            // before it returns; every borrowed field lives in the request.
            let view = unsafe { RequestView::new(r) };
            let (step, lines) = sesame::capture_log_lines(|| {
                sesame.recheck(location, identity, &view.as_request())
            });
            // SAFETY: r is a valid main request on the event loop (handle's # Safety).
            unsafe { crate::log::write_captured(r, lines) };
            // SAFETY: r is the main request in the ACCESS phase with nothing sent yet, what
            // apply_step requires.
            return unsafe { apply_step(r, step, mcf) };
        }
    }

    // SAFETY: r stays valid for the whole call (handle's # Safety) and the view is dropped before
    // it returns; every borrowed field lives in the request.
    let view = unsafe { RequestView::new(r) };
    // The lines of `begin` go to the error_log of this request's location (`log.rs`).
    let (step, lines) =
        sesame::capture_log_lines(|| sesame.begin(lcf.location(), &view.as_request()));
    // SAFETY: r is a valid main request on the event loop (handle's # Safety).
    unsafe { crate::log::write_captured(r, lines) };
    // SAFETY: r is the main request in the ACCESS phase with nothing sent yet, what apply_step
    // requires.
    unsafe { apply_step(r, step, mcf) }
}

/// Applies an immediate answer, or posts the job.
///
/// # Safety
/// As [`handle`]; `mcf` holds the thread pools registered at configuration time.
unsafe fn apply_step(r: *mut ngx_http_request_t, step: Step, mcf: &MainConf) -> ngx_int_t {
    match step {
        // SAFETY: r is the main request in the ACCESS phase with nothing sent yet (apply_step's #
        // Safety), what respond::apply requires.
        Step::Done(outcome) => unsafe { respond::apply(r, outcome) },
        Step::Job(work) => {
            // SAFETY: r is a valid request of this event-loop iteration, what get_or_create
            // requires.
            let Some(ctx) = (unsafe { ctx::get_or_create(r) }) else {
                return ERROR;
            };
            let pool = job::pool_for(mcf, &work);
            // SAFETY: r is the main request in the ACCESS phase and ctx its state in the request
            // pool; the pools were registered at configuration time, so job::start posts to live
            // pools.
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
    /// `Accept`, `X-Requested-With`, `Sec-Fetch-Mode`, `Sec-Fetch-Site`, `Sec-Fetch-Dest`,
    /// `Origin`, `Referer`, `Accept-Language`, `If-None-Match` (the login page's language and
    /// ETag), in `FETCH_HEADERS` order (first value of each, "" when absent).
    fetch: [Cow<'a, str>; FETCH_HEADERS.len()],
}

impl<'a> RequestView<'a> {
    /// # Safety
    /// `r` must be a valid request that outlives the view.
    unsafe fn new(r: *mut ngx_http_request_t) -> Self {
        // SAFETY: the caller guarantees the request outlives the view (new's # Safety): the
        // request, its connection and its initialised header list stay valid and unmodified while
        // the view (which borrows from them) lives.
        unsafe {
            let r = &*r;
            let c = &*r.connection;
            let host = if let Some(h) = r.headers_in.host.as_ref() {
                text(&h.value)
            } else {
                text(&r.headers_in.server)
            };
            let mut fetch: [Cow<'a, str>; FETCH_HEADERS.len()] = Default::default();
            let mut seen = [false; FETCH_HEADERS.len()];
            // One pass over the request's header list; values are borrowed, not copied.
            for h in elements(&r.headers_in.headers) {
                if h.hash == 0 {
                    continue;
                }
                let key = h.key.as_bytes();
                if let Some(i) = fetch_header_index(key) {
                    if !seen[i] {
                        seen[i] = true;
                        fetch[i] = text(&h.value);
                    }
                }
            }
            RequestView {
                fetch,
                method: text(&r.method_name),
                scheme: scheme(c),
                host,
                uri: text(&r.unparsed_uri),
                cookie: cookies_as_sent(r as *const _ as *mut _),
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
            accept: &self.fetch[0],
            x_requested_with: &self.fetch[1],
            sec_fetch_mode: &self.fetch[2],
            sec_fetch_site: &self.fetch[3],
            sec_fetch_dest: &self.fetch[4],
            origin: &self.fetch[5],
            referer: &self.fetch[6],
            accept_language: &self.fetch[7],
            if_none_match: &self.fetch[8],
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
