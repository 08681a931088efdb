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

/// What a configuration mistake is about: the adapter renders it in its own syntax and points
/// at the line where it recorded that directive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Subject {
    /// The configuration as a whole (e.g. an internal error).
    #[default]
    Whole,
    /// An http-level directive, by registry key (`secret_file`).
    Global { key: String },
    /// A provider block, or one of its keys.
    Provider { name: String, key: Option<String> },
    /// A location: its `sesame` / `sesame_logout` directive (`key` None) or one of its options.
    Location { key: Option<String> },
}

/// A server's directive syntax, for rendering a [`ConfigError`] and the log lines of the
/// running core (set with [`ConfigBuilder::set_syntax`](crate::ConfigBuilder::set_syntax)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Syntax {
    /// `sesame_secret_file PATH;`, `sesame_provider "fc": client_id`.
    #[default]
    Nginx,
    /// `SesameSecretFile PATH`, `<SesameProvider fc>: ClientID`.
    Apache,
}

/// A configuration mistake: what it is about and a message that tells the operator what to
/// change. The message names directives through the registry (see [`crate::config::registry::
/// name`]), so each server reads them in its own spelling: render with [`ConfigError::render`]
/// (`Display` renders nginx's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub subject: Subject,
    /// Server-neutral text with directive references (rendered by `render`).
    template: String,
}

impl ConfigError {
    /// A mistake about the whole configuration.
    pub fn new(template: impl Into<String>) -> Self {
        ConfigError {
            subject: Subject::Whole,
            template: template.into(),
        }
    }

    /// A mistake about `subject`.
    pub fn about(subject: Subject, template: impl Into<String>) -> Self {
        ConfigError {
            subject,
            template: template.into(),
        }
    }

    /// An http-level directive's mistake.
    pub fn global(key: &str, template: impl Into<String>) -> Self {
        Self::about(
            Subject::Global {
                key: key.to_owned(),
            },
            template,
        )
    }

    /// A provider block's mistake (`key` None: the block as a whole).
    pub fn provider(name: &str, key: Option<&str>, template: impl Into<String>) -> Self {
        Self::about(
            Subject::Provider {
                name: name.to_owned(),
                key: key.map(str::to_owned),
            },
            template,
        )
    }

    /// A location's mistake (`key` None: its `sesame` / `sesame_logout` directive).
    pub fn location(key: Option<&str>, template: impl Into<String>) -> Self {
        Self::about(
            Subject::Location {
                key: key.map(str::to_owned),
            },
            template,
        )
    }

    /// The message in `syntax`: directive names in that server's spelling, a provider's
    /// mistake prefixed with its block.
    pub fn render(&self, syntax: Syntax) -> String {
        let text = crate::config::registry::render(&self.template, syntax);
        match (&self.subject, syntax) {
            (Subject::Provider { name, .. }, Syntax::Nginx) => {
                format!("sesame_provider \"{name}\": {text}")
            }
            (Subject::Provider { name, .. }, Syntax::Apache) => {
                format!("<SesameProvider {name}>: {text}")
            }
            _ => text,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Syntax::Nginx))
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
