//! `sesame doctor`: checks a deployment from the outside, with its own configuration — what
//! `nginx -t` / `apache2 -t` cannot see because it opens nothing: each provider's discovery
//! reachable with the configured CA, the provider's clock against ours, Redis reachable with
//! the configured user and allowed every command Sesame sends, the secret file's mode and owner,
//! the redirect_uri's scheme and host. One finding per check, each with what to do when it
//! fails. Blocking I/O: for the operator's command line, never for the request path.

mod http_date;
mod providers;
mod redis;
mod secret;

use crate::config::ConfigBuilder;
use crate::directives::ConfigError;

pub use http_date::parse_http_date;

/// How a check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Works today, but an operator should look (a clock drifting, an owner to change).
    Warn,
    /// Logins or sessions fail, or a secret is exposed.
    Fail,
}

/// One line of the report: what was checked, how it went, and the message (directive names
/// are markers: render them with `registry::render` in the server's spelling).
#[derive(Debug, Clone)]
pub struct Finding {
    pub verdict: Verdict,
    /// `secret`, `redis`, `provider fc: discovery`...
    pub check: String,
    pub message: String,
}

impl Finding {
    fn new(verdict: Verdict, check: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding {
            verdict,
            check: check.into(),
            message: message.into(),
        }
    }
}

/// What the configuration alone does not say.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    /// The host names the server answers for (nginx `server_name`, Apache `ServerName` /
    /// `ServerAlias`); empty when unknown (then the redirect_uri's host is not compared).
    pub served_hosts: Vec<String>,
}

/// Clock skew under which nothing is said: the `Date` header has a one-second resolution and
/// the exchange itself takes time.
pub const SKEW_WARN_SECS: i64 = 5;

/// Validates `builder` as the server would (an error there is the only finding), then runs every
/// check. Each check is bounded by the configured timeouts (`http_timeout`,
/// `sesame_redis_timeout`).
pub fn examine(
    builder: ConfigBuilder,
    deployment: &Deployment,
) -> Result<Vec<Finding>, ConfigError> {
    let secret_file = builder.secret_file().map(str::to_owned);
    let (config, store) = builder.validate_with_store()?;
    let mut findings = Vec::new();
    if let Some(path) = &secret_file {
        findings.push(secret::check(path));
    }
    if !config.providers.is_empty() {
        findings.extend(redis::check(&store, &config.keys));
    }
    for (provider, _) in &config.providers {
        findings.extend(providers::check(&provider.settings, deployment));
    }
    Ok(findings)
}

#[cfg(test)]
mod tests;
