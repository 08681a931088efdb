//! Discovery document (`/.well-known/openid-configuration`): fetch and validation.

use serde::Deserialize;

use super::fetch::{expect_json, fetch_error};
use super::{OidcError, OidcSettings, ProviderMetadata};
use crate::http::HttpClient;

#[derive(Deserialize)]
struct Document {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    end_session_endpoint: Option<String>,
    #[serde(default)]
    revocation_endpoint: Option<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

/// Blocking: fetch and validate the provider's discovery document.
pub(crate) fn fetch(
    http: &HttpClient,
    settings: &OidcSettings,
) -> Result<ProviderMetadata, OidcError> {
    let what = "discovery document";
    let resp = http
        .get(
            crate::http::Exchange::Discovery,
            &settings.discovery_url,
            &[("Accept", "application/json")],
        )
        .map_err(|e| fetch_error(what, &settings.discovery_url, e))?;
    if resp.status == 404 {
        return Err(OidcError::Protocol(format!(
            "{what} not found (HTTP 404) at {}; check `issuer` (FranceConnect and ProConnect issuers end with /api/v2) or set `discovery_url`",
            settings.discovery_url
        )));
    }
    let body = expect_json(what, &settings.discovery_url, &resp, &["application/json"])?;
    parse(body, settings)
}

/// Parses and validates a discovery document's body (no I/O).
pub(crate) fn parse(body: &[u8], settings: &OidcSettings) -> Result<ProviderMetadata, OidcError> {
    let doc: Document = serde_json::from_slice(body).map_err(|e| {
        OidcError::Protocol(format!(
            "discovery document at {} is not a valid OpenID configuration: {e}",
            settings.discovery_url
        ))
    })?;
    validate(doc, settings)
}

fn validate(doc: Document, settings: &OidcSettings) -> Result<ProviderMetadata, OidcError> {
    // OIDC Discovery §4.3: the issuer must be exactly the configured one (mix-up defence).
    if doc.issuer != settings.issuer {
        return Err(OidcError::Protocol(format!(
            "discovery at {} announces issuer {:?} but the provider is configured with issuer {:?}; \
             set `issuer` to the exact value (FranceConnect and ProConnect: https://<host>/api/v2, no trailing slash)",
            settings.discovery_url,
            crate::oidc::util::sanitize(&doc.issuer, 200),
            settings.issuer
        )));
    }
    let https_issuer = settings.issuer.starts_with("https://");
    let check = |name: &str, url: &str| -> Result<(), OidcError> {
        let parsed = url::Url::parse(url).map_err(|_| {
            OidcError::Protocol(format!(
                "discovery: {name} {:?} is not an absolute URL",
                crate::oidc::util::sanitize(url, 200)
            ))
        })?;
        let scheme_ok = match parsed.scheme() {
            "https" => true,
            // An https issuer must not send us to plain http (a downgrade of every exchange).
            "http" => !https_issuer,
            _ => false,
        };
        if !scheme_ok || parsed.fragment().is_some() {
            return Err(OidcError::Protocol(format!(
                "discovery: {name} {:?} must be an https URL without fragment",
                crate::oidc::util::sanitize(url, 200)
            )));
        }
        Ok(())
    };
    check("authorization_endpoint", &doc.authorization_endpoint)?;
    check("token_endpoint", &doc.token_endpoint)?;
    check("jwks_uri", &doc.jwks_uri)?;
    if let Some(u) = &doc.userinfo_endpoint {
        check("userinfo_endpoint", u)?;
    }
    if let Some(u) = &doc.end_session_endpoint {
        check("end_session_endpoint", u)?;
    }
    if let Some(u) = &doc.revocation_endpoint {
        check("revocation_endpoint", u)?;
    }
    Ok(ProviderMetadata {
        issuer: doc.issuer,
        authorization_endpoint: doc.authorization_endpoint,
        token_endpoint: doc.token_endpoint,
        userinfo_endpoint: doc.userinfo_endpoint,
        end_session_endpoint: doc.end_session_endpoint,
        revocation_endpoint: doc.revocation_endpoint,
        jwks_uri: doc.jwks_uri,
        iss_parameter_supported: doc.authorization_response_iss_parameter_supported,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::tests::support::settings_for;
    use crate::oidc::Federation;

    fn doc(issuer: &str, token_endpoint: &str) -> Document {
        Document {
            issuer: issuer.into(),
            authorization_endpoint: format!("{issuer}/authorize"),
            token_endpoint: token_endpoint.into(),
            jwks_uri: format!("{issuer}/jwks"),
            userinfo_endpoint: None,
            end_session_endpoint: None,
            revocation_endpoint: None,
            authorization_response_iss_parameter_supported: false,
        }
    }

    #[test]
    fn https_issuer_cannot_send_us_to_a_plain_http_endpoint() {
        let s = settings_for(Federation::FranceConnect, "https://op.example/api/v2");
        let err = validate(
            doc(
                "https://op.example/api/v2",
                "http://op.example/api/v2/token",
            ),
            &s,
        );
        assert!(matches!(err, Err(OidcError::Protocol(m)) if m.contains("token_endpoint")));
        assert!(validate(
            doc(
                "https://op.example/api/v2",
                "https://op.example/api/v2/token"
            ),
            &s
        )
        .is_ok());
    }

    #[test]
    fn issuer_with_trailing_slash_is_a_mismatch() {
        let s = settings_for(Federation::FranceConnect, "https://op.example/api/v2");
        let err = validate(
            doc(
                "https://op.example/api/v2/",
                "https://op.example/api/v2/token",
            ),
            &s,
        );
        assert!(matches!(err, Err(OidcError::Protocol(m)) if m.contains("announces issuer")));
    }
}
