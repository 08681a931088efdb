//! Userinfo request. How the answer is read is decided by configuration, never by the
//! Content-Type the server happens to send: with `userinfo jwt`, a plain JSON answer is a
//! downgrade and is refused.

use serde_json::{Map, Value};

use super::fetch::{expect_json, fetch_error};
use super::{OidcError, UserinfoMode};
use crate::http::HttpClient;

pub(crate) enum Answer {
    /// Compact JWS, to be verified like the id_token.
    Jwt(String),
    Json(Map<String, Value>),
}

pub(crate) fn fetch(
    http: &HttpClient,
    url: &str,
    access_token: &str,
    mode: UserinfoMode,
) -> Result<Answer, OidcError> {
    let what = "userinfo endpoint";
    let accept = match mode {
        UserinfoMode::SignedJwt => "application/jwt",
        _ => "application/json",
    };
    let auth = format!("Bearer {access_token}");
    let resp = http
        .get(
            crate::http::Exchange::Userinfo,
            url,
            &[("Authorization", &auth), ("Accept", accept)],
        )
        .map_err(|e| fetch_error(what, url, e))?;
    let body = expect_json(what, url, &resp, &[accept]).map_err(|e| match e {
        OidcError::Protocol(m) if resp.status == 200 && mode == UserinfoMode::SignedJwt => {
            OidcError::InvalidToken(format!(
                "{m}: a signed userinfo (userinfo jwt) is configured, an unsigned answer is refused"
            ))
        }
        other => other,
    })?;
    match mode {
        UserinfoMode::SignedJwt => {
            let text = std::str::from_utf8(body)
                .map_err(|_| OidcError::InvalidToken("userinfo JWT is not UTF-8".into()))?;
            Ok(Answer::Jwt(text.trim().to_owned()))
        }
        _ => serde_json::from_slice(body)
            .map(Answer::Json)
            .map_err(|e| OidcError::Protocol(format!("{what} at {url}: not a JSON object: {e}"))),
    }
}
