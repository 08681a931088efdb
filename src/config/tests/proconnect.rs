//! ProConnect presets and their cross-checks.

use super::*;

struct Files(std::path::PathBuf);

impl Files {
    fn new() -> Files {
        let dir = std::env::temp_dir().join(format!(
            "sesame-pc-config-{}-{}",
            std::process::id(),
            hex::encode(crate::session::random_bytes::<4>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("secret"), "0123456789abcdef0123456789abcdef\n").unwrap();
        std::fs::write(dir.join("client_secret"), "pc-secret\n").unwrap();
        Files(dir)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pc_builder(files: &Files, preset: &str, extra: &[(&str, &str)]) -> ConfigBuilder {
    let mut b = ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1:6379/0").unwrap();
    b.set_global("secret_file", &files.path("secret")).unwrap();
    b.add_provider("pc").unwrap();
    let secret = files.path("client_secret");
    let mut pairs = vec![
        ("preset", preset),
        ("client_id", "pc-client"),
        ("client_secret_file", secret.as_str()),
        ("redirect_uri", "https://www.example.fr/sesame/pc/callback"),
        (
            "post_logout_redirect_uri",
            "https://www.example.fr/sesame/pc/logged-out/",
        ),
    ];
    pairs.extend_from_slice(extra);
    for (k, v) in pairs {
        if !v.is_empty() {
            b.set_provider("pc", k, v).unwrap();
        }
    }
    b
}

fn err_of(b: ConfigBuilder) -> String {
    match b.validate() {
        Ok(_) => panic!("expected a configuration error"),
        Err(e) => e.to_string(),
    }
}

fn settings(b: ConfigBuilder) -> crate::oidc::OidcSettings {
    let (cfg, _) = b.validate().expect("valid configuration");
    cfg.providers.into_iter().next().unwrap().0.settings
}

#[test]
fn every_proconnect_environment_and_network_has_its_issuer() {
    let files = Files::new();
    for (preset, issuer) in [
        (
            "proconnect-integration",
            "https://fca.integ01.dev-agentconnect.fr/api/v2",
        ),
        (
            "proconnect-production",
            "https://auth.agentconnect.gouv.fr/api/v2",
        ),
        (
            "proconnect-integration-rie",
            "https://fca.integ02.agentconnect.rie.gouv.fr/api/v2",
        ),
        (
            "proconnect-production-rie",
            "https://auth.agentconnect.rie.gouv.fr/api/v2",
        ),
    ] {
        let s = settings(pc_builder(&files, preset, &[]));
        assert_eq!(s.issuer, issuer, "{preset}");
        assert_eq!(s.federation, crate::federation::Federation::ProConnect);
        assert!(s.pkce, "{preset}: PKCE S256 on");
        assert_eq!(s.userinfo, crate::oidc::UserinfoMode::SignedJwt);
        assert_eq!(
            s.scopes.join(" "),
            "openid given_name usual_name email uid siret idp_id"
        );
    }
}

#[test]
fn proconnect_needs_the_post_logout_redirect_uri() {
    let files = Files::new();
    let mut b = ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1:6379/0").unwrap();
    b.set_global("secret_file", &files.path("secret")).unwrap();
    b.add_provider("pc").unwrap();
    for (k, v) in [
        ("preset", "proconnect-integration"),
        ("client_id", "x"),
        ("client_secret_file", files.path("client_secret").as_str()),
        ("redirect_uri", "https://www.example.fr/cb"),
    ] {
        b.set_provider("pc", k, v).unwrap();
    }
    let msg = err_of(b);
    assert!(msg.contains("post_logout_redirect_uri"), "{msg}");
}

#[test]
fn proconnect_accepts_hs256_and_its_own_acr_values_only() {
    let files = Files::new();
    let s = settings(pc_builder(
        &files,
        "proconnect-integration",
        &[
            ("id_token_alg", "HS256"),
            ("acr_values", "eidas1 eidas1-mfa"),
        ],
    ));
    assert_eq!(s.id_token_alg, crate::oidc::SigningAlg::HS256);
    let b = pc_builder(
        &files,
        "proconnect-integration",
        &[(
            "acr_values",
            "https://proconnect.gouv.fr/assurance/self-asserted-2fa",
        )],
    );
    let msg = err_of(b);
    assert!(msg.contains("not a ProConnect level"), "{msg}");
}

#[test]
fn hs256_before_a_proconnect_preset_is_refused_at_once() {
    let mut b = ConfigBuilder::new();
    b.add_provider("pc").unwrap();
    let msg = b
        .set_provider("pc", "id_token_alg", "HS256")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("HS256 only"), "{msg}");
}

#[test]
fn proconnect_production_refuses_http_redirect_uris() {
    let files = Files::new();
    let b = pc_builder(&files, "proconnect-production", &[("redirect_uri", "")]);
    // redirect_uri already set to https by pc_builder: valid.
    assert!(b.validate().is_ok());
    let mut b = ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1:6379/0").unwrap();
    b.set_global("secret_file", &files.path("secret")).unwrap();
    b.add_provider("pc").unwrap();
    for (k, v) in [
        ("preset", "proconnect-production"),
        ("client_id", "x"),
        ("client_secret_file", files.path("client_secret").as_str()),
        ("redirect_uri", "http://www.example.fr/cb"),
        ("post_logout_redirect_uri", "https://www.example.fr/bye/"),
    ] {
        b.set_provider("pc", k, v).unwrap();
    }
    let msg = err_of(b);
    assert!(msg.contains("https"), "{msg}");
}
