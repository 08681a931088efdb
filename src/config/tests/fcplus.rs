//! FranceConnect+ presets, the site's own keys and their cross-checks.

use super::*;
use crate::oidc::{SigningAlg, TokenAuth};
use crate::site_keys::tests::KeyDir;
use crate::site_keys::GeneratedKind;

fn fault(b: ConfigBuilder) -> String {
    match b.validate() {
        Ok(_) => panic!("expected a configuration error"),
        Err(e) => e.to_string(),
    }
}

struct Site {
    keys: KeyDir,
    secret: String,
    client_secret: String,
    enc: String,
    sig: String,
}

fn site() -> Site {
    let keys = KeyDir::new("config-plus");
    let secret = keys.write("secret", b"0123456789abcdef0123456789abcdef\n", 0o600);
    let client_secret = keys.write("client_secret", b"plus-secret\n", 0o600);
    let enc = keys.key("enc.pem", GeneratedKind::Ec);
    let sig = keys.key("sig.pem", GeneratedKind::Ec);
    Site {
        keys,
        secret,
        client_secret,
        enc,
        sig,
    }
}

/// A complete FranceConnect+ integration block with `extra` (a "" value drops the key).
fn plus_builder(site: &Site, extra: &[(&str, &str)]) -> ConfigBuilder {
    let mut b = ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1:6379/0").unwrap();
    b.set_global("secret_file", &site.secret).unwrap();
    b.add_provider("fcp").unwrap();
    let secret = site.client_secret.clone();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("preset", "franceconnect-plus-integration"),
        ("client_id", "plus-client"),
        ("client_secret_file", secret.as_str()),
        (
            "redirect_uri",
            "https://www.example.fr/sesame/plus/callback",
        ),
        (
            "post_logout_redirect_uri",
            "https://www.example.fr/sesame/plus/logged-out",
        ),
        ("encryption_key_file", site.enc.as_str()),
        ("jwks_uri", "https://www.example.fr/sesame/jwks"),
    ];
    for (k, v) in extra {
        pairs.retain(|(key, _)| key != k);
        pairs.push((k, v));
    }
    for (k, v) in pairs {
        if !v.is_empty() {
            b.set_provider("fcp", k, v).unwrap();
        }
    }
    b
}

#[test]
fn franceconnect_plus_preset_sets_its_issuer_levels_and_short_sessions() {
    let s = site();
    let (cfg, _) = plus_builder(&s, &[]).validate().unwrap();
    let p = &cfg.providers[0].0.settings;
    assert_eq!(p.issuer, "https://auth.integ01.dev-franceconnect.fr/api/v2");
    assert_eq!(
        p.federation,
        crate::federation::Federation::FranceConnectPlus
    );
    assert_eq!(p.acr_values, vec!["eidas2"]);
    assert_eq!(p.id_token_alg, SigningAlg::ES256);
    assert!(!p.pkce);
    assert!(p.site_keys.encrypts());
    assert_eq!(cfg.session.idle_timeout, Duration::from_secs(600));
    // An idle timeout written wins.
    let mut b = plus_builder(&s, &[]);
    b.set_global("session_idle_timeout", "5m").unwrap();
    assert_eq!(
        b.validate().unwrap().0.session.idle_timeout,
        Duration::from_secs(300)
    );

    let (cfg, _) = plus_builder(&s, &[("preset", "franceconnect-plus-production")])
        .validate()
        .unwrap();
    assert_eq!(
        cfg.providers[0].0.settings.issuer,
        "https://auth.franceconnect.gouv.fr/api/v2"
    );
}

#[test]
fn franceconnect_plus_refuses_what_it_would_refuse_at_login() {
    let s = site();
    for (extra, needle) in [
        (
            ("acr_values", "eidas1"),
            "acr_values \"eidas1\" is refused by FranceConnect+",
        ),
        (
            ("id_token_alg", "RS256"),
            "id_token_alg RS256 is refused by FranceConnect+",
        ),
        (("pkce", "on"), "pkce on is refused by FranceConnect+"),
        (
            ("required_acr", "eidas1"),
            "required_acr \"eidas1\" can never be met",
        ),
        (
            ("encryption_key_file", ""),
            "encryption_key_file is missing",
        ),
        (("jwks_uri", ""), "jwks_uri is missing"),
        (
            ("post_logout_redirect_uri", ""),
            "post_logout_redirect_uri is missing",
        ),
        (
            ("userinfo", "json"),
            "userinfo json does not work with FranceConnect+",
        ),
    ] {
        let msg = fault(plus_builder(&s, &[extra]));
        assert!(msg.contains(needle), "{extra:?}: {msg}");
        assert!(msg.starts_with("sesame_provider \"fcp\": "), "{msg}");
    }
    // eidas3 alone, or both levels, are fine.
    assert!(plus_builder(&s, &[("acr_values", "eidas3")])
        .validate()
        .is_ok());
    assert!(plus_builder(&s, &[("acr_values", "eidas2 eidas3")])
        .validate()
        .is_ok());
}

#[test]
fn key_file_faults_name_the_directive_and_the_file() {
    let s = site();
    let open = s
        .keys
        .write("open.pem", &std::fs::read(&s.enc).unwrap(), 0o644);
    let msg = fault(plus_builder(&s, &[("encryption_key_file", &open)]));
    assert!(
        msg.contains(&format!(
            "encryption_key_file \"{open}\" is readable by group or others"
        )),
        "{msg}"
    );
    let rotation = format!("{} {}", s.enc, open);
    let msg = fault(plus_builder(&s, &[("encryption_key_file", &rotation)]));
    assert!(msg.contains("is readable by group or others"), "{msg}");
    let msg = fault(plus_builder(&s, &[("encryption_alg", "RSA-OAEP")]));
    assert!(msg.contains("needs an RSA key"), "{msg}");
    let msg = err_of(ConfigBuilder::new().set_provider("x", "encryption_alg", "A256KW"));
    assert!(!msg.is_empty());
}

#[test]
fn rotation_publishes_every_key_and_the_first_is_current() {
    let s = site();
    let old = s.keys.key("old.pem", GeneratedKind::Rsa);
    let both = format!("{} {old}", s.enc);
    let (cfg, _) = plus_builder(&s, &[("encryption_key_file", &both)])
        .validate()
        .unwrap();
    let keys = &cfg.providers[0].0.settings.site_keys;
    assert_eq!(keys.enc.len(), 2);
    assert_eq!(keys.enc[0].alg.name(), "ECDH-ES");
    assert_eq!(keys.enc[1].alg.name(), "RSA-OAEP-256");
}

#[test]
fn private_key_jwt_needs_its_key_and_no_client_secret() {
    let s = site();
    let (cfg, _) = plus_builder(
        &s,
        &[
            ("token_auth", "private_key_jwt"),
            ("client_signing_key_file", s.sig.as_str()),
            ("client_secret_file", ""),
        ],
    )
    .validate()
    .unwrap();
    let p = &cfg.providers[0].0.settings;
    assert_eq!(p.token_auth, TokenAuth::PrivateKeyJwt);
    assert!(p.client_secret.is_empty());
    assert!(p.site_keys.jwks_json().contains("\"use\":\"sig\""));

    let msg = fault(plus_builder(&s, &[("token_auth", "private_key_jwt")]));
    assert!(
        msg.contains("token_auth private_key_jwt needs client_signing_key_file"),
        "{msg}"
    );
    let msg = fault(plus_builder(
        &s,
        &[("client_signing_key_file", s.sig.as_str())],
    ));
    assert!(
        msg.contains("client_signing_key_file is only used with token_auth private_key_jwt"),
        "{msg}"
    );
    let msg = fault(plus_builder(&s, &[("client_secret_file", "")]));
    assert!(msg.contains("client_secret_file is missing"), "{msg}");
}

#[test]
fn franceconnect_plus_signs_client_assertions_with_es256_only() {
    let s = site();
    let rsa = s.keys.key("sig-rsa.pem", GeneratedKind::Rsa);
    let with_rsa = [
        ("token_auth", "private_key_jwt"),
        ("client_signing_key_file", rsa.as_str()),
        ("client_secret_file", ""),
    ];
    let msg = fault(plus_builder(&s, &with_rsa));
    assert!(
        msg.contains("is a key for RS256: the federation accepts client assertions signed with ES256 only with preset franceconnect-plus-integration"),
        "{msg}"
    );
    assert!(msg.contains(&rsa), "names the file: {msg}");
    // FranceConnect itself takes an RS256 assertion.
    let mut fc = ConfigBuilder::new();
    fc.set_global("redis", "redis://127.0.0.1:6379/0").unwrap();
    fc.set_global("secret_file", &s.secret).unwrap();
    fc.add_provider("fc").unwrap();
    for (k, v) in [
        ("preset", "franceconnect-integration"),
        ("client_id", "fc-client"),
        ("redirect_uri", "https://www.example.fr/sesame/callback"),
        ("post_logout_redirect_uri", "https://www.example.fr/bye"),
        ("token_auth", "private_key_jwt"),
        ("client_signing_key_file", rsa.as_str()),
    ] {
        fc.set_provider("fc", k, v).unwrap();
    }
    let (cfg, _) = fc.validate().unwrap();
    let sig = cfg.providers[0].0.settings.site_keys.sig.as_ref();
    assert_eq!(sig.map(|k| k.alg.name()), Some("RS256"));
}

#[test]
fn franceconnect_plus_refuses_a_localhost_redirect_uri_even_in_integration() {
    let s = site();
    for host in ["localhost", "www.localhost"] {
        let msg = fault(plus_builder(
            &s,
            &[
                (
                    "redirect_uri",
                    &format!("https://{host}:8443/sesame/plus/callback"),
                ),
                (
                    "post_logout_redirect_uri",
                    &format!("https://{host}:8443/bye"),
                ),
            ],
        ));
        assert!(
            msg.contains(
                "redirect_uri on localhost is refused by FranceConnect+, in integration too"
            ),
            "{host}: {msg}"
        );
    }
    // A loopback address is not the name the federation refuses.
    assert!(plus_builder(
        &s,
        &[
            (
                "redirect_uri",
                "https://127.0.0.1:8443/sesame/plus/callback"
            ),
            ("post_logout_redirect_uri", "https://127.0.0.1:8443/bye"),
        ],
    )
    .validate()
    .is_ok());
}

#[test]
fn jwks_uri_cannot_take_another_endpoint_path_and_must_publish_a_key() {
    let s = site();
    let msg = fault(plus_builder(
        &s,
        &[("jwks_uri", "https://www.example.fr/sesame/plus/callback")],
    ));
    assert!(
        msg.contains("jwks_uri must have a different path than redirect_uri"),
        "{msg}"
    );
    let msg = fault(fc_generic_with_jwks(&s));
    assert!(msg.contains("would publish no key"), "{msg}");
}

fn fc_generic_with_jwks(s: &Site) -> ConfigBuilder {
    let mut b = ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1:6379/0").unwrap();
    b.set_global("secret_file", &s.secret).unwrap();
    b.add_provider("g").unwrap();
    for (k, v) in [
        ("issuer", "https://idp.example/realms/x".to_owned()),
        ("client_id", "g".to_owned()),
        ("client_secret_file", s.client_secret.clone()),
        (
            "redirect_uri",
            "https://www.example.fr/g/callback".to_owned(),
        ),
        ("jwks_uri", "https://www.example.fr/g/jwks".to_owned()),
    ] {
        b.set_provider("g", k, &v).unwrap();
    }
    b
}
