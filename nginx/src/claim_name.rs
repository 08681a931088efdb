//! Which claim a `$sesame_claim_<suffix>` / `$sesame_header_<suffix>` variable names (pure: no
//! nginx calls, tested by nginx/tests/pure.rs).

use sesame::Identity;

/// The claim a variable suffix names: the suffix as written (nginx lower-cases variable names),
/// else the claim whose name, lower-cased with every character other than a letter or digit
/// written `_`, equals it (`chorusdt:matricule` is `$sesame_claim_chorusdt_matricule`).
pub fn claim<'a>(id: &'a Identity, suffix: &str) -> Option<&'a str> {
    let exact = id.claims.iter().find(|(name, _)| name == suffix);
    let folded = || {
        id.claims.iter().find(|(name, _)| {
            name.len() == suffix.len()
                && name.chars().zip(suffix.chars()).all(|(n, s)| {
                    let n = if n.is_ascii_alphanumeric() {
                        n.to_ascii_lowercase()
                    } else {
                        '_'
                    };
                    n == s
                })
        })
    };
    exact.or_else(folded).map(|(_, value)| value.as_str())
}

/// The mod_auth_openidc-style value (`OIDC_CLAIM_<claim>`) a `$sesame_oidc_claim_<suffix>`
/// variable names, found as [`claim`] finds claims (as written, else folded).
pub fn oidc_claim<'a>(id: &'a Identity, suffix: &str) -> Option<&'a str> {
    let claims = || {
        id.mod_auth_openidc.iter().filter_map(|(name, value)| {
            name.strip_prefix(sesame::compat::CLAIM_PREFIX)
                .map(|claim| (claim, value.as_str()))
        })
    };
    let exact = claims().find(|(name, _)| *name == suffix);
    let folded = || {
        claims().find(|(name, _)| {
            name.len() == suffix.len()
                && name.chars().zip(suffix.chars()).all(|(n, s)| {
                    let n = if n.is_ascii_alphanumeric() {
                        n.to_ascii_lowercase()
                    } else {
                        '_'
                    };
                    n == s
                })
        })
    };
    exact.or_else(folded).map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity_with(claims: &[(&str, &str)]) -> Identity {
        Identity {
            claims: claims
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..Identity::default()
        }
    }

    #[test]
    fn claim_is_found_by_its_own_name() {
        let id = identity_with(&[("given_name", "Angela Claire")]);
        assert_eq!(claim(&id, "given_name"), Some("Angela Claire"));
    }

    #[test]
    fn claim_with_colon_is_found_with_underscore() {
        let id = identity_with(&[("chorusdt:matricule", "12345")]);
        assert_eq!(claim(&id, "chorusdt_matricule"), Some("12345"));
    }

    #[test]
    fn claim_with_upper_case_is_found_lower_cased() {
        let id = identity_with(&[("Custom_Claim", "x")]);
        assert_eq!(claim(&id, "custom_claim"), Some("x"));
    }

    #[test]
    fn exact_name_wins_over_folded_name() {
        let id = identity_with(&[("a:b", "folded"), ("a_b", "exact")]);
        assert_eq!(claim(&id, "a_b"), Some("exact"));
    }

    #[test]
    fn oidc_claim_is_found_by_its_mod_auth_openidc_name_folded() {
        let id = Identity {
            mod_auth_openidc: vec![
                ("REMOTE_USER".into(), "s@op".into()),
                ("OIDC_CLAIM_chorusdt-matricule".into(), "42".into()),
                ("OIDC_CLAIM_given_name".into(), "Élodie".into()),
            ],
            ..Identity::default()
        };
        assert_eq!(oidc_claim(&id, "given_name"), Some("Élodie"));
        assert_eq!(oidc_claim(&id, "chorusdt_matricule"), Some("42"));
        assert_eq!(oidc_claim(&id, "remote_user"), None);
    }

    #[test]
    fn missing_claim_is_not_found() {
        let id = identity_with(&[("sub", "abc")]);
        assert_eq!(claim(&id, "email"), None);
        assert_eq!(claim(&id, "su"), None);
    }
}
