//! Encrypted tokens (FranceConnect+, docs/federations.md §4.7): a compact JWE around the
//! provider's signed JWT. Its header is read by hand before any decryption, so that every
//! refusal names its cause: a plain JWS where encryption is configured (a downgrade), an `alg`
//! other than the one the chosen key is registered for, an `enc` other than A256GCM, a `zip`,
//! a missing `kid` or one that names no encryption key of the site (or its signing key), a
//! `crit`, a `cty` other than JWT. What comes out must itself be a compact JWS, which the
//! caller then verifies as any signed token.

use serde_json::{Map, Value};

use super::util::{b64url_decode, sanitize};
use super::OidcError;
use crate::site_keys::{EncAlg, SiteKeys, CONTENT_ENC};

/// Decrypts `token` (`what` names it in messages) with the site key its `kid` selects and
/// returns the inner compact JWS.
pub(crate) fn open(token: &str, keys: &SiteKeys, what: &str) -> Result<String, OidcError> {
    let invalid = |m: String| OidcError::InvalidToken(format!("{what}: {m}"));
    let parts = token.split('.').count();
    match parts {
        5 => {}
        3 => {
            return Err(invalid(
                "is a plain signed JWT, but this provider is configured to encrypt it (encryption_key_file): refused as a downgrade".into(),
            ))
        }
        n => {
            return Err(invalid(format!(
                "is not a compact JWE ({n} parts instead of 5)"
            )))
        }
    }
    let header_b64 = token.split('.').next().unwrap_or_default();
    let header: Map<String, Value> = b64url_decode(header_b64)
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .ok_or_else(|| invalid("JWE header is not base64url-encoded JSON".into()))?;
    let text = |name: &str| -> Result<Option<&str>, OidcError> {
        match header.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(invalid(format!("JWE header {name} is not a string"))),
        }
    };
    if header.contains_key("crit") {
        return Err(invalid(
            "JWE header has a crit parameter, which is not supported".into(),
        ));
    }
    if header.contains_key("zip") {
        return Err(invalid(
            "JWE header asks for compression (zip): refused (FranceConnect+ never compresses; compressed plaintext leaks through its length)".into(),
        ));
    }
    let alg = text("alg")?.ok_or_else(|| invalid("JWE header has no alg".into()))?;
    let Some(known_alg) = EncAlg::parse(alg) else {
        return Err(invalid(format!(
            "JWE alg {:?} is not one of ECDH-ES, RSA-OAEP-256, RSA-OAEP",
            sanitize(alg, 32)
        )));
    };
    let enc = text("enc")?.ok_or_else(|| invalid("JWE header has no enc".into()))?;
    if enc != CONTENT_ENC {
        return Err(invalid(format!(
            "JWE enc {:?} is not {CONTENT_ENC}, the only content encryption accepted",
            sanitize(enc, 32)
        )));
    }
    let kid = text("kid")?.ok_or_else(|| {
        invalid("JWE header has no kid: the site key it was encrypted to is unknown".into())
    })?;
    let shown_kid = sanitize(kid, 80);
    if keys.is_sig_kid(kid) {
        return Err(invalid(format!(
            "JWE kid {shown_kid:?} is the site's signing key (use sig), not an encryption key: refused"
        )));
    }
    let Some(key) = keys.enc_key(kid) else {
        let known: Vec<&str> = keys.enc.iter().map(|k| k.kid.as_str()).collect();
        return Err(invalid(format!(
            "JWE kid {shown_kid:?} is none of the site's encryption keys ({}): was a removed key still registered, or the provider's copy of the site's JWKS stale?",
            known.join(", ")
        )));
    };
    if known_alg != key.alg {
        return Err(invalid(format!(
            "JWE alg {} but the site's key {shown_kid:?} is registered for {}: refused",
            known_alg.name(),
            key.alg.name()
        )));
    }
    match text("cty")? {
        Some(cty) if cty.eq_ignore_ascii_case("JWT") => {}
        Some(cty) => {
            return Err(invalid(format!(
                "JWE cty {:?} is not JWT: the content must be a signed JWT",
                sanitize(cty, 32)
            )))
        }
        None => {
            return Err(invalid(
                "JWE header has no cty: the content must be a signed JWT (cty JWT)".into(),
            ))
        }
    }
    let plain = key.decrypt(token).map_err(|f| invalid(f.0))?;
    let inner = String::from_utf8(plain)
        .map_err(|_| invalid("decrypted content is not UTF-8 text".into()))?;
    let inner = inner.trim().to_owned();
    if inner.split('.').count() != 3 {
        return Err(invalid(
            "decrypted content is not a compact signed JWT (a JWE must wrap the provider's JWS)"
                .into(),
        ));
    }
    Ok(inner)
}
