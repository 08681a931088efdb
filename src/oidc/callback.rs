//! The authorization response on the redirect_uri: parsing and the checks that need no I/O.

use super::util::sanitize;
use super::{CallbackParams, OidcError, OidcSettings, ProviderMetadata};

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
///
/// RFC 9207 §2.4: `iss` is checked whenever present; its absence is refused when the provider
/// is one that always sends it (the FranceConnect and ProConnect presets) or when its
/// discovery advertises `authorization_response_iss_parameter_supported` (`advertised`:
/// `None` when the metadata is not at hand without I/O; the caller then checks it later with
/// [`iss_absence_allowed`]).
pub(crate) fn check<'a>(
    settings: &OidcSettings,
    cb: &'a CallbackParams,
    advertised: Option<bool>,
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
    if cb.iss.is_none() && crate::federation::rules(settings.federation).always_sends_iss() {
        return Err(OidcError::BadCallback(format!(
            "no iss parameter (RFC 9207); provider {} always sends it, so this response did not come from it directly",
            settings.name
        )));
    }
    if cb.iss.is_none() && advertised == Some(true) {
        return Err(missing_advertised_iss(settings));
    }
    match cb.code.as_deref() {
        Some(code) if !code.is_empty() => Ok(code),
        _ => Err(OidcError::BadCallback("no code parameter".into())),
    }
}

fn missing_advertised_iss(settings: &OidcSettings) -> OidcError {
    OidcError::BadCallback(format!(
        "no iss parameter although provider {} advertises authorization_response_iss_parameter_supported (RFC 9207): this response did not come from it directly",
        settings.name
    ))
}

/// The deferred half of the RFC 9207 check for a callback without `iss`, once the metadata is
/// at hand.
pub(crate) fn iss_absence_allowed(
    settings: &OidcSettings,
    meta: &ProviderMetadata,
) -> Result<(), OidcError> {
    if meta.iss_parameter_supported
        || crate::federation::rules(settings.federation).always_sends_iss()
    {
        return Err(missing_advertised_iss(settings));
    }
    Ok(())
}
