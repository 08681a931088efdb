//! The public, server-neutral API of the core: what an adapter (nginx module, Apache shim via the
//! C ABI in `ffi.rs`) sees. Everything here is plain data; the behaviour lives in `engine.rs`.
//!
//! The request path is a two-step state machine:
//! `Sesame::begin` is pure CPU and either answers at once (`Step::Done`) or hands back a `Job`
//! whose `run` does the blocking I/O (Redis, HTTPS to the provider) on any thread.

use std::fmt;

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
}

/// What a location asks of Sesame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationMode {
    /// A login with the provider is required to reach this location.
    Protect,
    /// End the local session, then the provider's session (browser redirect to end_session).
    Logout,
    /// End the local session only, then redirect to the provider's configured logout landing page.
    LogoutLocal,
}

/// Raw per-location settings as written in the server configuration.
#[derive(Debug, Clone)]
pub struct LocationSpec {
    pub mode: LocationMode,
    /// Name of a provider block (`sesame_provider NAME { ... }`).
    pub provider: String,
    /// Further per-location options (`key`, `value`), validated by `Sesame::location`.
    pub options: Vec<(String, String)>,
}

/// A resolved location: cheap to clone, shared by all requests of that location.
#[derive(Debug, Clone)]
pub struct Location {
    pub(crate) inner: std::sync::Arc<crate::engine::LocationPolicy>,
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

/// A complete response produced by Sesame.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    pub set_cookies: Vec<String>,
    /// Extra response headers (e.g. `Cache-Control: no-store`).
    pub headers: Vec<(String, String)>,
}

pub use crate::identity::{ClaimText, Identity, IdentityFields, UNIFORM_CLAIMS};

/// Either an immediate answer, or blocking work to run off the event loop.
pub enum Step {
    Done(Outcome),
    Job(Job),
}

/// Blocking work (Redis, HTTPS). `Send`: may run on any thread; must run exactly once or be dropped.
pub struct Job {
    pub(crate) work: crate::engine::Work,
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

/// A configuration mistake, with a message that tells the operator what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub message: String,
}

impl ConfigError {
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Log levels the core uses; adapters map them to their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

/// Where the core writes its log lines. Adapters install one (nginx: error_log of the cycle,
/// Apache: ap_log_error). Must be callable from any thread.
pub type LogSink = dyn Fn(LogLevel, &str) + Send + Sync;
