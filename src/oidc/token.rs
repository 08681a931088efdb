//! Token request (authorization_code grant) and client authentication.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;

use super::fetch::{expect_json, fetch_error, oauth_error, status_error};
use super::{AuthParams, OidcError, OidcSettings, ProviderMetadata, TokenAuth};
use crate::http::HttpClient;

pub(crate) struct Tokens {
    pub id_token: String,
    pub access_token: Option<String>,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
}

/// RFC 6749 §2.3.1: Basic credentials are the form-urlencoded id and secret.
pub(crate) fn basic_authorization(client_id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(client_id), enc(secret)))
    )
}

/// Blocking: redeem `code`. Exactly one client authentication method is used (sending the
/// secret both ways is an error at node-oidc-provider).
pub(crate) fn exchange(
    http: &HttpClient,
    settings: &OidcSettings,
    meta: &ProviderMetadata,
    code: &str,
    params: &AuthParams,
) -> Result<Tokens, OidcError> {
    let what = "token endpoint";
    let url = meta.token_endpoint.as_str();
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &settings.redirect_uri),
    ];
    let basic;
    let assertion;
    let mut headers: Vec<(&str, &str)> = vec![("Accept", "application/json")];
    match settings.token_auth {
        TokenAuth::ClientSecretPost => {
            form.push(("client_id", &settings.client_id));
            form.push(("client_secret", &settings.client_secret));
        }
        TokenAuth::ClientSecretBasic => {
            basic = basic_authorization(&settings.client_id, &settings.client_secret);
            headers.push(("Authorization", &basic));
        }
        TokenAuth::PrivateKeyJwt => {
            assertion = super::client_assertion::make(settings, url, super::util::now_secs())?;
            form.push(("client_id", &settings.client_id));
            form.push((
                "client_assertion_type",
                super::client_assertion::ASSERTION_TYPE,
            ));
            form.push(("client_assertion", &assertion));
        }
    }
    if settings.pkce {
        let verifier = params.code_verifier.as_deref().ok_or_else(|| {
            OidcError::Protocol("PKCE is on but the login has no code_verifier".into())
        })?;
        form.push(("code_verifier", verifier));
    }

    let resp = http
        .post_form(url, &headers, &form)
        .map_err(|e| fetch_error(what, url, e))?;
    if resp.status == 400 || resp.status == 401 {
        return Err(refused(&resp, settings.token_auth));
    }
    let body = expect_json(what, url, &resp, &["application/json"]).map_err(|e| {
        if resp.status == 200 {
            e
        } else {
            status_error(what, url, &resp)
        }
    })?;
    let parsed: Response = serde_json::from_slice(body)
        .map_err(|e| OidcError::Protocol(format!("{what} at {url}: invalid JSON answer: {e}")))?;
    if let Some(tt) = &parsed.token_type {
        if !tt.eq_ignore_ascii_case("bearer") {
            return Err(OidcError::Protocol(format!(
                "{what} at {url}: token_type {:?} is not Bearer",
                super::util::sanitize(tt, 32)
            )));
        }
    }
    let id_token = parsed.id_token.filter(|t| !t.is_empty()).ok_or_else(|| {
        OidcError::Protocol(format!(
            "{what} at {url}: answer has no id_token (is `openid` in scope?)"
        ))
    })?;
    Ok(Tokens {
        id_token,
        access_token: parsed.access_token.filter(|t| !t.is_empty()),
    })
}

fn refused(resp: &crate::http::HttpResponse, auth: TokenAuth) -> OidcError {
    match oauth_error(resp) {
        Some((error, description)) => {
            // Directives through the registry's markers: the log line names them as the
            // running server writes them (`ClientID` on Apache).
            use crate::directives::registry::provider_name as key;
            let hint = match error.as_str() {
                "invalid_client" if auth == TokenAuth::PrivateKeyJwt => format!(
                    " — check {}, {} and that the provider has read the site's keys at {} since the signing key last changed",
                    key("client_id"),
                    key("client_signing_key_file"),
                    key("jwks_uri")
                ),
                "invalid_client" => format!(
                    " — check {}, {} and {} for this provider",
                    key("client_id"),
                    key("client_secret_file"),
                    key("token_auth")
                ),
                "invalid_grant" => format!(
                    " — the code expired (FranceConnect codes live 30 s), was already used, or {} differs from the authorize request",
                    key("redirect_uri")
                ),
                _ => String::new(),
            };
            let description = description.map(|d| format!(": {d}")).unwrap_or_default();
            OidcError::TokenRefused(format!("HTTP {} {error}{description}{hint}", resp.status))
        }
        None => {
            OidcError::TokenRefused(format!("HTTP {} without an OAuth error body", resp.status))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_urlencoded_before_base64() {
        // "a b:c" / "s&%" → "a+b%3Ac:s%26%25"
        let h = basic_authorization("a b:c", "s&%");
        let raw = STANDARD.decode(h.strip_prefix("Basic ").unwrap()).unwrap();
        assert_eq!(String::from_utf8(raw).unwrap(), "a+b%3Ac:s%26%25");
    }
}
