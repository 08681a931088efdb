//! C ABI: Require rules and mod_auth_openidc variables on an allowed identity.

use super::*;
use std::ptr::null;

fn allowed(acr: &str, claims: &[(&str, &str)]) -> *mut SesameOutcome {
    let claims_json: serde_json::Map<String, serde_json::Value> = claims
        .iter()
        .map(|(n, v)| {
            let value = serde_json::from_str(v).unwrap_or(serde_json::Value::String(v.to_string()));
            (n.to_string(), value)
        })
        .collect();
    let identity = crate::claims::identity(
        "fc",
        "https://op.example/api/v2",
        "the-sub",
        acr,
        &claims_json,
        "sub",
    );
    Box::into_raw(Box::new(SesameOutcome::from_outcome(Outcome::Allow(
        identity,
    ))))
}

fn text(s: SesameStr) -> String {
    // SAFETY: strings handed out by the outcome under test, alive for this call.
    String::from_utf8(unsafe { std::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len) }.to_vec())
        .unwrap()
}

#[test]
fn ffi_acr_rule_uses_the_federation_ordering() {
    let o = allowed("eidas2", &[]);
    // SAFETY: live outcome; (ptr, len) pairs from Rust strings.
    unsafe {
        assert_eq!(
            sesame_outcome_acr_satisfies(o, "eidas1".as_ptr().cast(), 6),
            1
        );
        assert_eq!(
            sesame_outcome_acr_satisfies(o, "eidas2".as_ptr().cast(), 6),
            1
        );
        assert_eq!(
            sesame_outcome_acr_satisfies(o, "eidas3".as_ptr().cast(), 6),
            0
        );
        assert_eq!(
            sesame_outcome_acr_satisfies(null(), "eidas1".as_ptr().cast(), 6),
            0
        );
        sesame_outcome_free(o);
    }
}

#[test]
fn ffi_claim_rule_matches_utf8_values_and_array_elements() {
    let o = allowed(
        "eidas1",
        &[
            ("given_name", "Élodie"),
            ("given_name_array", r#"["Élodie","Marie"]"#),
        ],
    );
    let check = |name: &str, value: &str| {
        // SAFETY: live outcome; (ptr, len) pairs from Rust strings.
        unsafe {
            sesame_outcome_claim_matches(
                o,
                name.as_ptr().cast(),
                name.len(),
                value.as_ptr().cast(),
                value.len(),
            )
        }
    };
    assert_eq!(check("given_name", "Élodie"), 1);
    assert_eq!(check("given_name", "Elodie"), 0);
    assert_eq!(check("given_name_array", "Marie"), 1);
    assert_eq!(check("family_name", "Élodie"), 0);
    // SAFETY: created above, freed once.
    unsafe { sesame_outcome_free(o) };
}

#[test]
fn ffi_oidc_variables_follow_mod_auth_openidc() {
    let o = allowed("eidas1", &[("given_name_array", r#"["Jean","Marie"]"#)]);
    let mut vars = Vec::new();
    // SAFETY: live outcome; out-parameters are local.
    unsafe {
        for i in 0..sesame_outcome_oidc_var_count(o) {
            let (mut n, mut v) = (EMPTY, EMPTY);
            assert_eq!(sesame_outcome_oidc_var(o, i, &mut n, &mut v), 0);
            vars.push((text(n), text(v)));
        }
        let (mut n, mut v) = (EMPTY, EMPTY);
        assert_eq!(sesame_outcome_oidc_var(o, vars.len(), &mut n, &mut v), -1);
        sesame_outcome_free(o);
    }
    assert_eq!(
        vars,
        [
            ("REMOTE_USER".into(), "the-sub@op.example/api/v2".into()),
            ("OIDC_CLAIM_given_name_array".into(), "Jean,Marie".into()),
            ("OIDC_CLAIM_sub".into(), "the-sub".into()),
        ]
    );
}
