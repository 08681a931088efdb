mod fcplus;
mod proconnect;

use super::*;
use std::path::PathBuf;

/// A temporary directory with a secret file and a client secret file.
struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(tag: &str) -> Files {
        let dir = std::env::temp_dir().join(format!(
            "sesame-config-{tag}-{}-{}",
            std::process::id(),
            hex::encode(crate::session::random_bytes::<4>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("secret"), "0123456789abcdef0123456789abcdef\n").unwrap();
        std::fs::write(dir.join("client_secret"), "  s3cr3t-value\n").unwrap();
        Files { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A complete FranceConnect integration configuration; `tweak` may change it before build.
fn fc_builder(files: &Files) -> ConfigBuilder {
    let mut b = ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1:6379/0").unwrap();
    b.set_global("secret_file", &files.path("secret")).unwrap();
    b.add_provider("fc").unwrap();
    for (k, v) in [
        ("preset", "franceconnect-integration"),
        ("client_id", "abc"),
        ("client_secret_file", &files.path("client_secret")),
        ("redirect_uri", "https://www.example.fr/sesame/callback"),
        (
            "post_logout_redirect_uri",
            "https://www.example.fr/sesame/logged-out",
        ),
    ] {
        b.set_provider("fc", k, v).unwrap();
    }
    b
}

fn err_of(r: Result<impl std::fmt::Debug, ConfigError>) -> String {
    r.expect_err("expected a configuration error").to_string()
}

fn provider_of(b: ConfigBuilder) -> ProviderConfig {
    let (cfg, _) = b.validate().expect("valid configuration");
    cfg.providers.into_iter().next().unwrap().0
}

#[test]
fn franceconnect_preset_sets_issuer_and_fixed_choices() {
    let files = Files::new("preset");
    let p = provider_of(fc_builder(&files));
    let s = &p.settings;
    assert_eq!(s.issuer, "https://fcp-low.sbx.dev-franceconnect.fr/api/v2");
    assert_eq!(
        s.discovery_url,
        "https://fcp-low.sbx.dev-franceconnect.fr/api/v2/.well-known/openid-configuration"
    );
    assert_eq!(s.federation, crate::federation::Federation::FranceConnect);
    assert_eq!(s.acr_values, vec!["eidas1"]);
    assert_eq!(s.id_token_alg, crate::oidc::SigningAlg::ES256);
    assert_eq!(s.userinfo, crate::oidc::UserinfoMode::SignedJwt);
    assert_eq!(s.token_auth, crate::oidc::TokenAuth::ClientSecretPost);
    assert!(!s.pkce);
    assert_eq!(s.scopes.join(" "), FC_DEFAULT_SCOPE);
    assert_eq!(
        s.client_secret, "s3cr3t-value",
        "secret file content is trimmed"
    );
    assert_eq!(p.logout_redirect, "/");
    assert_eq!(p.remote_user_claim, "sub");
    assert_eq!(s.http_timeout, Duration::from_secs(5));
}

#[test]
fn other_franceconnect_presets_have_their_issuers() {
    for (preset, issuer) in [
        (
            "franceconnect-integration-legacy",
            "https://fcp-low.integ01.dev-franceconnect.fr/api/v2",
        ),
        (
            "franceconnect-production",
            "https://oidc.franceconnect.gouv.fr/api/v2",
        ),
    ] {
        let files = Files::new("presets");
        let mut b = ConfigBuilder::new();
        b.set_global("redis", "redis://127.0.0.1/0").unwrap();
        b.set_global("secret_file", &files.path("secret")).unwrap();
        b.add_provider("fc").unwrap();
        b.set_provider("fc", "preset", preset).unwrap();
        b.set_provider("fc", "client_id", "abc").unwrap();
        b.set_provider("fc", "client_secret_file", &files.path("client_secret"))
            .unwrap();
        b.set_provider("fc", "redirect_uri", "https://a.fr/cb")
            .unwrap();
        b.set_provider("fc", "post_logout_redirect_uri", "https://a.fr/bye")
            .unwrap();
        assert_eq!(provider_of(b).settings.issuer, issuer);
    }
}

#[test]
fn issuer_directive_overrides_the_preset_issuer() {
    let files = Files::new("issuer");
    let mut b = fc_builder(&files);
    b.set_provider("fc", "issuer", "https://127.0.0.1:8443/api/v2")
        .unwrap();
    let p = provider_of(b);
    assert_eq!(p.settings.issuer, "https://127.0.0.1:8443/api/v2");
    assert_eq!(
        p.settings.discovery_url,
        "https://127.0.0.1:8443/api/v2/.well-known/openid-configuration"
    );
}

#[test]
fn missing_client_id_names_the_provider_and_directive() {
    let files = Files::new("client-id");
    let mut b = ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1/0").unwrap();
    b.set_global("secret_file", &files.path("secret")).unwrap();
    b.add_provider("fc").unwrap();
    b.set_provider("fc", "preset", "franceconnect-integration")
        .unwrap();
    let msg = err_of(b.build());
    assert!(
        msg.starts_with("sesame_provider \"fc\": client_id is missing"),
        "{msg}"
    );
}

#[test]
fn production_preset_requires_https_redirect_uri() {
    let files = Files::new("prod");
    let mut b = ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1/0").unwrap();
    b.set_global("secret_file", &files.path("secret")).unwrap();
    b.add_provider("fc").unwrap();
    b.set_provider("fc", "preset", "franceconnect-production")
        .unwrap();
    b.set_provider("fc", "client_id", "abc").unwrap();
    b.set_provider("fc", "client_secret_file", &files.path("client_secret"))
        .unwrap();
    b.set_provider("fc", "redirect_uri", "http://www.example.fr/cb")
        .unwrap();
    b.set_provider(
        "fc",
        "post_logout_redirect_uri",
        "https://www.example.fr/bye",
    )
    .unwrap();
    assert_eq!(
        err_of(b.build()),
        "sesame_provider \"fc\": redirect_uri must be https with preset franceconnect-production"
    );
}

#[test]
fn integration_preset_allows_http_redirect_uri() {
    let files = Files::new("integ-http");
    let mut b = ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1/0").unwrap();
    b.set_global("secret_file", &files.path("secret")).unwrap();
    b.add_provider("fc").unwrap();
    b.set_provider("fc", "preset", "franceconnect-integration")
        .unwrap();
    b.set_provider("fc", "client_id", "abc").unwrap();
    b.set_provider("fc", "client_secret_file", &files.path("client_secret"))
        .unwrap();
    b.set_provider("fc", "redirect_uri", "http://localhost:8080/cb")
        .unwrap();
    b.set_provider(
        "fc",
        "post_logout_redirect_uri",
        "http://localhost:8080/bye",
    )
    .unwrap();
    assert!(b.validate().is_ok());
}

#[test]
fn unknown_preset_lists_the_valid_ones() {
    let mut b = ConfigBuilder::new();
    b.add_provider("fc").unwrap();
    let msg = err_of(b.set_provider("fc", "preset", "x"));
    assert_eq!(
        msg,
        "sesame_provider \"fc\": unknown preset \"x\" (expected one of franceconnect-integration, \
         franceconnect-integration-legacy, franceconnect-production, \
         franceconnect-plus-integration, franceconnect-plus-production, generic, \
         proconnect-integration, proconnect-production, proconnect-integration-rie, \
         proconnect-production-rie)"
    );
}

#[test]
fn unreadable_client_secret_file_is_reported_with_its_path() {
    let files = Files::new("secret-missing");
    let mut b = fc_builder(&files);
    // Replace the provider with one whose secret file does not exist.
    b.providers.clear();
    b.add_provider("fc").unwrap();
    for (k, v) in [
        ("preset", "franceconnect-integration"),
        ("client_id", "abc"),
        ("client_secret_file", "/p"),
        ("redirect_uri", "https://www.example.fr/cb"),
        ("post_logout_redirect_uri", "https://www.example.fr/bye"),
    ] {
        b.set_provider("fc", k, v).unwrap();
    }
    assert_eq!(
        err_of(b.build()),
        "sesame_provider \"fc\": cannot read client_secret_file \"/p\": No such file or directory"
    );
}

#[test]
fn short_secret_file_is_refused() {
    let files = Files::new("short");
    std::fs::write(files.dir.join("short"), "too short\n").unwrap();
    let mut b = fc_builder(&files);
    b.secret_file = Some(files.path("short"));
    let msg = err_of(b.build());
    assert!(
        msg.contains("sesame_secret_file") && msg.contains("at least 32"),
        "{msg}"
    );
}

#[test]
fn missing_secret_file_and_redis_are_reported() {
    let files = Files::new("globals");
    let mut b = fc_builder(&files);
    b.secret_file = None;
    assert!(err_of(b.build()).starts_with("sesame_secret_file is missing"));
    let mut b = fc_builder(&files);
    b.redis = None;
    assert!(err_of(b.build()).starts_with("sesame_redis is missing"));
    let mut b = fc_builder(&files);
    b.secret_file = Some("/nonexistent/secret".into());
    assert_eq!(
        err_of(b.build()),
        "cannot read sesame_secret_file \"/nonexistent/secret\": No such file or directory"
    );
}

#[test]
fn franceconnect_preset_refuses_what_franceconnect_refuses() {
    let files = Files::new("fc-refuses");
    let cases: &[(&str, &str, &str)] = &[
        ("pkce", "on", "pkce on is refused by FranceConnect"),
        (
            "acr_values",
            "eidas2",
            "acr_values \"eidas2\" is refused by FranceConnect",
        ),
        (
            "required_acr",
            "eidas3",
            "required_acr \"eidas3\" can never be met",
        ),
        (
            "userinfo",
            "json",
            "userinfo json does not work with FranceConnect",
        ),
    ];
    for (key, value, expected) in cases {
        let mut b = fc_builder(&files);
        b.set_provider("fc", key, value).unwrap();
        let msg = err_of(b.build());
        assert!(
            msg.starts_with(&format!("sesame_provider \"fc\": {expected}")),
            "{key}: {msg}"
        );
    }
    // Missing post_logout_redirect_uri.
    let mut b = ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1/0").unwrap();
    b.set_global("secret_file", &files.path("secret")).unwrap();
    b.add_provider("fc").unwrap();
    b.set_provider("fc", "preset", "franceconnect-integration")
        .unwrap();
    b.set_provider("fc", "client_id", "abc").unwrap();
    b.set_provider("fc", "client_secret_file", &files.path("client_secret"))
        .unwrap();
    b.set_provider("fc", "redirect_uri", "https://a.fr/cb")
        .unwrap();
    let msg = err_of(b.build());
    assert!(
        msg.starts_with("sesame_provider \"fc\": post_logout_redirect_uri is missing"),
        "{msg}"
    );
}

#[test]
fn scope_without_openid_is_refused_at_once() {
    let mut b = ConfigBuilder::new();
    b.add_provider("fc").unwrap();
    let msg = err_of(b.set_provider("fc", "scope", "email profile"));
    assert!(
        msg.starts_with("sesame_provider \"fc\": scope \"email profile\" must contain openid"),
        "{msg}"
    );
}

#[test]
fn generic_preset_requires_an_issuer() {
    let files = Files::new("generic");
    let mut b = ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1/0").unwrap();
    b.set_global("secret_file", &files.path("secret")).unwrap();
    b.add_provider("kc").unwrap();
    b.set_provider("kc", "client_id", "abc").unwrap();
    b.set_provider("kc", "client_secret_file", &files.path("client_secret"))
        .unwrap();
    b.set_provider("kc", "redirect_uri", "http://localhost/cb")
        .unwrap();
    assert!(err_of(b.build()).starts_with("sesame_provider \"kc\": issuer is missing"));
}

#[test]
fn bad_values_and_unknown_or_duplicate_directives_are_refused_at_once() {
    let mut b = ConfigBuilder::new();
    assert_eq!(
        err_of(b.set_global("redis_timeout", "soon")),
        "sesame_redis_timeout \"soon\" is not a duration (write e.g. 500ms, 5s, 10m or 12h)"
    );
    assert!(err_of(b.set_global("redis", "http://x"))
        .contains("must be a redis://, rediss:// or unix:// URL"));
    let msg = err_of(b.set_global("redis", "redis://user:hunter2@127.0.0.1:70000/0"));
    assert!(
        !msg.contains("hunter2"),
        "the Redis password never appears in messages: {msg}"
    );
    assert!(err_of(b.set_global("bogus", "1")).starts_with("unknown directive \"sesame_bogus\""));
    b.set_global("session_cache", "0").unwrap();
    assert_eq!(
        err_of(b.set_global("session_cache", "5s")),
        "sesame_session_cache is duplicate (write it once)"
    );
    b.add_provider("fc").unwrap();
    assert!(err_of(b.add_provider("fc")).contains("is duplicate"));
    assert!(err_of(b.add_provider("bad name")).contains("the name must be"));
    assert!(err_of(b.set_provider("nope", "client_id", "x")).contains("is not declared"));
    assert!(err_of(b.set_provider("fc", "colour", "x"))
        .starts_with("sesame_provider \"fc\": unknown directive \"colour\""));
    b.set_provider("fc", "client_id", "x").unwrap();
    assert_eq!(
        err_of(b.set_provider("fc", "client_id", "y")),
        "sesame_provider \"fc\": client_id is duplicate (write it once per provider block)"
    );
    assert!(err_of(b.set_provider("fc", "redirect_uri", "/relative"))
        .contains("is not an absolute URL"));
    assert!(
        err_of(b.set_provider("fc", "id_token_alg", "HS256")).contains("expected ES256 or RS256")
    );
    assert!(err_of(b.set_provider("fc", "userinfo", "xml")).contains("expected jwt, json or off"));
    assert!(err_of(b.set_provider("fc", "pkce", "yes")).contains("expected on or off"));
    assert!(
        err_of(b.set_provider("fc", "logout_redirect", "//evil.example"))
            .contains("must be a local path")
    );
    assert!(err_of(b.set_provider("fc", "http_timeout", "0")).contains("greater than 0"));
}

#[test]
fn durations_are_applied_to_session_settings() {
    let files = Files::new("durations");
    let mut b = fc_builder(&files);
    b.set_global("session_cache", "0").unwrap();
    b.set_global("session_idle_timeout", "10m").unwrap();
    b.set_global("session_lifetime", "12h").unwrap();
    b.set_global("redis_timeout", "500ms").unwrap();
    let (cfg, _) = b.validate().unwrap();
    assert_eq!(cfg.session.cache_ttl, Duration::ZERO);
    assert_eq!(cfg.session.idle_timeout, Duration::from_secs(600));
    assert_eq!(cfg.session.lifetime, Duration::from_secs(43_200));
    assert_eq!(cfg.session.redis_timeout, Duration::from_millis(500));
}

#[test]
fn two_providers_cannot_share_a_callback_path() {
    let files = Files::new("clash");
    let mut b = fc_builder(&files);
    b.add_provider("fc2").unwrap();
    for (k, v) in [
        ("preset", "franceconnect-integration"),
        ("client_id", "abc"),
        ("client_secret_file", &files.path("client_secret")),
        ("redirect_uri", "https://other.example.fr/sesame/callback"),
        ("post_logout_redirect_uri", "https://other.example.fr/bye2"),
    ] {
        b.set_provider("fc2", k, v).unwrap();
    }
    let msg = err_of(b.build());
    assert!(
        msg.contains("path /sesame/callback is already used by sesame_provider \"fc\""),
        "{msg}"
    );
}

#[test]
fn redirect_uri_is_kept_byte_for_byte() {
    let files = Files::new("raw-uri");
    let mut b = ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1/0").unwrap();
    b.set_global("secret_file", &files.path("secret")).unwrap();
    b.add_provider("kc").unwrap();
    b.set_provider("kc", "issuer", "https://idp.example")
        .unwrap();
    b.set_provider("kc", "client_id", "abc").unwrap();
    b.set_provider("kc", "client_secret_file", &files.path("client_secret"))
        .unwrap();
    b.set_provider("kc", "redirect_uri", "https://APP.example:443/cb")
        .unwrap();
    assert_eq!(
        provider_of(b).settings.redirect_uri,
        "https://APP.example:443/cb"
    );
}

#[test]
fn build_without_providers_needs_no_redis() {
    assert!(ConfigBuilder::new().build().is_ok());
}

#[test]
fn unreadable_ca_file_is_reported_with_its_path() {
    let files = Files::new("ca");
    let mut b = fc_builder(&files);
    b.set_provider("fc", "ca_file", "/nonexistent/ca.pem")
        .unwrap();
    assert_eq!(
        err_of(b.build()),
        "sesame_provider \"fc\": cannot read ca_file \"/nonexistent/ca.pem\": No such file or directory"
    );
}
