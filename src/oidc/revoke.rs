//! RFC 7009 token revocation: tell the provider that a token this site kept is no longer
//! needed (at logout). Client authentication as the token request does (RFC 7009 §2.1).

use super::fetch::{fetch_error, status_error};
use super::token::client_auth;
use super::{OidcError, OidcSettings};
use crate::http::HttpClient;

/// What a revoked token is, for `token_type_hint` (RFC 7009 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn hint(self) -> &'static str {
        match self {
            TokenKind::Access => "access_token",
            TokenKind::Refresh => "refresh_token",
        }
    }
}

/// Blocking, bounded by the provider's `http_timeout`: revokes `token` at `url`
/// (`token_endpoint`: the audience of a `private_key_jwt` assertion). RFC 7009
/// §2.2: 200 whether or not the token was still valid. Errors name the endpoint and the
/// provider's answer, never the token.
pub(crate) fn revoke(
    http: &HttpClient,
    settings: &OidcSettings,
    url: &str,
    token_endpoint: &str,
    token: &str,
    kind: TokenKind,
) -> Result<(), OidcError> {
    let what = "revocation endpoint";
    let auth = client_auth(settings, token_endpoint)?;
    let mut form: Vec<(&str, &str)> = vec![("token", token), ("token_type_hint", kind.hint())];
    form.extend(auth.form.iter().map(|(k, v)| (*k, v.as_str())));
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let Some(a) = &auth.authorization {
        headers.push(("Authorization", a));
    }
    let resp = http
        .post_form(crate::http::Exchange::Revocation, url, &headers, &form)
        .map_err(|e| fetch_error(what, url, e))?;
    if resp.status == 200 {
        return Ok(());
    }
    Err(status_error(what, url, &resp))
}
