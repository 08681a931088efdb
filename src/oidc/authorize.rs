//! Front-channel URLs: the authorization request and the logout (end_session) request.
//!
//! FranceConnect rejects (HTTP 400 page, no way back to the site) any parameter outside its
//! whitelist, so for that federation exactly seven parameters are sent, always with
//! acr_values, never PKCE, login_hint, prompt or response_mode (docs/federations.md §3.1, §3.8).

use sha2::{Digest, Sha256};

use super::util::{append_query, b64url};
use super::{AuthParams, Federation, LoginOptions, OidcSettings, ProviderMetadata};

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
    let acr_values = settings.acr_values.join(" ");
    let mut pairs: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &settings.client_id),
        ("redirect_uri", &settings.redirect_uri),
        ("scope", &scope),
        ("state", &params.state),
        ("nonce", &params.nonce),
    ];
    let challenge;
    let claims;
    let location_acr = opts.acr.join(" ");
    match settings.federation {
        Federation::FranceConnect => {
            // acr_values is mandatory at FranceConnect; eidas1 is its only level.
            let acr = if acr_values.is_empty() {
                "eidas1"
            } else {
                &acr_values
            };
            pairs.push(("acr_values", acr));
            // Both are in FranceConnect's whitelist; login_hint, siret_hint, prompt=none are
            // not (refused at config time, never sent).
            if opts.prompt.as_deref() == Some("login") {
                pairs.push(("prompt", "login"));
            }
            if let Some(hint) = &opts.idp_hint {
                pairs.push(("idp_hint", hint));
            }
        }
        Federation::ProConnect => {
            // acr through `claims` (essential + values), never acr_values: sent together, PC
            // would treat both as essential (docs/federations.md §3.3). amr is asked to check MFA.
            let acr = if opts.acr.is_empty() {
                &settings.acr_values
            } else {
                &opts.acr
            };
            claims = super::proconnect::claims_request(acr, true);
            pairs.push(("claims", &claims));
            if settings.pkce {
                if let Some(verifier) = &params.code_verifier {
                    challenge = pkce_challenge(verifier);
                    pairs.push(("code_challenge", &challenge));
                    pairs.push(("code_challenge_method", "S256"));
                }
            }
            for (name, value) in [
                ("prompt", &opts.prompt),
                ("login_hint", &opts.login_hint),
                ("idp_hint", &opts.idp_hint),
                ("siret_hint", &opts.siret_hint),
            ] {
                if let Some(v) = value {
                    pairs.push((name, v));
                }
            }
        }
        Federation::Generic => {
            if !location_acr.is_empty() {
                pairs.push(("acr_values", &location_acr));
            } else if !acr_values.is_empty() {
                pairs.push(("acr_values", &acr_values));
            }
            for (name, value) in [("prompt", &opts.prompt), ("login_hint", &opts.login_hint)] {
                if let Some(v) = value {
                    pairs.push((name, v));
                }
            }
            if settings.pkce {
                if let Some(verifier) = &params.code_verifier {
                    challenge = pkce_challenge(verifier);
                    pairs.push(("code_challenge", &challenge));
                    pairs.push(("code_challenge_method", "S256"));
                }
            }
        }
    }
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
