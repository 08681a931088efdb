//! The authorization response on the redirect_uri: parsing and the checks that need no I/O.

use super::util::sanitize;
use super::{CallbackParams, OidcError, OidcSettings};

pub(crate) fn parse(query: &str) -> CallbackParams {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut cb = CallbackParams::default();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let slot = match k.as_ref() {
            "code" => &mut cb.code,
            "state" => &mut cb.state,
            "iss" => &mut cb.iss,
            "error" => &mut cb.error,
            "error_description" => &mut cb.error_description,
            _ => continue,
        };
        if slot.is_some() {
            if !cb.duplicated.iter().any(|d| d == k.as_ref()) {
                cb.duplicated.push(k.into_owned());
            }
        } else {
            *slot = Some(v.into_owned());
        }
    }
    cb
}

/// Order: ambiguity first, then mix-up (foreign iss), then the provider's own error, then
/// the RFC 9207 iss requirement and the code.
pub(crate) fn check<'a>(
    settings: &OidcSettings,
    cb: &'a CallbackParams,
) -> Result<&'a str, OidcError> {
    if !cb.duplicated.is_empty() {
        return Err(OidcError::BadCallback(format!(
            "parameter(s) {} appear more than once",
            cb.duplicated.join(", ")
        )));
    }
    if let Some(iss) = &cb.iss {
        if *iss != settings.issuer {
            return Err(OidcError::BadCallback(format!(
                "iss {:?} is not the issuer of provider {} ({:?}): response from another provider (mix-up)",
                sanitize(iss, 200),
                settings.name,
                settings.issuer
            )));
        }
    }
    if let Some(error) = &cb.error {
        return Err(OidcError::ProviderError {
            error: sanitize(error, 64),
            description: cb.error_description.as_deref().map(|d| sanitize(d, 300)),
        });
    }
    if cb.iss.is_none() {
        return Err(OidcError::BadCallback(format!(
            "no iss parameter (RFC 9207); provider {} always sends it, so this response did not come from it directly",
            settings.name
        )));
    }
    match cb.code.as_deref() {
        Some(code) if !code.is_empty() => Ok(code),
        _ => Err(OidcError::BadCallback("no code parameter".into())),
    }
}
