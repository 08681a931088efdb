//! FranceConnect+: id_token and userinfo encrypted to the site (JWE around the JWS), every
//! refusal of the header and of the key choice, and private_key_jwt client assertions.

use josekit::jwe::{JweHeader, ECDH_ES, RSA_OAEP_256};
use josekit::jwk::Jwk;
use serde_json::{json, Map, Value};

use super::support::*;
use super::*;
use crate::site_keys::tests::KeyDir;
use crate::site_keys::{EncAlg, GeneratedKind, SiteKeys};

struct Plus {
    f: Fixture,
    keys: std::sync::Arc<SiteKeys>,
    _dir: KeyDir,
}

/// A FranceConnect+ client with an EC and an RSA encryption key (RSA for `rsa_alg`) and an
/// EC signing key, against the canned provider.
fn plus(rsa_alg: EncAlg, tweak: impl FnOnce(&mut OidcSettings)) -> Plus {
    let dir = KeyDir::new("oidc-plus");
    let ec = dir.key("enc-ec.pem", GeneratedKind::Ec);
    let rsa = dir.key("enc-rsa.pem", GeneratedKind::Rsa);
    let sig = dir.key("sig.pem", GeneratedKind::Ec);
    let alg_rsa = SiteKeys::load(std::slice::from_ref(&rsa), Some(rsa_alg), None).unwrap();
    let mut keys = SiteKeys::load(&[ec], None, Some(&sig)).unwrap();
    keys.enc.extend(alg_rsa.enc);
    let keys = std::sync::Arc::new(keys);
    let shared = keys.clone();
    let f = fixture(Federation::FranceConnectPlus, SigningAlg::ES256, move |s| {
        s.site_keys = shared;
        s.userinfo = UserinfoMode::SignedJwt;
        tweak(s);
    });
    Plus { f, keys, _dir: dir }
}

fn jwk_of(map: &Map<String, Value>) -> Jwk {
    Jwk::from_map(map.clone()).unwrap()
}

/// Encrypts `inner` to the site key `index` with `alg` and a header edited by `edit`.
fn seal_with(
    keys: &SiteKeys,
    index: usize,
    alg: &str,
    inner: &str,
    edit: impl FnOnce(&mut JweHeader),
) -> String {
    let key = &keys.enc[index];
    // Without its kid: the encrypter would otherwise write it into every header.
    let mut public = key.public_jwk.clone();
    public.remove("kid");
    let jwk = jwk_of(&public);
    let mut header = JweHeader::new();
    header.set_content_encryption("A256GCM");
    header.set_content_type("JWT");
    header.set_key_id(&key.kid);
    edit(&mut header);
    let mut plain_jwk = jwk.clone();
    plain_jwk.set_algorithm(alg);
    match alg {
        "ECDH-ES" => josekit::jwe::serialize_compact(
            inner.as_bytes(),
            &header,
            &ECDH_ES.encrypter_from_jwk(&plain_jwk).unwrap(),
        ),
        "RSA-OAEP-256" => josekit::jwe::serialize_compact(
            inner.as_bytes(),
            &header,
            &RSA_OAEP_256.encrypter_from_jwk(&plain_jwk).unwrap(),
        ),
        _ => {
            #[allow(deprecated)]
            let enc = josekit::jwe::RSA_OAEP
                .encrypter_from_jwk(&plain_jwk)
                .unwrap();
            josekit::jwe::serialize_compact(inner.as_bytes(), &header, &enc)
        }
    }
    .unwrap()
}

/// `token` with its protected header edited (which breaks its tag: never decrypted).
fn rewrite_header(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let (head, rest) = token.split_once('.').unwrap();
    let mut header: Value =
        serde_json::from_slice(&super::super::util::b64url_decode(head).unwrap()).unwrap();
    edit(&mut header);
    format!(
        "{}.{rest}",
        super::super::util::b64url(header.to_string().as_bytes())
    )
}

fn seal(keys: &SiteKeys, index: usize, inner: &str) -> String {
    let alg = keys.enc[index].alg.name();
    seal_with(keys, index, alg, inner, |_| {})
}

impl Plus {
    fn id_token(&self) -> String {
        self.f.id_token(|c| c["acr"] = json!("eidas2"))
    }

    fn userinfo(&self, index: usize) -> Canned {
        let mut claims = self.f.op.userinfo_claims();
        claims["given_name"] = json!("Angela Claire Louise");
        Canned::jwt(&seal(&self.keys, index, &self.f.key.sign(&claims)))
    }
}

#[test]
fn each_algorithm_decrypts_the_id_token_and_userinfo() {
    for rsa_alg in [EncAlg::RsaOaep256, EncAlg::RsaOaep] {
        let p = plus(rsa_alg, |_| {});
        for index in [0, 1] {
            let inner = p.id_token();
            let r =
                p.f.login(&seal(&p.keys, index, &inner), p.userinfo(index))
                    .unwrap_or_else(|e| panic!("{} {e}", p.keys.enc[index].alg.name()));
            assert_eq!(r.acr, "eidas2");
            assert_eq!(r.claims["given_name"], "Angela Claire Louise");
            // Kept for logout: the signed JWT the provider can verify, not its JWE.
            assert_eq!(r.id_token, inner);
        }
    }
}

#[test]
fn a_plain_jws_is_refused_when_encryption_is_configured() {
    let p = plus(EncAlg::RsaOaep256, |_| {});
    let plain = p.id_token();
    invalid_token(p.f.login(&plain, p.userinfo(0)), "is a plain signed JWT");
    // userinfo too, with an encrypted id_token.
    let claims = p.f.op.userinfo_claims();
    let r = p.f.login(
        &seal(&p.keys, 0, &p.id_token()),
        Canned::jwt(&p.f.key.sign(&claims)),
    );
    invalid_token(r, "userinfo JWT: is a plain signed JWT");
}

#[test]
fn header_and_key_choice_refusals_name_their_cause() {
    let p = plus(EncAlg::RsaOaep256, |_| {});
    let inner = p.id_token();
    let cases: Vec<(String, &str)> = vec![
        // RSA-OAEP to a key registered for RSA-OAEP-256.
        (
            seal_with(&p.keys, 1, "RSA-OAEP", &inner, |_| {}),
            "JWE alg RSA-OAEP but the site's key",
        ),
        (
            seal_with(&p.keys, 0, "ECDH-ES", &inner, |h| {
                h.set_content_encryption("A128GCM")
            }),
            "JWE enc \"A128GCM\" is not A256GCM",
        ),
        (
            seal_with(&p.keys, 0, "ECDH-ES", &inner, |h| h.set_compression("DEF")),
            "asks for compression (zip)",
        ),
        (
            seal_with(&p.keys, 0, "ECDH-ES", &inner, |h| {
                h.set_claim("kid", None).unwrap()
            }),
            "JWE header has no kid",
        ),
        (
            seal_with(&p.keys, 0, "ECDH-ES", &inner, |h| h.set_key_id("old-key")),
            "JWE kid \"old-key\" is none of the site's encryption keys",
        ),
        (
            seal_with(&p.keys, 0, "ECDH-ES", &inner, |h| {
                h.set_key_id(&p.keys.sig.as_ref().unwrap().kid)
            }),
            "is the site's signing key (use sig)",
        ),
        (
            seal_with(&p.keys, 0, "ECDH-ES", &inner, |h| {
                h.set_content_type("json")
            }),
            "JWE cty \"json\" is not JWT",
        ),
        (
            // The header rewritten after encryption (the check comes before any decryption).
            rewrite_header(&seal(&p.keys, 0, &inner), |h| h["alg"] = json!("dir")),
            "JWE alg \"dir\" is not one of",
        ),
    ];
    for (token, needle) in cases {
        invalid_token(p.f.login(&token, p.userinfo(0)), needle);
    }
}

#[test]
fn a_token_encrypted_to_another_key_under_our_kid_does_not_decrypt() {
    let p = plus(EncAlg::RsaOaep256, |_| {});
    let other = plus(EncAlg::RsaOaep256, |_| {});
    let inner = p.id_token();
    let token = seal_with(&other.keys, 0, "ECDH-ES", &inner, |h| {
        h.set_key_id(&p.keys.enc[0].kid)
    });
    invalid_token(
        p.f.login(&token, p.userinfo(0)),
        "does not decrypt with the site's key",
    );
}

#[test]
fn inner_jws_signed_with_the_wrong_key_or_algorithm_is_refused() {
    let p = plus(EncAlg::RsaOaep256, |_| {});
    let claims = p.f.op.id_claims(&p.f.params.nonce);
    let foreign = TestKey::es256(&p.f.key.kid).sign(&claims);
    invalid_token(
        p.f.login(&seal(&p.keys, 0, &foreign), p.userinfo(0)),
        "signature does not verify",
    );
    let rs = TestKey::rs256("rs-other").sign(&claims);
    invalid_token(
        p.f.login(&seal(&p.keys, 0, &rs), p.userinfo(0)),
        "is signed with \"RS256\" but the client is registered for ES256",
    );
    // Something other than a JWS inside.
    invalid_token(
        p.f.login(&seal(&p.keys, 0, "{\"sub\":\"x\"}"), p.userinfo(0)),
        "decrypted content is not a compact signed JWT",
    );
}

#[test]
fn private_key_jwt_sends_a_fresh_short_assertion_for_the_token_endpoint() {
    let p = plus(EncAlg::RsaOaep256, |s| {
        s.token_auth = TokenAuth::PrivateKeyJwt
    });
    let inner = p.id_token();
    p.f.login(&seal(&p.keys, 0, &inner), p.userinfo(0)).unwrap();
    p.f.login(&seal(&p.keys, 0, &inner), p.userinfo(0)).unwrap();
    let sent = p.f.op.requests_to("/token");
    let mut jtis = Vec::new();
    let sig = p.keys.sig.as_ref().unwrap();
    let verifier = josekit::jws::ES256
        .verifier_from_jwk(&jwk_of(&sig.public_jwk))
        .unwrap();
    for request in sent {
        let form: std::collections::HashMap<_, _> = request.form().into_iter().collect();
        assert!(!form.contains_key("client_secret"));
        assert_eq!(
            form["client_assertion_type"],
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        );
        assert_eq!(form["client_id"], "client-1");
        let (payload, header) =
            josekit::jws::deserialize_compact(&form["client_assertion"], &verifier).unwrap();
        assert_eq!(header.key_id(), Some(sig.kid.as_str()));
        let claims: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "client-1");
        assert_eq!(claims["aud"], format!("{}/token", p.f.op.issuer));
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        assert!(exp > iat && exp - iat <= 60, "{claims}");
        jtis.push(claims["jti"].as_str().unwrap().to_owned());
    }
    assert_eq!(jtis.len(), 2);
    assert_ne!(jtis[0], jtis[1], "each assertion has its own jti");
    assert!(jtis[0].len() >= 32);
}

/// CPU per login of the token checks: FranceConnect (two ES256 JWS) beside FranceConnect+ (two
/// JWE opened, then the same two JWS), per algorithm. The best of several rounds, so that other
/// work on the machine counts as little as possible. Run:
/// `cargo test --release --lib fcplus_token_checks_cpu -- --ignored --nocapture`.
#[test]
#[ignore = "micro-benchmark: prints figures, asserts nothing about time"]
fn fcplus_token_checks_cpu_per_login() {
    use std::time::Instant;
    let p = plus(EncAlg::RsaOaep256, |_| {});
    let oaep = plus(EncAlg::RsaOaep, |_| {});
    let signer = &p.f.key;
    let set =
        super::super::jwks::parse(json!({"keys": [signer.jwk]}).to_string().as_bytes()).unwrap();
    let key = &set.keys[0];
    let id = signer.sign(&p.f.op.id_claims(&p.f.params.nonce));
    let ui = signer.sign(&p.f.op.userinfo_claims());
    const LOGINS: u32 = 200;
    const ROUNDS: u32 = 7;
    let best = |f: &dyn Fn()| {
        (0..ROUNDS)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..LOGINS {
                    f();
                }
                start.elapsed().as_secs_f64() * 1e6 / f64::from(LOGINS)
            })
            .fold(f64::MAX, f64::min)
    };
    let fc = best(&|| {
        assert!(super::super::jws::verify(&id, key).is_ok());
        assert!(super::super::jws::verify(&ui, key).is_ok());
    });
    println!("FranceConnect login (2 JWS ES256 verified): {fc:.1} µs");
    for (keys, index) in [(&p.keys, 0), (&p.keys, 1), (&oaep.keys, 1)] {
        let (sealed_id, sealed_ui) = (seal(keys, index, &id), seal(keys, index, &ui));
        let plus = best(&|| {
            for sealed in [&sealed_id, &sealed_ui] {
                let inner = super::super::jwe::open(sealed, keys, "bench").unwrap();
                assert!(super::super::jws::verify(&inner, key).is_ok());
            }
        });
        println!(
            "FranceConnect+ login, {:<12} (2 JWE opened + 2 JWS verified): {plus:.1} µs, {:+.1} µs beside FranceConnect",
            keys.enc[index].alg.name(),
            plus - fc
        );
    }
}
