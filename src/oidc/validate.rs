//! Claim checks on a signature-verified JWT payload (OIDC Core §3.1.3.7,
//! docs/federations.md §4.3), in the documented order: iss, aud/azp, exp, iat, then (id_token
//! only) nonce, acr, at_hash.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::util::{b64url, ct_eq, now_secs, sanitize};
use super::{OidcError, OidcSettings};

/// What every signed token from the provider (id_token, userinfo JWT) must satisfy.
pub(crate) fn check_common(
    claims: &Map<String, Value>,
    settings: &OidcSettings,
    what: &str,
    now: i64,
) -> Result<(), OidcError> {
    let invalid = |m: String| OidcError::InvalidToken(format!("{what}: {m}"));
    let leeway = settings.leeway.as_secs() as i64;

    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == settings.issuer => {}
        Some(iss) => {
            return Err(invalid(format!(
                "iss {:?} is not the configured issuer {:?}",
                sanitize(iss, 200),
                settings.issuer
            )))
        }
        None => return Err(invalid("no iss claim".into())),
    }

    let client_id = settings.client_id.as_str();
    let (aud_ok, others) = match claims.get("aud") {
        Some(Value::String(a)) => (a == client_id, false),
        Some(Value::Array(list)) => (
            list.iter().any(|a| a.as_str() == Some(client_id)),
            list.iter().any(|a| a.as_str() != Some(client_id)),
        ),
        _ => (false, false),
    };
    if !aud_ok {
        return Err(invalid(format!(
            "aud does not contain this client_id {client_id:?} (token issued to another client?)"
        )));
    }
    match claims.get("azp") {
        Some(azp) if azp.as_str() != Some(client_id) => {
            return Err(invalid(format!("azp is not this client_id {client_id:?}")));
        }
        Some(_) => {}
        // OIDC Core §3.1.3.7: audiences we do not know are only acceptable when the token says
        // it was issued to us (azp).
        None if others => {
            return Err(invalid(format!(
                "aud lists other audiences besides this client_id {client_id:?} and there is no azp naming it"
            )));
        }
        None => {}
    }

    // Saturating everywhere: times come from the provider and may be anything a JSON number
    // can hold.
    let exp = time_claim(claims, "exp").ok_or_else(|| invalid("no numeric exp claim".into()))?;
    if now > exp.saturating_add(leeway) {
        return Err(invalid(format!(
            "expired {}s ago (leeway {leeway}s; check this server's clock)",
            now.saturating_sub(exp)
        )));
    }
    if let Some(iat) = time_claim(claims, "iat") {
        if iat > now.saturating_add(leeway) {
            return Err(invalid(format!(
                "issued {}s in the future (leeway {leeway}s; check this server's clock)",
                iat.saturating_sub(now)
            )));
        }
    }
    if let Some(nbf) = time_claim(claims, "nbf") {
        if nbf > now.saturating_add(leeway) {
            return Err(invalid(format!(
                "not valid before {}s from now",
                nbf.saturating_sub(now)
            )));
        }
    }
    Ok(())
}

/// A verified id_token's identity: sub and acr.
pub(crate) struct IdTokenFacts {
    pub sub: String,
    pub acr: String,
}

/// All id_token checks after the signature.
pub(crate) fn check_id_token(
    claims: &Map<String, Value>,
    settings: &OidcSettings,
    nonce: &str,
    access_token: Option<&str>,
    now: i64,
) -> Result<IdTokenFacts, OidcError> {
    let what = "id_token";
    check_common(claims, settings, what, now)?;
    let invalid = |m: &str| OidcError::InvalidToken(format!("{what}: {m}"));
    if time_claim(claims, "iat").is_none() {
        return Err(invalid("no numeric iat claim"));
    }
    match claims.get("nonce").and_then(Value::as_str) {
        Some(n) if ct_eq(n.as_bytes(), nonce.as_bytes()) => {}
        Some(_) => {
            return Err(invalid(
                "nonce does not match the one sent for this login (replayed or injected token)",
            ))
        }
        None => return Err(invalid("no nonce claim")),
    }
    let sub = subject(claims).ok_or_else(|| {
        invalid("no sub claim (or not a non-empty string of at most 255 printable characters)")
    })?;
    let acr_claim = claims.get("acr").and_then(Value::as_str);
    if let Some(a) = acr_claim {
        if !is_acr_token(a) {
            return Err(OidcError::InvalidToken(format!(
                "{what}: acr {:?} is not a token of printable ASCII (at most 256 characters, no space or control character): refused, it would reach the backend in {} / X-Sesame-Acr",
                sanitize(a, 100),
                crate::directives::registry::variable_name("acr")
            )));
        }
    }
    let acr = crate::federation::check_returned_acr(
        settings.federation,
        &settings.acr_values,
        settings.required_acr.as_deref(),
        acr_claim,
    )
    .map_err(|short| OidcError::InsufficientAcr {
        got: sanitize(&short.got, 100),
        required: short.required,
    })?;
    // OIDC Core §3.1.3.8: at_hash is OPTIONAL for an id_token from the token endpoint (code
    // flow). Verified when present, never required, for every provider (ProConnect's
    // oidc-provider 8+ no longer emits it).
    if let Some(at_hash) = claims.get("at_hash") {
        let at_hash = at_hash
            .as_str()
            .ok_or_else(|| invalid("at_hash is not a string"))?;
        let token = access_token.ok_or_else(|| invalid("at_hash present but no access_token"))?;
        if !ct_eq(at_hash.as_bytes(), left_half_hash(token).as_bytes()) {
            return Err(invalid("at_hash does not match the access_token"));
        }
    }
    Ok(IdTokenFacts { sub, acr })
}

/// `sub` when it is a non-empty string of reasonable size without control characters (OIDC
/// Core §2: at most 255 ASCII characters; it names the user, so it is refused, never repaired).
pub(crate) fn subject(claims: &Map<String, Value>) -> Option<String> {
    claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 255 && !s.chars().any(char::is_control))
        .map(str::to_owned)
}

/// An acr value safe in a header and a log line as it is: 1-256 visible ASCII characters
/// (`%x21-7E`: eIDAS levels, ProConnect's URIs).
pub(crate) fn is_acr_token(acr: &str) -> bool {
    !acr.is_empty() && acr.len() <= 256 && acr.bytes().all(|b| b.is_ascii_graphic())
}

/// OIDC Core §3.1.3.6 for SHA-256 algorithms: base64url of the left half of the hash.
pub(crate) fn left_half_hash(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    b64url(&digest[..16])
}

/// A NumericDate (RFC 7519 §2) as whole seconds; values beyond i64 saturate (`as` on a float
/// saturates, NaN cannot come from JSON).
pub(crate) fn time_claim(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    let v = claims.get(name)?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f.floor() as i64))
}

/// Current time, for callers.
pub(crate) fn now() -> i64 {
    now_secs()
}

/// The id_token's `auth_time` (OIDC Core §2) as Unix seconds, saturating: negative values are
/// 0, huge ones `u64::MAX` (the caller clamps to now).
pub fn auth_time(claims: &Map<String, Value>) -> Option<u64> {
    time_claim(claims, "auth_time").map(|t| u64::try_from(t).unwrap_or(0))
}
