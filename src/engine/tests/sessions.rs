//! Sessions across cores and logins: bound to the issuer and client_id that created them, and
//! ended when a new login of the same browser replaces them.

use super::*;

/// A second core sharing `rig`'s secret and store, with a provider of the same name `op` on
/// `issuer` and `client_id`.
fn core_sharing(rig: &Rig, cache: &str, issuer: &str, client_id: &str) -> (Sesame, Location) {
    core_with_secret(rig, "secret", cache, issuer, client_id)
}

/// As `core_sharing`, with the secret file `secret` of `rig`'s directory.
fn core_with_secret(
    rig: &Rig,
    secret: &str,
    cache: &str,
    issuer: &str,
    client_id: &str,
) -> (Sesame, Location) {
    let mut b = crate::ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1:1/0").unwrap();
    b.set_global("secret_file", &rig.dir.join(secret).to_string_lossy())
        .unwrap();
    b.set_global("session_cache", cache).unwrap();
    b.add_provider("op").unwrap();
    let secret = rig.dir.join("client_secret").to_string_lossy().into_owned();
    for (k, v) in [
        ("issuer", issuer),
        ("client_id", client_id),
        ("client_secret_file", &secret),
        ("redirect_uri", "https://app.example/sesame/callback"),
        ("id_token_alg", "ES256"),
        ("userinfo", "json"),
    ] {
        b.set_provider("op", k, v).unwrap();
    }
    let (config, _) = b.validate().unwrap();
    let sesame = Sesame::new(config, Box::new(Arc::clone(&rig.store))).unwrap();
    // A worker, as nginx and Apache start it: the revocation feed vouches for the cache.
    sesame.start_worker_and_wait();
    let protect = sesame
        .location(&LocationSpec {
            mode: LocationMode::Protect,
            provider: "op".into(),
            options: vec![],
        })
        .unwrap();
    (sesame, protect)
}

fn session_keys(rig: &Rig) -> Vec<String> {
    let mut keys: Vec<String> = rig
        .store
        .keys()
        .into_iter()
        .filter(|k| k.contains(":s:"))
        .collect();
    keys.sort();
    keys
}

#[test]
fn session_of_a_same_named_provider_on_another_issuer_or_client_id_opens_nothing() {
    for cache in ["0", "5s"] {
        let rig = rig(cache);
        let mut jar = Jar::default();
        rig.login("/private/", &mut jar);
        let cookie = jar.header();
        let other_op = super::provider::TestProvider::start();
        for (issuer, client_id) in [
            (other_op.issuer.as_str(), CLIENT_ID),
            (rig.op.issuer.as_str(), "another-client"),
        ] {
            let (other, protect) = core_sharing(&rig, cache, issuer, client_id);
            let step = other.begin(Some(&protect), &request("GET", "/private/", &cookie));
            let (location, _) = redirect(finish(step));
            assert!(
                location.starts_with(&format!("{issuer}/authorize?")),
                "cache {cache}, {issuer} / {client_id}: the foreign session must start a login, got {location}"
            );
        }
        // The same configuration on another core (another worker) still accepts it.
        let (same, protect) = core_sharing(&rig, cache, &rig.op.issuer, CLIENT_ID);
        let step = same.begin(Some(&protect), &request("GET", "/private/", &cookie));
        assert!(
            matches!(finish(step), Outcome::Allow(_)),
            "cache {cache}: same issuer and client_id"
        );
    }
}

#[test]
fn a_second_login_ends_the_session_the_browser_held() {
    for cache in ["0", "5s"] {
        let rig = rig(cache);
        let mut jar = Jar::default();
        rig.login("/private/", &mut jar);
        let first = jar.header();
        let first_keys = session_keys(&rig);
        assert_eq!(first_keys.len(), 1);
        // Logging in again with the session cookie still in the jar (a login started in
        // another tab, a login link) replaces the session.
        let mut other_tab = Jar::default();
        let callback = rig.start_login("/private/", &mut other_tab);
        jar.0.extend(other_tab.0);
        let (_, cookies) = redirect(finish(rig.get(None, &callback, &jar)));
        jar.apply(&cookies);
        let keys = session_keys(&rig);
        assert_eq!(
            keys.len(),
            1,
            "cache {cache}: only the new session is stored"
        );
        assert_ne!(keys, first_keys);
        let old = rig
            .sesame
            .begin(Some(&rig.protect), &request("GET", "/private/", &first));
        let (location, _) = redirect(finish(old));
        assert!(
            location.contains("/authorize?"),
            "cache {cache}: a copy of the old cookie opens nothing"
        );
        let new = rig.get(Some(&rig.protect), "/private/", &jar);
        assert!(matches!(finish(new), Outcome::Allow(_)));
    }
}

#[test]
fn cores_built_from_one_secret_are_told_apart_from_cores_with_their_own() {
    let rig = rig("5s");
    let (same_secret, _) = core_sharing(&rig, "5s", &rig.op.issuer, "another-client");
    assert!(rig.sesame.shares_secret_with(&same_secret));
    std::fs::write(
        rig.dir.join("secret2"),
        "another engine test secret of 32+ bytes",
    )
    .unwrap();
    let (own, _) = core_with_secret(&rig, "secret2", "5s", &rig.op.issuer, CLIENT_ID);
    assert!(!rig.sesame.shares_secret_with(&own));
    let empty = crate::ConfigBuilder::new().build().unwrap();
    assert!(
        !empty.shares_secret_with(&crate::ConfigBuilder::new().build().unwrap()),
        "cores without providers hold no secret"
    );
}
