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

/// A core with a FranceConnect provider `fc` and a generic one `gen` (no I/O: build only reads
/// files).
fn core(dir: &std::path::Path) -> *mut SesameHandle {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("secret"), "z".repeat(40)).unwrap();
    std::fs::write(dir.join("client_secret"), "cs").unwrap();
    let secret = dir.join("client_secret").to_string_lossy().into_owned();
    let mut b = crate::config::ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1:1/0").unwrap();
    b.set_global("secret_file", &dir.join("secret").to_string_lossy())
        .unwrap();
    for (name, preset, issuer) in [
        (
            "fc",
            "franceconnect-integration",
            "https://fc.example/api/v2",
        ),
        ("gen", "generic", "https://op.example"),
        ("pc", "proconnect-integration", "https://pc.example/api/v2"),
    ] {
        b.add_provider(name).unwrap();
        for (k, v) in [
            ("preset", preset),
            ("issuer", issuer),
            ("client_id", "c"),
            ("client_secret_file", secret.as_str()),
            ("redirect_uri", &format!("https://app.example/cb-{name}")),
            (
                "post_logout_redirect_uri",
                &format!("https://app.example/out-{name}"),
            ),
        ] {
            b.set_provider(name, k, v).unwrap();
        }
    }
    Box::into_raw(Box::new(SesameHandle(b.build().unwrap())))
}

/// An identity as a login without `amr` leaves it (the acr alone proves MFA or not).
fn allowed_by(provider: &str, acr: &str) -> *mut SesameOutcome {
    let identity = crate::claims::identity(
        provider,
        "https://op.example",
        "s",
        acr,
        &serde_json::Map::new(),
        "sub",
    )
    .with_login_facts(
        crate::federation::proves_mfa(acr, None),
        crate::federation::Federation::Generic,
    );
    Box::into_raw(Box::new(SesameOutcome::from_outcome(Outcome::Allow(
        identity,
    ))))
}

#[test]
fn ffi_acr_mfa_rule_expands_for_proconnect_and_needs_the_verified_second_factor() {
    let dir = std::env::temp_dir().join(format!("sesame-ffi-mfa-{}", std::process::id()));
    let s = core(&dir);
    let rule = |o: *const SesameOutcome, wanted: &str| {
        // SAFETY: live core and outcome; (ptr, len) from a Rust string.
        unsafe { sesame_outcome_acr_satisfies(s, o, wanted.as_ptr().cast(), wanted.len()) }
    };
    let outcome = |acr: &str, mfa: bool| {
        let identity = crate::claims::identity(
            "pc",
            "https://pc.example/api/v2",
            "s",
            acr,
            &serde_json::Map::new(),
            "sub",
        )
        .with_login_facts(mfa, crate::federation::Federation::ProConnect);
        Box::into_raw(Box::new(SesameOutcome::from_outcome(Outcome::Allow(
            identity,
        ))))
    };
    let proved = outcome("eidas1-mfa", true);
    let claimed = outcome("eidas1-mfa", false);
    let single = outcome("eidas1", false);
    assert_eq!(
        rule(proved, "mfa"),
        1,
        "Require sesame-acr mfa = the four MFA values"
    );
    assert_eq!(
        rule(claimed, "mfa"),
        0,
        "an MFA acr without a proved second factor"
    );
    assert_eq!(rule(claimed, "eidas1-mfa"), 0);
    assert_eq!(rule(single, "mfa"), 0);
    assert_eq!(rule(single, "eidas1 eidas1-mfa"), 1);
    // SAFETY: created above, freed once.
    unsafe {
        for o in [proved, claimed, single] {
            sesame_outcome_free(o);
        }
        sesame_free(s);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ffi_acr_rule_follows_the_provider_federation() {
    let dir = std::env::temp_dir().join(format!("sesame-ffi-acr-{}", std::process::id()));
    let s = core(&dir);
    let rule = |o: *const SesameOutcome, wanted: &str| {
        // SAFETY: live core and outcome; (ptr, len) from a Rust string.
        unsafe { sesame_outcome_acr_satisfies(s, o, wanted.as_ptr().cast(), wanted.len()) }
    };
    let fc = allowed_by("fc", "eidas2");
    // FranceConnect: ordered levels.
    assert_eq!(rule(fc, "eidas1"), 1);
    assert_eq!(rule(fc, "eidas2"), 1);
    assert_eq!(rule(fc, "eidas3"), 0);
    assert_eq!(rule(fc, ""), 0);
    // A generic provider: a set, never "greater than".
    let generic = allowed_by("gen", "eidas2");
    assert_eq!(rule(generic, "eidas1"), 0);
    assert_eq!(rule(generic, "eidas1 eidas2"), 1);
    // A provider this core does not know, and NULLs.
    let other = allowed_by("nosuch", "eidas2");
    assert_eq!(rule(other, "eidas1"), 0);
    assert_eq!(rule(null(), "eidas1"), 0);
    // SAFETY: NULL core is allowed by the contract.
    assert_eq!(
        unsafe { sesame_outcome_acr_satisfies(null(), fc, "eidas1".as_ptr().cast(), 6) },
        0
    );
    // SAFETY: created above, freed once.
    unsafe {
        for o in [fc, generic, other] {
            sesame_outcome_free(o);
        }
        sesame_free(s);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ffi_uniform_claims_are_exposed_raw_and_encoded() {
    let o = allowed(
        "eidas1",
        &[("usual_name", "Œuvray"), ("given_name", "Élodie")],
    );
    let mut seen = Vec::new();
    // SAFETY: live outcome; out-parameters are local.
    unsafe {
        for i in 0..sesame_outcome_uniform_count(o) {
            let (mut n, mut v, mut h) = (EMPTY, EMPTY, EMPTY);
            assert_eq!(sesame_outcome_uniform(o, i, &mut n, &mut v, &mut h), 0);
            seen.push((text(n), text(v), text(h)));
        }
        sesame_outcome_free(o);
    }
    assert!(seen.contains(&("given_name".into(), "Élodie".into(), "%C3%89lodie".into())));
    assert!(seen.contains(&("family_name".into(), "Œuvray".into(), "%C5%92uvray".into())));
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
fn ffi_claim_rule_has_the_semantics_of_sesame_require() {
    let check_on = |o: *const SesameOutcome, name: &str, value: &str| {
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
    let o = allowed(
        "eidas1",
        &[
            // A JSON string whose text looks like an array: not an array.
            ("organization_label", r#""[\"DINUM\"]""#),
            ("email", "agent@fia1.fr"),
            ("email_verified", "true"),
        ],
    );
    assert_eq!(check_on(o, "organization_label", "DINUM"), 0);
    assert_eq!(check_on(o, "organization_label", r#"["DINUM"]"#), 1);
    assert_eq!(
        check_on(o, "email", "@fia1.fr"),
        1,
        "@domain as in sesame_require"
    );
    assert_eq!(check_on(o, "email", "@FIA1.fr"), 1);
    assert_eq!(check_on(o, "email", "@fia2.fr"), 0);
    let unverified = allowed(
        "eidas1",
        &[("email", "agent@fia1.fr"), ("email_verified", "false")],
    );
    assert_eq!(check_on(unverified, "email", "@fia1.fr"), 0);
    // SAFETY: created above, freed once.
    unsafe {
        sesame_outcome_free(o);
        sesame_outcome_free(unverified);
    }
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
