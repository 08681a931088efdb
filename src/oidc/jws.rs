//! Compact JWS: header inspection (done by hand, before any library sees the token, so that
//! `alg: none` or an HMAC alg produce a precise refusal) and signature verification.

use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::jwks::{alg_name, Key};
use super::util::{b64url_decode, sanitize};
use super::{OidcError, SigningAlg};

pub(crate) struct JwsHeader {
    pub kid: Option<String>,
}

/// Parses the protected header and checks `alg` against the one registered for the client.
/// `what` names the token in messages ("id_token", "userinfo JWT").
pub(crate) fn check_header(
    token: &str,
    expected: SigningAlg,
    what: &str,
) -> Result<JwsHeader, OidcError> {
    let invalid = |m: String| OidcError::InvalidToken(format!("{what}: {m}"));
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => {
            return Err(invalid(
                "is encrypted (JWE); encrypted tokens (FranceConnect+) are not supported".into(),
            ))
        }
        n => {
            return Err(invalid(format!(
                "is not a compact JWS ({n} parts instead of 3)"
            )))
        }
    }
    let header: Map<String, Value> = b64url_decode(parts[0])
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .ok_or_else(|| invalid("header is not base64url-encoded JSON".into()))?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("header has no alg".into()))?;
    let want = alg_name(expected);
    if alg != want {
        let why = if alg.eq_ignore_ascii_case("none") {
            "is unsigned (alg none)".to_owned()
        } else if alg.starts_with("HS") && expected != SigningAlg::HS256 {
            format!(
                "is signed with {} (a shared-secret algorithm) but the client is registered for {want}: refused (algorithm confusion)",
                sanitize(alg, 16)
            )
        } else {
            format!(
                "is signed with {:?} but the client is registered for {want} (check `id_token_alg` against the provider's client settings)",
                sanitize(alg, 16)
            )
        };
        return Err(invalid(why));
    }
    // RFC 7515 §4.1.11: extensions we do not understand must not be ignored.
    if header.contains_key("crit") {
        return Err(invalid(
            "header has a crit parameter, which is not supported".into(),
        ));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(invalid("header kid is not a string".into())),
    };
    Ok(JwsHeader { kid })
}

pub(crate) enum VerifyError {
    /// The signature does not match this key.
    Signature,
    /// Anything else (malformed payload...): refetching keys would not help.
    Other(String),
}

/// Verifies the signature with `key` and returns the payload. Claims are checked by the caller
/// (`validate`), so the library's own claim validation is switched off here.
pub(crate) fn verify(token: &str, key: &Key) -> Result<Map<String, Value>, VerifyError> {
    let alg = match key.alg {
        SigningAlg::ES256 => Algorithm::ES256,
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::HS256 => Algorithm::HS256,
    };
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation) {
        Ok(data) => Ok(data.claims),
        Err(e) => match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature
            | jsonwebtoken::errors::ErrorKind::InvalidEcdsaKey
            | jsonwebtoken::errors::ErrorKind::InvalidRsaKey(_)
            | jsonwebtoken::errors::ErrorKind::InvalidKeyFormat
            | jsonwebtoken::errors::ErrorKind::Provider(_) => Err(VerifyError::Signature),
            _ => Err(VerifyError::Other(format!("cannot be decoded: {e}"))),
        },
    }
}
