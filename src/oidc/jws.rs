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
                "is encrypted (JWE) but this provider has no encryption_key_file to decrypt it"
                    .into(),
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
    if let (SigningAlg::ES256, Some(point)) = (key.alg, &key.es256_point) {
        return verify_es256(token, point);
    }
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

/// ES256 with ring: the signature (r || s, 64 bytes) over `header.payload`, then the payload.
fn verify_es256(token: &str, point: &[u8]) -> Result<Map<String, Value>, VerifyError> {
    use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
    let malformed = || VerifyError::Other("cannot be decoded: not a compact JWS".into());
    let (signed, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
    let (_, payload) = signed.split_once('.').ok_or_else(malformed)?;
    if payload.contains('.') {
        return Err(malformed());
    }
    let signature = b64url_decode(signature).ok_or(VerifyError::Signature)?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| VerifyError::Signature)?;
    let payload = b64url_decode(payload)
        .ok_or_else(|| VerifyError::Other("cannot be decoded: payload is not base64url".into()))?;
    serde_json::from_slice(&payload).map_err(|e| {
        VerifyError::Other(format!(
            "cannot be decoded: payload is not a JSON object ({e})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::jwks::parse;
    use crate::oidc::tests::support::TestKey;
    use serde_json::json;

    #[test]
    fn es256_checked_by_ring_agrees_with_the_library() {
        let signer = TestKey::es256("k1");
        let set = parse(json!({"keys": [signer.jwk]}).to_string().as_bytes()).unwrap();
        let key = &set.keys[0];
        assert!(key.es256_point.is_some());
        let library = Key {
            kid: key.kid.clone(),
            alg: key.alg,
            fingerprint: key.fingerprint.clone(),
            key: key.key.clone(),
            es256_point: None,
        };
        let token = signer.sign(&json!({"sub": "s1", "n": 1}));
        for k in [key, &library] {
            let claims = verify(&token, k).ok().unwrap();
            assert_eq!(claims.get("sub"), Some(&json!("s1")));
        }
        // Payload swapped under the same signature; signature of another key.
        let (h, rest) = token.split_once('.').unwrap();
        let sig = rest.split_once('.').unwrap().1;
        let other_payload = signer.sign(&json!({"sub": "s2"}));
        let forged = format!("{h}.{}.{sig}", other_payload.split('.').nth(1).unwrap());
        let foreign = TestKey::es256("k1").sign(&json!({"sub": "s1"}));
        for k in [key, &library] {
            assert!(matches!(verify(&forged, k), Err(VerifyError::Signature)));
            assert!(matches!(verify(&foreign, k), Err(VerifyError::Signature)));
        }
    }
}
