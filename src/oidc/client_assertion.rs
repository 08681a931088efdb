//! `private_key_jwt` client authentication (OIDC Core §9, RFC 7523 §2.2): a JWT signed with the
//! site's `client_signing_key_file`, whose public key the provider reads from the site's JWKS.
//! Each assertion is new: a random `jti` (the provider refuses a replayed one), a lifetime of
//! 60 s, and `aud` the token endpoint it is sent to.

use serde_json::{json, Map, Value};

use super::util::b64url;
use super::{OidcError, OidcSettings};

pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion is valid (FranceConnect's limit; RFC 7523 asks for a short one).
pub(crate) const LIFETIME_SECS: i64 = 60;

/// The claims of one assertion for `token_endpoint` at `now`.
pub(crate) fn claims(client_id: &str, token_endpoint: &str, now: i64) -> Map<String, Value> {
    let mut jti = [0u8; 24];
    // getrandom only fails where the OS has no randomness at all; then no assertion is safe.
    let jti = match getrandom::fill(&mut jti) {
        Ok(()) => b64url(&jti),
        Err(_) => String::new(),
    };
    let Value::Object(map) = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": token_endpoint,
        "jti": jti,
        "iat": now,
        "exp": now + LIFETIME_SECS,
    }) else {
        return Map::new();
    };
    map
}

/// A signed assertion, or the reason none can be made.
pub(crate) fn make(
    settings: &OidcSettings,
    token_endpoint: &str,
    now: i64,
) -> Result<String, OidcError> {
    let claims = claims(&settings.client_id, token_endpoint, now);
    if claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        return Err(OidcError::Protocol(
            "no randomness available for the client assertion's jti".into(),
        ));
    }
    match settings.site_keys.sign(&claims) {
        Some(Ok(jwt)) => Ok(jwt),
        Some(Err(m)) => Err(OidcError::Protocol(format!("client assertion: {m}"))),
        None => Err(OidcError::Protocol(
            "token_auth private_key_jwt without a client signing key".into(),
        )),
    }
}
