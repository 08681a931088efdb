//! Directive model, validation and federation presets.
//!
//! Adapters hand raw directive values to [`ConfigBuilder`]; syntax mistakes are reported at once
//! (so `nginx -t` points at the right line), cross-checks and file reads happen in `build`.
//! `build` opens no socket and starts no thread: the server forks its workers afterwards.

mod presets;
mod provider;

use std::time::Duration;

#[cfg(test)]
pub use presets::FC_DEFAULT_SCOPE;
pub use provider::ProviderConfig;

use crate::directives::parse_duration;
use crate::directives::registry::{self, http_name as named, written, GlobalKey, Parser, Scope};
use crate::directives::ConfigError;
use crate::oidc::OidcClient;
use crate::session::{Keys, RedisStore, RedisTarget, RedisTls, SessionSettings};
use provider::ProviderDraft;

/// Collects raw directive values from an adapter, then validates them all in `build`.
/// Keys are the nginx directive names without the `sesame_` prefix (`redis`, `secret_file`,
/// provider keys `preset`, `client_id`...). Values are the directive's arguments joined by " ".
#[derive(Debug, Default)]
pub struct ConfigBuilder {
    redis: Option<String>,
    secret_file: Option<String>,
    redis_timeout: Option<Duration>,
    session_cache: Option<Duration>,
    session_idle_timeout: Option<Duration>,
    session_lifetime: Option<Duration>,
    redis_ca_file: Option<String>,
    redis_cert_file: Option<String>,
    redis_key_file: Option<String>,
    provider_concurrency: Option<usize>,
    support_contact: Option<String>,
    /// `sesame_audit_log PATH`.
    audit_log: Option<String>,
    /// How the server writes the audit log itself (nginx: its open file, reopened on USR1);
    /// without one, the core opens the file at `build`.
    audit_writer: Option<ServerAuditWriter>,
    /// The server reading the core's log lines (directive names in its spelling).
    syntax: crate::directives::Syntax,
    /// In declaration order, so errors and endpoint matching are predictable.
    providers: Vec<(String, ProviderDraft)>,
}

/// What `config` hands over once everything is validated (the providers with their clients,
/// the session settings, the derived keys): the engine builds itself from it (`Sesame::new`,
/// called by `ConfigBuilder::build` in `engine`), and this room knows nothing of the engine.
pub(crate) struct EngineConfig {
    pub providers: Vec<(ProviderConfig, OidcClient)>,
    pub session: SessionSettings,
    pub keys: Keys,
    /// `sesame_provider_concurrency`: provider exchanges in flight per process.
    pub provider_concurrency: usize,
    /// The server whose spelling the log lines use for directive names.
    pub syntax: crate::directives::Syntax,
    /// `sesame_support_contact`: shown on every error page.
    pub support_contact: Option<String>,
    /// `sesame_audit_log`: its path, and the server's writer when it writes the file itself.
    pub audit_log: Option<(String, Option<Box<crate::log::audit::AuditWriter>>)>,
    /// The audit log once opened (`ConfigBuilder::build`); None until then, or without one.
    pub audit: Option<std::sync::Arc<crate::log::audit::AuditLog>>,
}

/// The server's audit writer, held by the builder.
pub(crate) struct ServerAuditWriter(Box<crate::log::audit::AuditWriter>);

impl std::fmt::Debug for ServerAuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerAuditWriter")
    }
}

/// Default of `sesame_provider_concurrency`: provider exchanges in flight per process. Below
/// the 32 threads of nginx's undeclared `default` pool with room for session reads, and far
/// above what a healthy provider needs (a login's exchanges take ~100 ms: 8 slots carry ~80
/// logins per second per process).
pub const DEFAULT_PROVIDER_CONCURRENCY: usize = 8;

/// Longest `sesame_support_contact`: a line on a page, not a paragraph.
const MAX_SUPPORT_CONTACT: usize = 200;

/// Upper bound of `sesame_provider_concurrency`.
const MAX_PROVIDER_CONCURRENCY: usize = 4096;

/// The secret must carry at least 256 bits; HKDF cannot add entropy that is not there.
const MIN_SECRET_LEN: usize = 32;

/// Reads a small text file, with an operator-friendly error ("No such file or directory").
pub(crate) fn read_text_file(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| io_message(&e))
}

fn read_bytes_file(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| io_message(&e))
}

/// `std::io::Error` text without the trailing " (os error 2)".
fn io_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// A Redis URL for messages: the password never reaches a log or `nginx -t` output, even
/// when the URL does not parse.
fn redacted_url(raw: &str) -> String {
    crate::session::redacted_url(raw)
}

fn global_duration(key: &str, value: &str) -> Result<Duration, ConfigError> {
    parse_duration(value).ok_or_else(|| {
        ConfigError::global(
            key,
            format!(
                "{} \"{value}\" is not a duration (write e.g. 500ms, 5s, 10m or 12h)",
                named(key)
            ),
        )
    })
}

/// `session_idle_timeout`, `session_lifetime`: a duration of at least a second.
fn session_duration(key: &str, value: &str) -> Result<Duration, ConfigError> {
    let d = global_duration(key, value)?;
    if d < Duration::from_secs(1) {
        return Err(ConfigError::global(
            key,
            format!("{} must be at least 1s (write e.g. 30m or 12h)", named(key)),
        ));
    }
    Ok(d)
}

fn set_once<T>(slot: &mut Option<T>, key: &str, value: T) -> Result<(), ConfigError> {
    if slot.is_some() {
        return Err(ConfigError::global(
            key,
            format!("{} is duplicate (write it once)", named(key)),
        ));
    }
    *slot = Some(value);
    Ok(())
}

impl ConfigBuilder {
    pub fn new() -> Self {
        ConfigBuilder::default()
    }

    /// The server this core runs in (nginx unless told): the run-time log lines name
    /// directives and variables as its configuration writes them (`sesame_redis` /
    /// `SesameRedis`), as configuration errors do through `ConfigError::render`.
    pub fn set_syntax(&mut self, syntax: crate::directives::Syntax) {
        self.syntax = syntax;
    }

    /// The server writes `sesame_audit_log` itself, through `writer` (nginx: `write(2)` to
    /// the descriptor of the file it opened with its own logs and reopens on USR1); called on
    /// the thread that handles requests only (the core hands audit lines to the adapter with
    /// the request's log lines). Without it, `build` opens the file (Apache's parent).
    pub fn set_audit_writer(&mut self, writer: Box<crate::log::audit::AuditWriter>) {
        self.audit_writer = Some(ServerAuditWriter(writer));
    }

    /// The `sesame_audit_log` path written, if any (the adapter opens it when it writes it).
    pub fn audit_log_path(&self) -> Option<&str> {
        self.audit_log.as_deref()
    }

    pub fn set_global(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let value = value.trim();
        let Some(Parser::Global(global)) = registry::lookup(Scope::Http, key).map(|d| d.parser)
        else {
            return Err(ConfigError::global(
                key,
                format!(
                    "unknown directive \"{}\" (expected one of: {})",
                    named(key),
                    registry::global_keys()
                        .map(|d| named(d.key))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        if value.is_empty() {
            return Err(ConfigError::global(
                key,
                format!("{} needs a value", named(key)),
            ));
        }
        self.parse_global(global, key, value)
    }

    /// One http-level directive's value (not empty), by its registry entry.
    fn parse_global(
        &mut self,
        global: GlobalKey,
        key: &str,
        value: &str,
    ) -> Result<(), ConfigError> {
        match global {
            GlobalKey::Redis => {
                let schemes = [
                    "redis://",
                    "rediss://",
                    "redis+unix://",
                    "unix://",
                    "redis+sentinel://",
                    "rediss+sentinel://",
                    "redis+cluster://",
                    "rediss+cluster://",
                ];
                if !schemes.iter().any(|s| value.starts_with(s)) {
                    return Err(ConfigError::global(
                        key,
                        format!(
                            "{} \"{}\" must be a redis://, rediss:// or unix:// URL, or redis+sentinel:// / redis+cluster:// (write e.g. redis://127.0.0.1:6379/0)",
                            named(key),
                            redacted_url(value)
                        ),
                    ));
                }
                // Parsing only: no connection is made before the server forks.
                RedisTarget::parse(value).map_err(|e| {
                    ConfigError::global(
                        key,
                        format!(
                            "{} \"{}\" is not a valid Redis URL: {e}",
                            named(key),
                            redacted_url(value)
                        ),
                    )
                })?;
                set_once(&mut self.redis, key, value.to_owned())
            }
            GlobalKey::RedisCaFile => set_once(&mut self.redis_ca_file, key, value.to_owned()),
            GlobalKey::RedisCertFile => set_once(&mut self.redis_cert_file, key, value.to_owned()),
            GlobalKey::RedisKeyFile => set_once(&mut self.redis_key_file, key, value.to_owned()),
            GlobalKey::SecretFile => set_once(&mut self.secret_file, key, value.to_owned()),
            GlobalKey::RedisTimeout => {
                let d = global_duration(key, value)?;
                if d.is_zero() {
                    return Err(ConfigError::global(
                        key,
                        format!("{} must be greater than 0 (write e.g. 1s)", named(key)),
                    ));
                }
                set_once(&mut self.redis_timeout, key, d)
            }
            GlobalKey::ProviderConcurrency => {
                let n = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PROVIDER_CONCURRENCY).contains(n))
                    .ok_or_else(|| {
                        ConfigError::global(key, format!(
                            "{} \"{value}\" must be a number of concurrent provider exchanges from 1 to {MAX_PROVIDER_CONCURRENCY} (write e.g. 8; on nginx keep it below the threads of the pool that runs them)",
                            named(key)
                        ))
                    })?;
                set_once(&mut self.provider_concurrency, key, n)
            }
            GlobalKey::SupportContact => {
                if value.chars().count() > MAX_SUPPORT_CONTACT
                    || value.chars().any(char::is_control)
                {
                    return Err(ConfigError::global(
                        key,
                        format!(
                            "{} must be one line of at most {MAX_SUPPORT_CONTACT} characters (write e.g. \"support@example.org, 01 23 45 67 89\")",
                            named(key)
                        ),
                    ));
                }
                set_once(&mut self.support_contact, key, value.to_owned())
            }
            GlobalKey::AuditLog => {
                if value.is_empty() || value.chars().any(char::is_control) {
                    return Err(ConfigError::global(
                        key,
                        format!(
                            "{} needs the path of a file (write e.g. {})",
                            named(key),
                            written(Scope::Http, key, "/var/log/sesame/audit.log")
                        ),
                    ));
                }
                set_once(&mut self.audit_log, key, value.to_owned())
            }
            GlobalKey::SessionCache => {
                let d = global_duration(key, value)?;
                set_once(&mut self.session_cache, key, d)
            }
            GlobalKey::SessionIdleTimeout => {
                let d = session_duration(key, value)?;
                set_once(&mut self.session_idle_timeout, key, d)
            }
            GlobalKey::SessionLifetime => {
                let d = session_duration(key, value)?;
                set_once(&mut self.session_lifetime, key, d)
            }
        }
    }

    pub fn add_provider(&mut self, name: &str) -> Result<(), ConfigError> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(ConfigError::provider(
                name,
                None,
                "the name must be 1-64 letters, digits, - or _ (e.g. fc)",
            ));
        }
        if self.providers.iter().any(|(n, _)| n == name) {
            return Err(ConfigError::provider(
                name,
                None,
                "is duplicate (each provider block needs its own name)",
            ));
        }
        self.providers
            .push((name.to_owned(), ProviderDraft::default()));
        Ok(())
    }

    pub fn set_provider(&mut self, name: &str, key: &str, value: &str) -> Result<(), ConfigError> {
        let draft = self
            .providers
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d)
            .ok_or_else(|| {
                ConfigError::provider(
                    name,
                    None,
                    "is not declared (add a provider block of that name first)",
                )
            })?;
        draft
            .set(key, value)
            .map_err(|m| ConfigError::provider(name, Some(key), m))
    }

    /// `sesame_secret_file` as written (for `sesame doctor`'s check of its mode and owner).
    pub(crate) fn secret_file(&self) -> Option<&str> {
        self.secret_file.as_deref()
    }

    /// For the operator CLI: the same validation as `build`, and what it needs to read and
    /// delete sessions — the store (nothing opened yet), the derived keys, the settings.
    pub fn build_admin(self) -> Result<(RedisStore, Keys, SessionSettings), ConfigError> {
        let (config, store) = self.validate_with_store()?;
        Ok((store, config.keys, config.session))
    }

    /// Everything `build` checks, and the store it opens nothing of yet (the engine builds
    /// the core from both: `ConfigBuilder::build` in `engine`).
    pub(crate) fn validate_with_store(mut self) -> Result<(EngineConfig, RedisStore), ConfigError> {
        let tls = self.redis_tls()?;
        let (config, redis_url) = self.validate()?;
        let store = match redis_url {
            Some(url) => RedisStore::with_tls(&url, config.session.redis_timeout, tls)
                .map_err(|e| ConfigError::global("redis", format!("{}: {e}", named("redis"))))?,
            None => RedisStore::unconfigured(),
        };
        Ok((config, store))
    }

    /// Reads the TLS files named by sesame_redis_ca_file / _cert_file / _key_file.
    fn redis_tls(&mut self) -> Result<RedisTls, ConfigError> {
        let read = |key: &str, path: &str| -> Result<Vec<u8>, ConfigError> {
            let bytes = read_bytes_file(path).map_err(|e| {
                ConfigError::global(key, format!("cannot read {} \"{path}\": {e}", named(key)))
            })?;
            if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
                return Err(ConfigError::global(
                    key,
                    format!(
                        "{} \"{path}\" is not a PEM file (expected -----BEGIN ...)",
                        named(key)
                    ),
                ));
            }
            Ok(bytes)
        };
        let ca = match self.redis_ca_file.take() {
            Some(path) => Some(read("redis_ca_file", &path)?),
            None => None,
        };
        let client = match (self.redis_cert_file.take(), self.redis_key_file.take()) {
            (Some(cert), Some(key)) => Some((
                read("redis_cert_file", &cert)?,
                read("redis_key_file", &key)?,
            )),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::global(
                    "redis_cert_file",
                    format!(
                        "{} needs {} (the client certificate's private key)",
                        named("redis_cert_file"),
                        named("redis_key_file")
                    ),
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::global(
                    "redis_key_file",
                    format!(
                        "{} needs {} (the client certificate)",
                        named("redis_key_file"),
                        named("redis_cert_file")
                    ),
                ))
            }
        };
        Ok(RedisTls { ca, client })
    }

    /// Everything `build` checks, without choosing the store (tests use an in-memory one).
    pub(crate) fn validate(self) -> Result<(EngineConfig, Option<String>), ConfigError> {
        // Unwritten: the shortest SSO session of the federations configured (FranceConnect+:
        // 10 min), else 30 min like FranceConnect's.
        let idle_timeout = self.session_idle_timeout.unwrap_or_else(|| {
            self.providers
                .iter()
                .filter_map(|(_, d)| d.preset()?.defaults().session_idle_timeout)
                .min()
                .unwrap_or(Duration::from_secs(30 * 60))
        });
        let session = SessionSettings {
            redis_timeout: self.redis_timeout.unwrap_or(Duration::from_secs(1)),
            cache_ttl: session_cache_ttl(self.session_cache, idle_timeout)?,
            idle_timeout,
            lifetime: self
                .session_lifetime
                .unwrap_or(Duration::from_secs(12 * 3600)),
        };
        if session.idle_timeout > session.lifetime {
            return Err(ConfigError::global(
                "session_idle_timeout",
                format!(
                    "{} is longer than {} (the absolute lifetime always wins; shorten the idle timeout)",
                    named("session_idle_timeout"),
                    named("session_lifetime")
                ),
            ));
        }

        let secret = match (&self.secret_file, self.providers.is_empty()) {
            (Some(path), _) => {
                let raw = read_bytes_file(path).map_err(|e| {
                    ConfigError::global(
                        "secret_file",
                        format!("cannot read {} \"{path}\": {e}", named("secret_file")),
                    )
                })?;
                let trimmed = raw.trim_ascii_end();
                if trimmed.len() < MIN_SECRET_LEN {
                    return Err(ConfigError::global(
                        "secret_file",
                        format!(
                            "{} \"{path}\" holds {} bytes; it needs at least {MIN_SECRET_LEN} random bytes (create it with: openssl rand -hex 32 > {path})",
                            named("secret_file"),
                            trimmed.len()
                        ),
                    ));
                }
                trimmed.to_vec()
            }
            (None, true) => Vec::new(),
            (None, false) => {
                return Err(ConfigError::global(
                    "secret_file",
                    format!(
                        "{} is missing (write e.g. {} created with: openssl rand -hex 32)",
                        named("secret_file"),
                        written(Scope::Http, "secret_file", "/etc/sesame/sesame.secret")
                    ),
                ))
            }
        };
        if self.redis.is_none() && !self.providers.is_empty() {
            return Err(ConfigError::global(
                "redis",
                format!(
                    "{} is missing (write e.g. {})",
                    named("redis"),
                    written(Scope::Http, "redis", "redis://127.0.0.1:6379/0")
                ),
            ));
        }

        let mut providers: Vec<(ProviderConfig, OidcClient)> = Vec::new();
        for (name, draft) in self.providers {
            let cfg = draft
                .finish(&name)
                .map_err(|f| ConfigError::provider(&name, Some(f.key), f.message))?;
            check_endpoint_clash(&providers, &cfg)?;
            let client = OidcClient::new(cfg.settings.clone())
                .map_err(|e| ConfigError::provider(&name, None, e.to_string()))?;
            providers.push((cfg, client));
        }
        let config = EngineConfig {
            providers,
            session,
            keys: Keys::derive(&secret),
            provider_concurrency: self
                .provider_concurrency
                .unwrap_or(DEFAULT_PROVIDER_CONCURRENCY),
            syntax: self.syntax,
            support_contact: self.support_contact,
            audit_log: self
                .audit_log
                .map(|path| (path, self.audit_writer.map(|w| w.0))),
            audit: None,
        };
        Ok((config, self.redis))
    }
}

/// Default per-process cache lifetime of a validated session.
const DEFAULT_SESSION_CACHE: Duration = Duration::from_secs(5);

/// The per-process cache lifetime, bounded by the idle timeout: the cache lifetime is also how
/// late a logout or `sesame sessions kill` reaches the other workers' caches, so it must stay
/// small against the idle timeout (under half of it). Without `sesame_session_cache`, the
/// default (5s) is lowered to a quarter of a short idle timeout instead of being refused.
fn session_cache_ttl(
    configured: Option<Duration>,
    idle_timeout: Duration,
) -> Result<Duration, ConfigError> {
    let Some(ttl) = configured else {
        return Ok(DEFAULT_SESSION_CACHE.min(idle_timeout / 4));
    };
    if !ttl.is_zero() && ttl.saturating_mul(2) >= idle_timeout {
        return Err(ConfigError::global(
            "session_cache",
            format!(
                "{} {} must be shorter than half of {} ({}): a logout or a \"sesame sessions kill\" reaches the other workers only after the cache lifetime (write e.g. {} or 0 to read Redis on every request)",
                named("session_cache"),
                show_duration(ttl),
                named("session_idle_timeout"),
                show_duration(idle_timeout),
                written(Scope::Http, "session_cache", "5s")
            ),
        ));
    }
    Ok(ttl)
}

/// `500ms`, `5s`, `15m`, `12h`: a duration as an operator writes it.
fn show_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_millis() != 0 {
        format!("{}ms", d.as_millis())
    } else if secs != 0 && secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else if secs != 0 && secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// Two providers answering on the same path would steal each other's callbacks.
fn check_endpoint_clash(
    existing: &[(ProviderConfig, OidcClient)],
    new: &ProviderConfig,
) -> Result<(), ConfigError> {
    let paths = |cfg: &ProviderConfig| -> Vec<String> {
        [
            Some(cfg.settings.redirect_uri.as_str()),
            cfg.settings.post_logout_redirect_uri.as_deref(),
            cfg.settings.jwks_uri.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| u.path().to_owned())
        .collect()
    };
    let new_paths = paths(new);
    for (other, _) in existing {
        if let Some(clash) = paths(other).iter().find(|p| new_paths.contains(p)) {
            return Err(ConfigError::provider(
                &new.settings.name,
                Some("redirect_uri"),
                format!(
                    "path {clash} is already used by {} (give each provider its own {} and {})",
                    written(Scope::Http, "provider", &other.settings.name),
                    registry::provider_name("redirect_uri"),
                    registry::provider_name("post_logout_redirect_uri")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod redis_tests;
#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;
