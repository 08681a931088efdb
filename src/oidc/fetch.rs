//! Mapping HTTP outcomes to `OidcError`s with operator-facing messages.

use super::util::sanitize;
use super::OidcError;
use crate::http::{HttpError, HttpResponse};

/// A failed exchange. URLs named here are endpoint URLs from configuration or discovery; they
/// never carry codes or tokens (those travel in bodies and headers).
pub(crate) fn fetch_error(what: &str, url: &str, e: HttpError) -> OidcError {
    match e {
        HttpError::TooLarge(_) => OidcError::Protocol(format!("{what} at {url}: {e}")),
        HttpError::Config(m) => OidcError::Protocol(format!("{what} at {url}: {m}")),
        HttpError::Timeout(_) | HttpError::Transport(_) => OidcError::Unavailable(format!(
            "{what} at {url}: {e} (check that the provider is up, that this server can reach it, and the `ca_file`/`http_timeout` settings)"
        )),
    }
}

/// Accepts a 200 answer with one of the `media_types`, returning its body.
pub(crate) fn expect_json<'a>(
    what: &str,
    url: &str,
    resp: &'a HttpResponse,
    media_types: &[&str],
) -> Result<&'a [u8], OidcError> {
    if resp.status != 200 {
        return Err(status_error(what, url, resp));
    }
    let mt = resp.media_type();
    if !mt.as_deref().is_some_and(|m| media_types.contains(&m)) {
        return Err(OidcError::Protocol(format!(
            "{what} at {url} has Content-Type {:?}, expected {}",
            sanitize(resp.content_type.as_deref().unwrap_or(""), 80),
            media_types.join(" or ")
        )));
    }
    Ok(&resp.body)
}

/// A non-success status: 5xx means the provider is down, anything else is unexpected.
pub(crate) fn status_error(what: &str, url: &str, resp: &HttpResponse) -> OidcError {
    let detail = oauth_error(resp)
        .map(|(e, d)| match d {
            Some(d) => format!(" ({e}: {d})"),
            None => format!(" ({e})"),
        })
        .unwrap_or_default();
    let msg = format!("{what} at {url} answered HTTP {}{detail}", resp.status);
    if resp.status >= 500 {
        OidcError::Unavailable(msg)
    } else {
        OidcError::Protocol(msg)
    }
}

/// `{error, error_description}` of an OAuth error body, sanitized and truncated.
pub(crate) fn oauth_error(resp: &HttpResponse) -> Option<(String, Option<String>)> {
    let v: serde_json::Value = serde_json::from_slice(&resp.body).ok()?;
    let error = v.get("error")?.as_str()?;
    let description = v
        .get("error_description")
        .and_then(|d| d.as_str())
        .map(|d| sanitize(d, 200));
    Some((sanitize(error, 64), description))
}
