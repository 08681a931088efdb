//! What goes in and out of the two-step request path: the borrowed request an adapter builds,
//! the step `Sesame::begin` returns (an answer at once, or a job whose `run` does the blocking
//! I/O on any thread) and the outcome the adapter applies. Plain data, except the two opaque
//! handles a configuration hands out (`Location`, `Job`).

use std::fmt;

use crate::identity::Identity;
use crate::pages::Page;

/// A borrowed view of the request, built by the adapter without copying headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// "GET", "POST", ...
    pub method: &'a str,
    /// "http" or "https", as the client reached the server.
    pub scheme: &'a str,
    /// Host header (or server name) as received, with port if any.
    pub host: &'a str,
    /// Raw request target: path + optional `?query`, as received (not decoded).
    pub uri: &'a str,
    /// All Cookie header values joined with "; ", or "" when none.
    pub cookie: &'a str,
    /// Client address, for log lines only.
    pub client_addr: &'a str,
    /// The few request headers that tell a page navigation from a script's request, and a
    /// same-origin request from a cross-site one (`engine::fetch` reads them). Each is the
    /// first such header's value as received, or "" when absent.
    pub accept: &'a str,
    /// `X-Requested-With` (jQuery and most AJAX libraries send `XMLHttpRequest`).
    pub x_requested_with: &'a str,
    /// `Sec-Fetch-Mode` (`navigate`, `cors`, `no-cors`, `same-origin`, `websocket`).
    pub sec_fetch_mode: &'a str,
    /// `Sec-Fetch-Site` (`same-origin`, `same-site`, `cross-site`, `none`).
    pub sec_fetch_site: &'a str,
    /// `Sec-Fetch-Dest` (`document` for a top-level page, `iframe`, `empty` for fetch()...).
    pub sec_fetch_dest: &'a str,
    /// `Origin`.
    pub origin: &'a str,
    /// `Referer`.
    pub referer: &'a str,
    /// `Accept-Language` (the login page's language).
    pub accept_language: &'a str,
    /// `If-None-Match` (the login page's ETag).
    pub if_none_match: &'a str,
}

/// A resolved location: cheap to clone, shared by all requests of that location.
#[derive(Debug, Clone)]
pub struct Location {
    pub(crate) inner: std::sync::Arc<super::LocationPolicy>,
}

/// The answer of `begin` or `Job::run`.
#[derive(Debug)]
pub enum Outcome {
    /// Not Sesame's business: continue as if Sesame were not there. On a protected location
    /// with `sesame_unauth_action pass`, the request goes through without identity.
    Decline,
    /// Let the request through and expose this identity to the backend.
    Allow(Identity),
    /// Send the browser elsewhere (303 See Other), setting these cookies.
    Redirect {
        location: String,
        set_cookies: Vec<String>,
    },
    /// Answer with a page (HTML) of our own, e.g. an error page or a 503 when Redis is down.
    Page(Page),
}

/// Either an immediate answer, or blocking work to run off the event loop.
pub enum Step {
    Done(Outcome),
    Job(Job),
}

/// Blocking work (Redis, HTTPS). `Send`: may run on any thread; must run exactly once or be dropped.
pub struct Job {
    pub(crate) work: super::Work,
    pub(crate) kind: JobKind,
}

/// What a job waits on. A session read is one Redis round trip; a provider exchange can take
/// seconds when the provider is slow, so an adapter with a queue of jobs must never put a
/// session read behind provider exchanges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Redis only (session load, logout).
    Session,
    /// HTTPS to the identity provider (discovery, JWKS, token, userinfo), after Redis maybe.
    Provider,
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}
