//! The federations' rules: acr ordering and sets, MFA facts, the id_token's acr floor.

use serde_json::json;

use super::*;

fn v(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn pc_identity(acr: &str, mfa: bool) -> Identity {
    crate::claims::identity("pc", "i", "s", acr, &serde_json::Map::new(), "sub")
        .with_login_facts(mfa, Federation::ProConnect)
}

/// `check_returned_acr` with a provider block's `acr_values` and `required_acr`.
fn check(
    federation: Federation,
    acr_values: &[&str],
    required_acr: Option<&str>,
    got: Option<&str>,
) -> Result<String, AcrShortfall> {
    check_returned_acr(federation, &v(acr_values), required_acr, got)
}

#[test]
fn franceconnect_levels_are_ordered() {
    let fc = Federation::FranceConnect;
    assert!(acr_satisfies(fc, &v(&["eidas2"]), "eidas2"));
    assert!(acr_satisfies(fc, &v(&["eidas2"]), "eidas3"));
    assert!(!acr_satisfies(fc, &v(&["eidas2"]), "eidas1"));
    assert!(acr_satisfies(fc, &v(&["eidas1"]), "eidas3"));
    assert!(!acr_satisfies(fc, &v(&["eidas1"]), "eidas0"));
    assert!(acr_satisfies(fc, &[], "anything"));
}

#[test]
fn proconnect_values_are_a_set_not_an_order() {
    let pc = Federation::ProConnect;
    let mfa = v(PC_MFA_ACR_VALUES);
    assert!(acr_satisfies(pc, &mfa, "eidas1-mfa"));
    assert!(acr_satisfies(pc, &mfa, "eidas3"));
    assert!(!acr_satisfies(pc, &mfa, "eidas1"));
    // eidas3 is "higher" than eidas1 but not in the set asked for.
    assert!(!acr_satisfies(pc, &v(&["eidas1"]), "eidas3"));
    let dirigeant = "https://proconnect.gouv.fr/assurance/certification-dirigeant";
    assert!(acr_satisfies(pc, &v(&[dirigeant]), dirigeant));
    assert!(!acr_satisfies(pc, &v(&[dirigeant]), "eidas3"));
}

#[test]
fn mfa_is_asked_only_when_every_value_is_multi_factor() {
    assert!(asks_mfa(&v(PC_MFA_ACR_VALUES)));
    assert!(asks_mfa(&v(&["eidas2"])));
    assert!(!asks_mfa(&v(&["eidas1", "eidas1-mfa"])));
    assert!(!asks_mfa(&[]));
}

#[test]
fn amr_second_factor_needs_two_factor_classes_or_mfa() {
    assert_eq!(amr_has_second_factor(Some(&json!(["pwd"]))), Some(false));
    assert_eq!(
        amr_has_second_factor(Some(&json!(["pwd", "pin"]))),
        Some(false)
    );
    assert_eq!(
        amr_has_second_factor(Some(&json!(["pwd", "mail"]))),
        Some(true)
    );
    assert_eq!(amr_has_second_factor(Some(&json!(["mfa"]))), Some(true));
    assert_eq!(amr_has_second_factor(Some(&json!([]))), None);
    assert_eq!(amr_has_second_factor(None), None);
}

#[test]
fn mfa_location_needs_the_second_factor_verified_at_login_not_just_the_acr() {
    let pc = Federation::ProConnect;
    let mfa = v(PC_MFA_ACR_VALUES);
    assert!(level_met(pc, &mfa, &pc_identity("eidas1-mfa", true)));
    assert!(
        !level_met(pc, &mfa, &pc_identity("eidas1-mfa", false)),
        "an MFA acr whose login did not prove a second factor is not MFA"
    );
    // A location that does not ask for MFA only looks at the acr.
    assert!(level_met(
        pc,
        &v(&["eidas1", "eidas1-mfa"]),
        &pc_identity("eidas1-mfa", false)
    ));
    assert!(!level_met(pc, &mfa, &pc_identity("eidas1", true)));
}

#[test]
fn login_proves_mfa_only_with_an_mfa_acr_and_an_amr_that_agrees() {
    assert!(proves_mfa("eidas1-mfa", Some(&json!(["pwd", "mail"]))));
    assert!(!proves_mfa("eidas1-mfa", Some(&json!(["pwd"]))));
    assert!(proves_mfa("eidas2", None), "no amr: the acr alone decides");
    assert!(!proves_mfa("eidas1", Some(&json!(["pwd", "otp"]))));
}

#[test]
fn mfa_shortcut_expands_only_for_proconnect() {
    assert_eq!(
        expand_acr(Federation::ProConnect, ["mfa"]),
        v(PC_MFA_ACR_VALUES)
    );
    assert_eq!(expand_acr(Federation::Generic, ["mfa"]), v(&["mfa"]));
}

#[test]
fn franceconnect_accepts_equal_or_higher_eidas_levels() {
    let fc = Federation::FranceConnect;
    assert_eq!(
        check(fc, &["eidas1"], None, Some("eidas1")).unwrap(),
        "eidas1"
    );
    assert_eq!(
        check(fc, &["eidas1"], None, Some("eidas3")).unwrap(),
        "eidas3"
    );
}

#[test]
fn franceconnect_refuses_unknown_or_missing_acr() {
    let fc = Federation::FranceConnect;
    for got in [Some("eidas0"), Some("eidas1-mfa"), None] {
        assert_eq!(
            check(fc, &["eidas1"], None, got),
            Err(AcrShortfall {
                got: got.unwrap_or_default().into(),
                required: "eidas1".into()
            })
        );
    }
}

#[test]
fn required_acr_raises_the_bar_above_acr_values() {
    let fc = Federation::FranceConnect;
    assert!(check(fc, &["eidas1"], Some("eidas2"), Some("eidas1")).is_err());
    assert!(check(fc, &["eidas1"], Some("eidas2"), Some("eidas2")).is_ok());
}

#[test]
fn generic_without_requirement_accepts_any_acr() {
    let generic = Federation::Generic;
    assert_eq!(check(generic, &[], None, Some("eidas0")).unwrap(), "eidas0");
    assert_eq!(check(generic, &[], None, None).unwrap(), "");
}

#[test]
fn generic_with_required_acr_needs_that_value() {
    let generic = Federation::Generic;
    assert!(check(generic, &[], Some("eidas1-mfa"), Some("eidas1")).is_err());
    assert!(check(generic, &[], Some("eidas1-mfa"), Some("eidas1-mfa")).is_ok());
}

/// The location options a federation cannot carry, refused with its reason, the others taken.
#[test]
fn each_federation_refuses_the_location_options_it_cannot_carry() {
    use crate::policy::LocationRules;
    let parse = |federation: Federation, key: &str, value: &str| {
        LocationRules::parse(federation, &[(key.to_owned(), value.to_owned())])
            .map(|_| ())
            .map_err(|fault| fault.message)
    };
    let fc = Federation::FranceConnect;
    let refused = parse(fc, "prompt", "none").unwrap_err();
    assert!(
        refused.contains("none is refused by FranceConnect (no silent login"),
        "{refused}"
    );
    assert!(parse(fc, "prompt", "login").is_ok());
    for key in ["login_hint", "siret_hint"] {
        let refused = parse(fc, key, "agent@ministere.gouv.fr").unwrap_err();
        assert!(
            refused.contains("is refused by FranceConnect (not in its parameter whitelist"),
            "{refused}"
        );
    }
    assert!(parse(fc, "idp_hint", "fia1v2").is_ok());

    let pc = Federation::ProConnect;
    assert!(parse(pc, "prompt", "none").is_ok());
    assert!(parse(pc, "login_hint", "agent@ministere.gouv.fr").is_ok());
    assert!(parse(pc, "siret_hint", "21750001600019").is_ok());

    let generic = Federation::Generic;
    assert!(parse(generic, "prompt", "none").is_ok());
    assert!(parse(generic, "login_hint", "agent@ministere.gouv.fr").is_ok());
    let refused = parse(generic, "siret_hint", "21750001600019").unwrap_err();
    assert!(
        refused.contains("only exists at ProConnect, not at"),
        "{refused}"
    );
}

#[test]
fn franceconnect_plus_levels_are_ordered_and_eidas1_is_not_one() {
    let fcp = Federation::FranceConnectPlus;
    assert!(acr_satisfies(fcp, &v(&["eidas2"]), "eidas3"));
    assert!(acr_satisfies(fcp, &v(&["eidas3"]), "eidas3"));
    assert!(!acr_satisfies(fcp, &v(&["eidas3"]), "eidas2"));
    assert!(!acr_satisfies(fcp, &v(&["eidas2"]), "eidas1"));
    let rules = rules(fcp);
    assert!(rules
        .check_location_acr("sesame_acr", &v(&["eidas3"]))
        .is_ok());
    let msg = rules
        .check_location_acr("sesame_acr", &v(&["eidas1"]))
        .unwrap_err();
    assert!(
        msg.contains("FranceConnect+ only delivers eidas2 and eidas3"),
        "{msg}"
    );
    // The id_token must reach the lowest level asked, eidas2 when nothing is written.
    assert_eq!(check(fcp, &[], None, Some("eidas2")), Ok("eidas2".into()));
    assert_eq!(
        check(fcp, &["eidas2"], None, Some("eidas3")),
        Ok("eidas3".into())
    );
    assert!(check(fcp, &["eidas3"], None, Some("eidas2")).is_err());
    assert!(check(fcp, &["eidas2"], None, Some("eidas1")).is_err());
    assert!(check(fcp, &["eidas2"], None, None).is_err());
}

#[test]
fn franceconnect_plus_always_sends_acr_values_and_only_whitelisted_parameters() {
    let rules = rules(Federation::FranceConnectPlus);
    let options = LoginOptions::default();
    let sent = |provider: &[&str], options: &LoginOptions| {
        rules.authorize_params(&AuthorizeRequest {
            provider_acr: &v(provider),
            options,
            pkce_challenge: Some("challenge-never-sent"),
        })
    };
    assert_eq!(
        sent(&[], &options),
        vec![("acr_values", "eidas2".to_owned())]
    );
    assert_eq!(
        sent(&["eidas3"], &options),
        vec![("acr_values", "eidas3".to_owned())]
    );
    // A location's own level is what its login asks; prompt=login and idp_hint pass.
    let step_up = LoginOptions {
        acr: v(&["eidas3"]),
        prompt: Some("login".into()),
        idp_hint: Some("fia1v2".into()),
        ..LoginOptions::default()
    };
    let pairs = sent(&["eidas2"], &step_up);
    assert_eq!(
        pairs,
        vec![
            ("acr_values", "eidas3".to_owned()),
            ("prompt", "login".to_owned()),
            ("idp_hint", "fia1v2".to_owned()),
        ]
    );
    for (key, value) in [
        ("prompt", "none"),
        ("login_hint", "a@b.fr"),
        ("siret_hint", "1"),
    ] {
        let msg = rules.check_location_option(key, value, key).unwrap_err();
        assert!(msg.contains("FranceConnect+"), "{msg}");
    }
}
