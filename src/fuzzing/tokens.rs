//! What a provider (maybe a compromised one) sends: the id_token (JWS header check, signature,
//! claim checks), its JWKS and its discovery document.
//!
//! Structure-aware: the id_token target's input is the token's parts *decoded* (header JSON,
//! payload JSON, signature), so that the fuzzer mutates JSON rather than base64; the harness
//! encodes them and, when the input asks, signs them with the key the JWKS publishes, so that
//! mutated claims reach the claim checks behind a valid signature.

use std::sync::OnceLock;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{Map, Value};

use crate::identity::Federation;
use crate::oidc::jwks::{self, KeySet};
use crate::oidc::jws::{self, VerifyError};
use crate::oidc::{validate, OidcSettings, SigningAlg, TokenAuth, UserinfoMode};

/// The clock of every check: fixed, so that a corpus file means the same on every run.
const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "https://fcp-low.sbx.dev-franceconnect.fr/api/v2";
const CLIENT_ID: &str = "0123456789abcdef";
const CLIENT_SECRET: &str = "client-secret-for-fuzzing";
const NONCE: &str = "fedcba9876543210fedcba9876543210";
const ACCESS_TOKEN: &str = "an-access-token";

pub(crate) fn settings(federation: Federation, alg: SigningAlg) -> OidcSettings {
    OidcSettings {
        name: "fuzz".into(),
        federation,
        issuer: ISSUER.into(),
        discovery_url: format!("{ISSUER}/.well-known/openid-configuration"),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        redirect_uri: "https://app.example/sesame/callback".into(),
        post_logout_redirect_uri: None,
        scopes: vec!["openid".into()],
        acr_values: if federation == Federation::FranceConnect {
            vec!["eidas1".into()]
        } else {
            vec![]
        },
        required_acr: None,
        id_token_alg: alg,
        userinfo: UserinfoMode::Skip,
        token_auth: TokenAuth::ClientSecretPost,
        pkce: false,
        ca_file: None,
        http_timeout: Duration::from_secs(1),
        leeway: Duration::from_secs(30),
        metadata_ttl: Duration::from_secs(600),
        jwks_uri: None,
        site_keys: Default::default(),
    }
}

struct Signer {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
    keys: KeySet,
}

/// One ES256 key for the whole run, and the key set its public JWK parses into.
fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let rng = SystemRandom::new();
        let pair =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).and_then(|doc| {
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng)
                    .map_err(|_| ring::error::Unspecified)
            });
        let Ok(pair) = pair else {
            panic!("ring cannot make a P-256 key");
        };
        let point = pair.public_key().as_ref();
        let jwk = serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "k1",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }]});
        let Ok(keys) = jwks::parse(jwk.to_string().as_bytes()) else {
            panic!("the signer's own JWKS does not parse");
        };
        Signer { pair, rng, keys }
    })
}

fn hs256(signing_input: &str) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(CLIENT_SECRET.as_bytes()) else {
        unreachable!("HMAC accepts keys of any length");
    };
    mac.update(signing_input.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Input: a mode byte, then header JSON, payload JSON and signature bytes separated by `0xFF`.
/// Mode bit 0: sign (else the signature field is the signature); bit 1: the client is
/// registered for HS256 (else ES256); bit 2: ProConnect (else FranceConnect); bit 3: alter one
/// character of the signed payload after signing.
pub fn id_token(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let parts: Vec<&[u8]> = rest.splitn(3, |&b| b == 0xFF).collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or_default();
    let (sign, hs, federation, tamper) = (
        mode & 1 != 0,
        mode & 2 != 0,
        if mode & 4 != 0 {
            Federation::ProConnect
        } else {
            Federation::FranceConnect
        },
        mode & 8 != 0,
    );
    let alg = if hs {
        SigningAlg::HS256
    } else {
        SigningAlg::ES256
    };
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(part(0)),
        URL_SAFE_NO_PAD.encode(part(1))
    );
    let signer = signer();
    let signature = if !sign {
        part(2).to_vec()
    } else if hs {
        hs256(&signing_input)
    } else {
        match signer.pair.sign(&signer.rng, signing_input.as_bytes()) {
            Ok(s) => s.as_ref().to_vec(),
            Err(_) => return,
        }
    };
    let mut signed = signing_input.clone();
    if tamper {
        // The last character of the payload segment, changed to another base64url character.
        let Some(last) = signed.pop() else { return };
        signed.push(if last == 'A' { 'B' } else { 'A' });
    }
    let genuine = sign && !tamper;
    let token = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&signature));

    let Ok(header) = jws::check_header(&token, alg, "id_token") else {
        return;
    };
    let header_json: Map<String, Value> = match serde_json::from_slice(part(0)) {
        Ok(h) => h,
        Err(e) => panic!("check_header accepted a header that is not a JSON object: {e}"),
    };
    assert_eq!(
        header_json.get("alg").and_then(Value::as_str),
        Some(crate::oidc::jwks::alg_name(alg)),
        "check_header accepted another alg than the registered one"
    );
    assert!(!header_json.contains_key("crit"));

    let client_key;
    let key = if hs {
        client_key = jwks::Key {
            kid: None,
            alg,
            fingerprint: Vec::new(),
            key: jsonwebtoken::DecodingKey::from_secret(CLIENT_SECRET.as_bytes()),
            es256_point: None,
        };
        Some(&client_key)
    } else {
        signer.keys.find(alg, header.kid.as_deref())
    };
    let Some(key) = key else { return };
    let claims = match jws::verify(&token, key) {
        Ok(claims) => claims,
        Err(VerifyError::Signature) => {
            assert!(
                !genuine,
                "a token signed with the published key was refused"
            );
            return;
        }
        Err(VerifyError::Other(_)) => return,
    };
    assert!(genuine, "a token not signed with the key verified: {token}");
    let payload: Value = serde_json::from_slice(part(1)).unwrap_or(Value::Null);
    assert_eq!(
        Value::Object(claims.clone()),
        payload,
        "the verified payload is not what was signed"
    );
    check_claims(&claims, &settings(federation, alg));
}

/// The id_token claim checks, and what an accepted token then means.
fn check_claims(claims: &Map<String, Value>, settings: &OidcSettings) {
    let Ok(facts) = validate::check_id_token(claims, settings, NONCE, Some(ACCESS_TOKEN), NOW)
    else {
        return;
    };
    assert_eq!(claims.get("iss").and_then(Value::as_str), Some(ISSUER));
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == CLIENT_ID,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(CLIENT_ID)),
        _ => false,
    };
    assert!(aud_ok, "accepted a token for another audience");
    let exp = validate::time_claim(claims, "exp");
    assert!(
        exp.is_some_and(|e| e.saturating_add(30) >= NOW),
        "accepted an expired token"
    );
    assert_eq!(claims.get("nonce").and_then(Value::as_str), Some(NONCE));
    assert!(!facts.sub.is_empty() && !facts.sub.chars().any(char::is_control));
    assert!(facts.acr.is_empty() || validate::is_acr_token(&facts.acr));
    // What the backend then reads of it.
    let identity = crate::claims::identity(
        "fuzz",
        ISSUER,
        &facts.sub,
        &facts.acr,
        &{
            let mut c = claims.clone();
            crate::claims::scrub_controls(&mut c);
            c
        },
        "sub",
    );
    super::claims::check_identity(&identity);
}

/// A JWKS document: never a panic; every key kept is a signing key of a supported type,
/// restricted to nothing or to its own algorithm; selection by kid returns that kid.
pub fn jwks_document(data: &[u8]) {
    let Ok(set) = jwks::parse(data) else { return };
    let Ok(doc) = serde_json::from_slice::<Value>(data) else {
        panic!("a JWKS that is not JSON parsed");
    };
    let listed = doc
        .get("keys")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    assert!(set.keys.len() <= listed);
    for key in &set.keys {
        if let Some(point) = &key.es256_point {
            assert_eq!(key.alg, SigningAlg::ES256);
            assert!(
                point.len() == 65 && point[0] == 4,
                "not an uncompressed P-256 point"
            );
        }
        assert_ne!(key.alg, SigningAlg::HS256, "a JWKS key became an HMAC key");
        if let Some(kid) = &key.kid {
            let found = set.find(key.alg, Some(kid));
            assert!(found.is_some_and(|k| k.kid.as_deref() == Some(kid.as_str())));
        }
    }
    for alg in [SigningAlg::ES256, SigningAlg::RS256] {
        let of_alg = set.keys.iter().filter(|k| k.alg == alg).count();
        assert_eq!(set.find(alg, None).is_some(), of_alg == 1);
    }
}

/// A discovery document: never a panic; an accepted one names the configured issuer and only
/// absolute https endpoints without fragment.
pub fn discovery_document(data: &[u8]) {
    let settings = settings(Federation::ProConnect, SigningAlg::ES256);
    let Ok(meta) = crate::oidc::discovery::parse(data, &settings) else {
        return;
    };
    assert_eq!(meta.issuer, ISSUER);
    let endpoints = [
        Some(&meta.authorization_endpoint),
        Some(&meta.token_endpoint),
        Some(&meta.jwks_uri),
        meta.userinfo_endpoint.as_ref(),
        meta.end_session_endpoint.as_ref(),
    ];
    for url in endpoints.into_iter().flatten() {
        let parsed = url::Url::parse(url);
        assert!(
            parsed.is_ok_and(|u| u.scheme() == "https" && u.fragment().is_none()),
            "accepted endpoint {url:?}"
        );
    }
}
