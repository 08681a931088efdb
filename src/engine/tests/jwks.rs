//! The site's JWKS at `jwks_uri`: answered by `begin` without I/O, wherever it falls.

use super::*;
use crate::site_keys::tests::KeyDir;
use crate::site_keys::GeneratedKind;

fn sesame_with_jwks() -> (Sesame, KeyDir) {
    let dir = KeyDir::new("engine-jwks");
    let secret = dir.write("secret", b"an engine test secret of 32+ bytes!", 0o600);
    let client_secret = dir.write("client_secret", b"client-secret", 0o600);
    let enc = dir.key("enc.pem", GeneratedKind::Ec);
    let mut b = crate::ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1:1/0").unwrap();
    b.set_global("secret_file", &secret).unwrap();
    b.add_provider("op").unwrap();
    for (k, v) in [
        ("issuer", "https://op.example/api/v2"),
        ("client_id", "c"),
        ("client_secret_file", client_secret.as_str()),
        ("redirect_uri", "https://app.example/sesame/callback"),
        ("jwks_uri", "https://app.example/.well-known/sesame-jwks"),
        ("encryption_key_file", enc.as_str()),
    ] {
        b.set_provider("op", k, v).unwrap();
    }
    let (config, _) = b.validate().unwrap();
    let sesame = Sesame::new(config, Box::new(MemoryStore::new())).unwrap();
    (sesame, dir)
}

fn request<'a>(method: &'a str, uri: &'a str) -> Request<'a> {
    Request {
        method,
        scheme: "https",
        host: "app.example",
        uri,
        ..Request::default()
    }
}

#[test]
fn jwks_uri_is_answered_from_begin_in_any_location() {
    let (sesame, _dir) = sesame_with_jwks();
    // No location of Sesame's (None) and the path of jwks_uri, with a query added.
    for uri in ["/.well-known/sesame-jwks", "/.well-known/sesame-jwks?x=1"] {
        let Step::Done(Outcome::Page(page)) = sesame.begin(None, &request("GET", uri)) else {
            panic!("expected the JWKS page at once");
        };
        assert_eq!(page.status, 200);
        assert_eq!(page.content_type, "application/json");
        let jwks: serde_json::Value = serde_json::from_str(&page.body).unwrap();
        assert_eq!(jwks["keys"][0]["use"], "enc");
        assert_eq!(jwks["keys"][0]["alg"], "ECDH-ES");
        assert!(jwks["keys"][0].get("d").is_none());
        assert!(page
            .headers
            .iter()
            .any(|(k, v)| k == "Cache-Control" && v.contains("max-age")));
    }
    let Step::Done(Outcome::Page(page)) =
        sesame.begin(None, &request("POST", "/.well-known/sesame-jwks"))
    else {
        panic!("expected a page");
    };
    assert_eq!(page.status, 405);
    assert!(matches!(
        sesame.begin(None, &request("GET", "/.well-known/other")),
        Step::Done(Outcome::Decline)
    ));
}
