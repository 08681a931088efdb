//! Outgoing HTTPS for the OIDC layer: one configured `ureq` agent per provider.
//!
//! The agent is built at configuration time (the CA file is read then, so a bad path fails
//! `nginx -t`), but no socket is opened and no thread started until the first request, which
//! only ever happens inside a `Job`, after the server has forked.
//!
//! Redirects are never followed (an OP endpoint that redirects is misconfigured, and following
//! could carry the client secret elsewhere); HTTP error statuses are returned, not raised, so
//! callers can read OAuth error bodies. Every exchange is bounded by one global timeout and
//! every body by [`MAX_BODY`].

mod resolver;

use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{PemItem, RootCerts, TlsConfig, TlsProvider};
use ureq::unversioned::transport::DefaultConnector;
use ureq::Agent;

/// Largest response body accepted (discovery, JWKS, tokens and userinfo are a few KiB).
pub const MAX_BODY: u64 = 1024 * 1024;

/// `User-Agent` sent to providers (their logs then say which software called).
pub const USER_AGENT: &str = concat!("sesame/", env!("CARGO_PKG_VERSION"));

/// What can go wrong building the client or during one exchange. Messages never contain
/// request bodies or headers (which carry codes, secrets and tokens).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Configuration problem (CA file unreadable or without certificates).
    #[error("{0}")]
    Config(String),
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Connection, DNS, TLS or HTTP framing failure.
    #[error("{0}")]
    Transport(String),
    /// The body exceeded the limit of the exchange ([`MAX_BODY`] for providers).
    #[error("response body larger than {0} bytes")]
    TooLarge(u64),
}

/// What one exchange with a provider is for (the metrics' `exchange` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exchange {
    Discovery,
    Jwks,
    Token,
    Userinfo,
    Revocation,
    Data,
}

/// Told the time of every exchange (`metrics::ProviderMeter`), set once after the core is
/// built.
pub trait ExchangeObserver: Send + Sync {
    /// `failed`: no HTTP answer (timeout, connection, TLS, too large).
    fn observe(&self, exchange: Exchange, elapsed: Duration, failed: bool);
}

/// The observer of a client and of its clones (they share one).
type Observer = Arc<std::sync::OnceLock<Box<dyn ExchangeObserver>>>;

/// One HTTP answer, whatever its status.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// The `Content-Type` header as sent, if any.
    pub content_type: Option<String>,
    /// The `Date` header as sent, if any (the provider's clock, for `sesame doctor`).
    pub date: Option<String>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The media type, lower-cased, without parameters (`application/json; charset=utf-8`
    /// → `application/json`).
    pub fn media_type(&self) -> Option<String> {
        self.content_type.as_deref().map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }
}

/// Idle provider connections kept per agent: nginx's default thread pool size.
const IDLE_CONNECTIONS: usize = 32;

/// An HTTP client bound to one provider's TLS trust and timeout.
#[derive(Clone)]
pub struct HttpClient {
    agent: Agent,
    timeout: Duration,
    observer: Observer,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds the agent. `ca_file`: a PEM bundle whose certificates become the trust anchors
    /// for this provider (instead of the built-in webpki roots); read now.
    pub fn new(timeout: Duration, ca_file: Option<&str>) -> Result<Self, HttpError> {
        let roots = match ca_file {
            None => RootCerts::WebPki,
            Some(path) => RootCerts::new_with_certs(&read_ca_file(path)?),
        };
        // ring explicitly: never depend on a process-wide rustls default someone else set.
        // rustls only speaks TLS 1.2 and 1.3, which is what FranceConnect requires.
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(roots)
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .build();
        let config = Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(timeout))
            // One agent per provider, used by every thread of the pool at once: keep a
            // connection per thread (ureq keeps 3 by default), so that concurrent logins reuse
            // TLS connections instead of a new handshake per login (measured with `make bench`).
            .max_idle_connections(IDLE_CONNECTIONS)
            .max_idle_connections_per_host(IDLE_CONNECTIONS)
            .user_agent(USER_AGENT)
            .build();
        Ok(HttpClient {
            agent: Agent::with_parts(
                config,
                DefaultConnector::default(),
                resolver::CachingResolver::default(),
            ),
            timeout,
            observer: Observer::default(),
        })
    }

    /// From now on, `observer` is told the time of every exchange of this client and its
    /// clones (a second call is ignored: one core, one table).
    pub fn observe_with(&self, observer: Box<dyn ExchangeObserver>) {
        let _ = self.observer.set(observer);
    }

    /// Runs one exchange, timed for the observer.
    fn timed(
        &self,
        exchange: Exchange,
        run: impl FnOnce() -> Result<HttpResponse, HttpError>,
    ) -> Result<HttpResponse, HttpError> {
        let Some(observer) = self.observer.get() else {
            return run();
        };
        let started = std::time::Instant::now();
        let result = run();
        observer.observe(exchange, started.elapsed(), result.is_err());
        result
    }

    /// GET with extra headers (e.g. `Authorization: Bearer`).
    pub fn get(
        &self,
        exchange: Exchange,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<HttpResponse, HttpError> {
        self.timed(exchange, || {
            let mut req = self.agent.get(url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            self.finish(req.call())
        })
    }

    /// GET bounded by its own `timeout` and body `limit` (a data API's answer: each call has
    /// the deadline its directive gives, not the provider's).
    pub fn get_bounded(
        &self,
        exchange: Exchange,
        url: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
        limit: u64,
    ) -> Result<HttpResponse, HttpError> {
        let mut req = self
            .agent
            .get(url)
            .config()
            .timeout_global(Some(timeout))
            .build();
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let bounded = HttpClient {
            agent: self.agent.clone(),
            timeout,
            observer: Arc::clone(&self.observer),
        };
        self.timed(exchange, || bounded.finish_with_limit(req.call(), limit))
    }

    /// POST `application/x-www-form-urlencoded` with extra headers.
    pub fn post_form(
        &self,
        exchange: Exchange,
        url: &str,
        headers: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> Result<HttpResponse, HttpError> {
        self.timed(exchange, || {
            let mut req = self.agent.post(url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            self.finish(req.send_form(form.iter().copied()))
        })
    }

    fn finish(
        &self,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<HttpResponse, HttpError> {
        self.finish_with_limit(result, MAX_BODY)
    }

    fn finish_with_limit(
        &self,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        limit: u64,
    ) -> Result<HttpResponse, HttpError> {
        let mut resp = result.map_err(|e| self.map_error(e))?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let date = resp
            .headers()
            .get("date")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| match self.map_error(e) {
                HttpError::TooLarge(_) => HttpError::TooLarge(limit),
                other => other,
            })?;
        Ok(HttpResponse {
            status,
            content_type,
            date,
            body,
        })
    }

    fn map_error(&self, e: ureq::Error) -> HttpError {
        match e {
            ureq::Error::Timeout(_) => HttpError::Timeout(self.timeout),
            ureq::Error::BodyExceedsLimit(limit) => HttpError::TooLarge(limit),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                HttpError::Timeout(self.timeout)
            }
            ureq::Error::HostNotFound => HttpError::Transport("host name not found".into()),
            ureq::Error::ConnectionFailed => HttpError::Transport("connection failed".into()),
            other => HttpError::Transport(other.to_string()),
        }
    }
}

fn read_ca_file(path: &str) -> Result<Vec<ureq::tls::Certificate<'static>>, HttpError> {
    let pem = std::fs::read(path)
        .map_err(|e| HttpError::Config(format!("cannot read CA file {path}: {e}")))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => {
                return Err(HttpError::Config(format!(
                    "CA file {path} is not valid PEM: {e}"
                )))
            }
        }
    }
    if certs.is_empty() {
        return Err(HttpError::Config(format!(
            "CA file {path} contains no PEM certificate (expected -----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(certs)
}

/// An RFC 9110 qvalue in thousandths; malformed values count as 0 (not
/// acceptable). Shared by the `Accept` and `Accept-Language` readers.
pub(crate) fn quality(v: &str) -> u16 {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let frac_value = format!("{frac:0<3}").parse::<u16>().unwrap_or(0);
    match int {
        "0" => frac_value,
        "1" if frac_value == 0 => 1000,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ca_file_is_a_config_error() {
        let err = HttpClient::new(Duration::from_secs(1), Some("/nonexistent/ca.pem")).unwrap_err();
        assert!(matches!(err, HttpError::Config(m) if m.contains("/nonexistent/ca.pem")));
    }

    #[test]
    fn ca_file_without_certificates_is_a_config_error() {
        let dir = std::env::temp_dir().join(format!("sesame-http-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err =
            HttpClient::new(Duration::from_secs(1), Some(path.to_str().unwrap())).unwrap_err();
        assert!(matches!(err, HttpError::Config(m) if m.contains("no PEM certificate")));
    }

    #[test]
    fn media_type_ignores_parameters_and_case() {
        let r = HttpResponse {
            status: 200,
            content_type: Some("Application/JSON; charset=utf-8".into()),
            date: None,
            body: vec![],
        };
        assert_eq!(r.media_type().as_deref(), Some("application/json"));
    }
}
