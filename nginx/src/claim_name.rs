//! Which claim a `$sesame_claim_<suffix>` / `$sesame_header_<suffix>` variable names (pure: no
//! nginx calls, tested by nginx/tests/pure.rs).

use sesame::Identity;
use sesame::{nginx_suffix_names, OIDC_CLAIM_PREFIX};

/// The claim a variable suffix names: the suffix as written (nginx lower-cases variable names),
/// else the claim whose nginx variable name (`sesame::backend_names::claim_nginx_variable`:
/// lower-cased, every byte other than a letter or digit `_`) it is
/// (`chorusdt:matricule` is `$sesame_claim_chorusdt_matricule`).
///
/// Every `fastcgi_param` of `sesame_fastcgi_params` asks once per request, mostly for claims
/// the provider did not send: the exact lookup is a binary search, and the folded one is
/// skipped when no claim name needs folding (the federations' names never do).
pub fn claim<'a>(id: &'a Identity, suffix: &str) -> Option<&'a str> {
    if let Some(value) = id.claim(suffix) {
        return Some(value);
    }
    if id.claim_names_are_folded() {
        return None;
    }
    id.claims()
        .find(|c| nginx_suffix_names(c.name, suffix))
        .map(|c| c.value)
}

/// The mod_auth_openidc-style value (`OIDC_CLAIM_<claim>`) a `$sesame_oidc_claim_<suffix>`
/// variable names, found as [`claim`] finds claims (as written, else folded).
///
/// `sesame_fastcgi_params_oidc` asks for every claim the federations define, most of them absent:
/// the exact lookup is a binary search (the variables are sorted by name after `REMOTE_USER`),
/// and the folded one is skipped when no claim name needs folding (the mod_auth_openidc names
/// are then the claim names themselves).
pub fn oidc_claim<'a>(id: &'a Identity, suffix: &str) -> Option<&'a str> {
    let all = id.mod_auth_openidc();
    fn claim_of(name: &str) -> Option<&str> {
        name.strip_prefix(OIDC_CLAIM_PREFIX)
    }
    let claims = || {
        all.iter()
            .filter_map(move |(name, value)| claim_of(name).map(|claim| (claim, value.as_str())))
    };
    // After REMOTE_USER, every name is OIDC_CLAIM_<claim>, sorted (`Identity::mod_auth_openidc`):
    // the first of equal names, as a scan in order would find it.
    let sorted = match all.split_first() {
        Some(((first, _), rest)) if first == sesame::REMOTE_USER => rest,
        _ => all,
    };
    let at = sorted.partition_point(|(name, _)| claim_of(name).is_some_and(|c| c < suffix));
    let exact = sorted
        .get(at)
        .filter(|(name, _)| claim_of(name) == Some(suffix))
        .map(|(_, value)| value.as_str());
    if exact.is_some() || id.claim_names_are_folded() {
        return exact;
    }
    claims()
        .find(|(name, _)| nginx_suffix_names(name, suffix))
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesame::{ClaimText, IdentityFields};

    fn identity_with(claims: &[(&str, &str)]) -> Identity {
        let claims: Vec<ClaimText<'_>> = claims
            .iter()
            .map(|(name, value)| ClaimText {
                name,
                value,
                json: false,
            })
            .collect();
        Identity::new(IdentityFields::default(), &claims)
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
        let id = identity_with(&[("chorusdt:matricule", "42"), ("given_name", "Élodie")]);
        assert_eq!(id.mod_auth_openidc()[1].0, "OIDC_CLAIM_chorusdt-matricule");
        assert_eq!(oidc_claim(&id, "given_name"), Some("Élodie"));
        assert_eq!(oidc_claim(&id, "chorusdt_matricule"), Some("42"));
        assert_eq!(oidc_claim(&id, "remote_user"), None);
    }

    #[test]
    fn oidc_claim_finds_each_claim_of_many_and_nothing_else() {
        let names: Vec<String> = (0..40).map(|i| format!("claim_{i:02}")).collect();
        let pairs: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), n.as_str())).collect();
        let id = identity_with(&pairs);
        for name in &names {
            assert_eq!(oidc_claim(&id, name), Some(name.as_str()));
        }
        for absent in ["claim_40", "claim_", "a", "zzz", "", "remote_user"] {
            assert_eq!(oidc_claim(&id, absent), None, "{absent}");
        }
    }

    #[test]
    fn oidc_claim_of_two_names_folding_alike_is_the_first_in_order() {
        // `a-b` and `a:b` both become OIDC_CLAIM_a-b: the first (claim order) wins, as before.
        let id = identity_with(&[("a:b", "colon"), ("a-b", "dash")]);
        assert_eq!(oidc_claim(&id, "a-b"), Some("dash"));
        assert_eq!(oidc_claim(&id, "a_b"), Some("dash"));
    }

    #[test]
    fn missing_claim_is_not_found() {
        let id = identity_with(&[("sub", "abc")]);
        assert_eq!(claim(&id, "email"), None);
        assert_eq!(claim(&id, "su"), None);
    }
}
