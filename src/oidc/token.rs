//! Token requests (authorization_code and refresh_token grants) and client authentication.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;

use super::fetch::{expect_json, fetch_error, oauth_error, status_error};
use super::{AccessGrant, AuthParams, OidcError, OidcSettings, ProviderMetadata, TokenAuth};
use crate::http::HttpClient;

pub(crate) struct Tokens {
    pub id_token: String,
    pub access_token: Option<String>,
    /// The access token with its lifetime, scope and refresh token.
    pub access: Option<AccessGrant>,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// An access token whose answer gives no `expires_in` is kept this long at most (FranceConnect's
/// tokens live 60 s; RFC 6749 leaves the lifetime to the provider's documentation).
pub(crate) const DEFAULT_ACCESS_TOKEN_LIFETIME: u64 = 60;

impl Response {
    fn grant(&self, settings: &OidcSettings, now: u64) -> Option<AccessGrant> {
        let access_token = self.access_token.clone().filter(|t| !t.is_empty())?;
        Some(AccessGrant {
            access_token,
            expires_at: now
                .saturating_add(self.expires_in.unwrap_or(DEFAULT_ACCESS_TOKEN_LIFETIME)),
            scope: self
                .scope
                .clone()
                .unwrap_or_else(|| settings.scopes.join(" ")),
            refresh_token: self.refresh_token.clone().filter(|t| !t.is_empty()),
        })
    }
}

/// The client authentication of every request to the provider's back channel (token,
/// refresh, revocation): form fields and an `Authorization` header, exactly one method.
pub(crate) struct ClientAuth {
    pub form: Vec<(&'static str, String)>,
    pub authorization: Option<String>,
}

/// `token_endpoint` is the audience of a `private_key_jwt` assertion (RFC 7523 §3: the token
/// endpoint identifies the authorization server), whichever back-channel endpoint it is sent to.
pub(crate) fn client_auth(
    settings: &OidcSettings,
    token_endpoint: &str,
) -> Result<ClientAuth, OidcError> {
    Ok(match settings.token_auth {
        TokenAuth::ClientSecretPost => ClientAuth {
            form: vec![
                ("client_id", settings.client_id.clone()),
                ("client_secret", settings.client_secret.clone()),
            ],
            authorization: None,
        },
        TokenAuth::ClientSecretBasic => ClientAuth {
            form: Vec::new(),
            authorization: Some(basic_authorization(
                &settings.client_id,
                &settings.client_secret,
            )),
        },
        TokenAuth::PrivateKeyJwt => ClientAuth {
            form: vec![
                ("client_id", settings.client_id.clone()),
                (
                    "client_assertion_type",
                    super::client_assertion::ASSERTION_TYPE.to_owned(),
                ),
                (
                    "client_assertion",
                    super::client_assertion::make(
                        settings,
                        token_endpoint,
                        super::util::now_secs(),
                    )?,
                ),
            ],
            authorization: None,
        },
    })
}

fn unix_now() -> u64 {
    u64::try_from(super::validate::now()).unwrap_or(0)
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
    let auth = client_auth(settings, url)?;
    let mut headers: Vec<(&str, &str)> = vec![("Accept", "application/json")];
    form.extend(auth.form.iter().map(|(k, v)| (*k, v.as_str())));
    if let Some(a) = &auth.authorization {
        headers.push(("Authorization", a));
    }
    if settings.pkce {
        let verifier = params.code_verifier.as_deref().ok_or_else(|| {
            OidcError::Protocol("PKCE is on but the login has no code_verifier".into())
        })?;
        form.push(("code_verifier", verifier));
    }

    let parsed = post(http, url, &headers, &form, settings.token_auth)?;
    let access = parsed.grant(settings, unix_now());
    let id_token = parsed.id_token.filter(|t| !t.is_empty()).ok_or_else(|| {
        OidcError::Protocol(format!(
            "{what} at {url}: answer has no id_token (is `openid` in scope?)"
        ))
    })?;
    Ok(Tokens {
        id_token,
        access_token: parsed.access_token.filter(|t| !t.is_empty()),
        access,
    })
}

/// Blocking: a new access token for `refresh_token` (RFC 6749 §6). The provider may rotate the
/// refresh token; when its answer carries none, the one used stays valid.
pub(crate) fn refresh(
    http: &HttpClient,
    settings: &OidcSettings,
    meta: &ProviderMetadata,
    refresh_token: &str,
) -> Result<AccessGrant, OidcError> {
    let url = meta.token_endpoint.as_str();
    let auth = client_auth(settings, url)?;
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    form.extend(auth.form.iter().map(|(k, v)| (*k, v.as_str())));
    let mut headers: Vec<(&str, &str)> = vec![("Accept", "application/json")];
    if let Some(a) = &auth.authorization {
        headers.push(("Authorization", a));
    }
    let parsed = post(http, url, &headers, &form, settings.token_auth)?;
    let mut grant = parsed.grant(settings, unix_now()).ok_or_else(|| {
        OidcError::Protocol(format!(
            "token endpoint at {url}: refresh answer has no access_token"
        ))
    })?;
    if grant.refresh_token.is_none() {
        grant.refresh_token = Some(refresh_token.to_owned());
    }
    Ok(grant)
}

/// POSTs a token request and reads its JSON answer (errors name the endpoint, never a token).
fn post(
    http: &HttpClient,
    url: &str,
    headers: &[(&str, &str)],
    form: &[(&str, &str)],
    token_auth: TokenAuth,
) -> Result<Response, OidcError> {
    let what = "token endpoint";
    let resp = http
        .post_form(crate::http::Exchange::Token, url, headers, form)
        .map_err(|e| fetch_error(what, url, e))?;
    if resp.status == 400 || resp.status == 401 {
        return Err(refused(&resp, token_auth));
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
    Ok(parsed)
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
