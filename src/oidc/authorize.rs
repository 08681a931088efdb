//! Front-channel URLs: the authorization request and the logout (end_session) request.
//!
//! Six parameters are every provider's; the rest is the federation's (`federation/`:
//! FranceConnect rejects, with an HTTP 400 page and no way back to the site, any parameter
//! outside its whitelist, so it gets exactly seven, always with acr_values, never PKCE,
//! login_hint or response_mode; docs/federations.md §3.1, §3.8).

use sha2::{Digest, Sha256};

use super::util::{append_query, b64url};
use super::{AuthParams, OidcSettings, ProviderMetadata};
use crate::federation::{AuthorizeRequest, LoginOptions};

/// RFC 7636 S256: base64url(SHA-256(verifier)), no padding.
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    b64url(&Sha256::digest(verifier.as_bytes()))
}

pub(crate) fn authorize_url(
    settings: &OidcSettings,
    meta: &ProviderMetadata,
    params: &AuthParams,
) -> String {
    authorize_url_with(settings, meta, params, &LoginOptions::default())
}

/// The authorize URL with a location's options, each sent only where the federation takes it.
pub(crate) fn authorize_url_with(
    settings: &OidcSettings,
    meta: &ProviderMetadata,
    params: &AuthParams,
    opts: &LoginOptions,
) -> String {
    let scope = settings.scopes.join(" ");
    let mut pairs: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &settings.client_id),
        ("redirect_uri", &settings.redirect_uri),
        ("scope", &scope),
        ("state", &params.state),
        ("nonce", &params.nonce),
    ];
    // PKCE where the provider block has it on; the federation decides whether it is sent.
    let challenge = match (&params.code_verifier, settings.pkce) {
        (Some(verifier), true) => Some(pkce_challenge(verifier)),
        _ => None,
    };
    let extras =
        crate::federation::rules(settings.federation).authorize_params(&AuthorizeRequest {
            provider_acr: &settings.acr_values,
            options: opts,
            pkce_challenge: challenge.as_deref(),
        });
    pairs.extend(extras.iter().map(|(name, value)| (*name, value.as_str())));
    append_query(&meta.authorization_endpoint, &pairs)
}

pub(crate) fn end_session_url(
    settings: &OidcSettings,
    meta: &ProviderMetadata,
    id_token_hint: &str,
    state: &str,
) -> Option<String> {
    let endpoint = meta.end_session_endpoint.as_deref()?;
    let mut pairs = vec![("id_token_hint", id_token_hint), ("state", state)];
    if let Some(uri) = &settings.post_logout_redirect_uri {
        pairs.push(("post_logout_redirect_uri", uri));
    }
    Some(append_query(endpoint, &pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_challenge() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
