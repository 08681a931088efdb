//! Authorization rules a server applies to an allowed identity (Apache's `Require sesame-acr`
//! and `Require sesame-claim`), so adapters hold no identity logic of their own. The acr rule
//! is `policy::acr_satisfies` with the provider's federation (`Sesame::acr_satisfies`).

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
    fn claim_matches_exact_text_or_an_array_element() {
        assert!(claim_matches("DUBOIS", "DUBOIS"));
        assert!(!claim_matches("DUBOIS", "dubois"));
        assert!(claim_matches(r#"["Jean","Pierre"]"#, "Pierre"));
        assert!(claim_matches(r#"[1,true]"#, "1"));
        assert!(!claim_matches(r#"["Jean","Pierre"]"#, "Pier"));
        assert!(!claim_matches("[not json", "not json"));
    }
}
