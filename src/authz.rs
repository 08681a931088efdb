//! Authorization rules a server applies to an allowed identity (Apache's `Require sesame-acr`
//! and `Require sesame-claim`): the federation's acr ordering and claim matching live here, so
//! adapters hold no identity logic of their own.

/// True when the session's `acr` is `required` or, for eIDAS levels, higher
/// (eidas1 < eidas2 < eidas3). An unknown or empty level meets only itself.
pub fn acr_satisfies(got: &str, required: &str) -> bool {
    !required.is_empty() && crate::oidc::acr_at_least(got, required)
}

/// True when a claim, as handed to the backend (strings raw, arrays as compact JSON), equals
/// `wanted`, or is a JSON array with `wanted` among its string/number/boolean elements.
pub fn claim_matches(claim_text: &str, wanted: &str) -> bool {
    if claim_text == wanted {
        return true;
    }
    if !claim_text.starts_with('[') {
        return false;
    }
    match serde_json::from_str::<serde_json::Value>(claim_text) {
        Ok(serde_json::Value::Array(items)) => items.iter().any(|item| match item {
            serde_json::Value::String(s) => s == wanted,
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                serde_json::from_str::<serde_json::Value>(wanted).is_ok_and(|w| w == *item)
            }
            _ => false,
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_eidas_level_satisfies_a_lower_requirement() {
        assert!(acr_satisfies("eidas3", "eidas2"));
        assert!(acr_satisfies("eidas2", "eidas2"));
        assert!(!acr_satisfies("eidas1", "eidas2"));
    }

    #[test]
    fn unknown_levels_meet_only_themselves() {
        assert!(acr_satisfies("eidas1-mfa", "eidas1-mfa"));
        assert!(!acr_satisfies("eidas0", "eidas1"));
        assert!(!acr_satisfies("eidas1-mfa", "eidas1"));
        assert!(!acr_satisfies("", ""));
    }

    #[test]
    fn claim_matches_exact_text_or_an_array_element() {
        assert!(claim_matches("DUBOIS", "DUBOIS"));
        assert!(!claim_matches("DUBOIS", "dubois"));
        assert!(claim_matches(r#"["Jean","Pierre"]"#, "Pierre"));
        assert!(claim_matches(r#"[1,true]"#, "1"));
        assert!(!claim_matches(r#"["Jean","Pierre"]"#, "Pier"));
        assert!(!claim_matches("[not json", "not json"));
    }
}
