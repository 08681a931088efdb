//! Authentication context (`acr`) checks.
//!
//! FranceConnect levels are ordered eidas1 < eidas2 < eidas3 and the returned level must be at
//! least the required one; a value outside that list (e.g. ProConnect's "eidas0") is below
//! everything. Generic providers: no requirement → anything is accepted; with `required_acr`
//! the exact value, or for eIDAS values a higher level.

use super::{Federation, OidcError, OidcSettings};
use crate::policy::eidas_rank;

/// The requirement in force for these settings, if any.
fn required(settings: &OidcSettings) -> Option<String> {
    if let Some(r) = &settings.required_acr {
        return Some(r.clone());
    }
    match settings.federation {
        // FC: the lowest level asked for in acr_values (FC itself picks the lowest), eidas1
        // when none is known.
        Federation::FranceConnect => Some(
            settings
                .acr_values
                .iter()
                .filter(|a| eidas_rank(a).is_some())
                .min_by_key(|a| eidas_rank(a))
                .cloned()
                .unwrap_or_else(|| "eidas1".to_owned()),
        ),
        Federation::Generic | Federation::ProConnect => None,
    }
}

/// Checks the id_token's `acr` and returns it ("" when a generic provider sent none and
/// nothing was required).
pub(crate) fn check(settings: &OidcSettings, got: Option<&str>) -> Result<String, OidcError> {
    // ProConnect: what was asked (the provider's acr_values, or a location's sesame_acr) is a
    // set checked by the engine against the login that asked it (policy::acr_satisfies).
    let Some(required) = required(settings) else {
        return Ok(got.unwrap_or_default().to_owned());
    };
    let Some(got) = got else {
        return Err(OidcError::InsufficientAcr {
            got: String::new(),
            required,
        });
    };
    let ok = got == required
        || matches!((eidas_rank(got), eidas_rank(&required)), (Some(g), Some(r)) if g >= r);
    if ok {
        Ok(got.to_owned())
    } else {
        Err(OidcError::InsufficientAcr {
            got: super::util::sanitize(got, 100),
            required,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::test_support::settings_for;

    #[test]
    fn franceconnect_accepts_equal_or_higher_eidas_levels() {
        let s = settings_for(Federation::FranceConnect, "https://op");
        assert_eq!(check(&s, Some("eidas1")).unwrap(), "eidas1");
        assert_eq!(check(&s, Some("eidas3")).unwrap(), "eidas3");
    }

    #[test]
    fn franceconnect_refuses_unknown_or_missing_acr() {
        let s = settings_for(Federation::FranceConnect, "https://op");
        assert!(matches!(
            check(&s, Some("eidas0")),
            Err(OidcError::InsufficientAcr { .. })
        ));
        assert!(matches!(
            check(&s, Some("eidas1-mfa")),
            Err(OidcError::InsufficientAcr { .. })
        ));
        assert!(matches!(
            check(&s, None),
            Err(OidcError::InsufficientAcr { .. })
        ));
    }

    #[test]
    fn required_acr_raises_the_bar_above_acr_values() {
        let mut s = settings_for(Federation::FranceConnect, "https://op");
        s.required_acr = Some("eidas2".into());
        assert!(check(&s, Some("eidas1")).is_err());
        assert!(check(&s, Some("eidas2")).is_ok());
    }

    #[test]
    fn generic_without_requirement_accepts_any_acr() {
        let s = settings_for(Federation::Generic, "https://op");
        assert_eq!(check(&s, Some("eidas0")).unwrap(), "eidas0");
        assert_eq!(check(&s, None).unwrap(), "");
    }

    #[test]
    fn generic_with_required_acr_needs_that_value() {
        let mut s = settings_for(Federation::Generic, "https://op");
        s.required_acr = Some("eidas1-mfa".into());
        assert!(check(&s, Some("eidas1")).is_err());
        assert!(check(&s, Some("eidas1-mfa")).is_ok());
    }
}
