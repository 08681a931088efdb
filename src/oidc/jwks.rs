//! The provider's signing keys (JWKS): fetch, parse, select by `kid`.

use jsonwebtoken::DecodingKey;
use serde_json::Value;

use super::fetch::{expect_json, fetch_error};
use super::util::b64url_decode;
use super::{OidcError, SigningAlg};
use crate::http::HttpClient;

/// One usable signing key.
pub(crate) struct Key {
    pub kid: Option<String>,
    pub alg: SigningAlg,
    /// Raw key material (x||y or n||e), to tell whether a refetched key under the same kid
    /// is actually different.
    pub fingerprint: Vec<u8>,
    pub key: DecodingKey,
    /// ES256 keys: the uncompressed SEC1 point (0x04 || x || y) that `jws::verify` checks
    /// signatures against with ring (the pure-Rust P-256 behind `key` was about a third of the
    /// nginx worker's CPU per login, `make bench`).
    pub es256_point: Option<Vec<u8>>,
}

/// The keys of one JWKS that can verify the algorithms we support. Keys for encryption or
/// other algorithms are ignored rather than failing the whole set.
pub(crate) struct KeySet {
    pub keys: Vec<Key>,
}

impl KeySet {
    /// The key for a token signed with `alg`, `kid` from its header. Without a kid the only
    /// key of that type is used (some generic providers publish one key and no kid).
    pub fn find(&self, alg: SigningAlg, kid: Option<&str>) -> Option<&Key> {
        let mut candidates = self.keys.iter().filter(|k| k.alg == alg);
        match kid {
            Some(kid) => candidates.find(|k| k.kid.as_deref() == Some(kid)),
            None => {
                let first = candidates.next()?;
                candidates.next().is_none().then_some(first)
            }
        }
    }
}

pub(crate) fn fetch(http: &HttpClient, jwks_uri: &str) -> Result<KeySet, OidcError> {
    let what = "JWKS";
    let resp = http
        .get(
            crate::http::Exchange::Jwks,
            jwks_uri,
            &[("Accept", "application/jwk-set+json, application/json")],
        )
        .map_err(|e| fetch_error(what, jwks_uri, e))?;
    let body = expect_json(
        what,
        jwks_uri,
        &resp,
        &["application/json", "application/jwk-set+json"],
    )?;
    parse(body).map_err(|m| OidcError::Protocol(format!("{what} at {jwks_uri}: {m}")))
}

pub(crate) fn parse(body: &[u8]) -> Result<KeySet, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no \"keys\" array")?;
    Ok(KeySet {
        keys: keys.iter().filter_map(parse_key).collect(),
    })
}

fn parse_key(jwk: &Value) -> Option<Key> {
    let s = |name: &str| jwk.get(name).and_then(Value::as_str);
    if s("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let mut es256_point = None;
    let (alg, key, fingerprint) = match s("kty")? {
        "EC" => {
            if s("crv")? != "P-256" {
                return None;
            }
            let (x, y) = (s("x")?, s("y")?);
            let key = DecodingKey::from_ec_components(x, y).ok()?;
            let (xb, yb) = (b64url_decode(x)?, b64url_decode(y)?);
            if xb.len() != 32 || yb.len() != 32 {
                return None;
            }
            es256_point = Some([&[4u8][..], &xb, &yb].concat());
            (SigningAlg::ES256, key, format!("{x}.{y}").into_bytes())
        }
        "RSA" => {
            let (n, e) = (s("n")?, s("e")?);
            let key = DecodingKey::from_rsa_components(n, e).ok()?;
            (SigningAlg::RS256, key, format!("{n}.{e}").into_bytes())
        }
        _ => return None,
    };
    // A key restricted to another algorithm must not verify ours.
    let alg_ok = match s("alg") {
        None => true,
        Some(a) => a == alg_name(alg),
    };
    if !alg_ok {
        return None;
    }
    Some(Key {
        kid: s("kid").map(str::to_owned),
        alg,
        fingerprint,
        key,
        es256_point,
    })
}

pub(crate) fn alg_name(alg: SigningAlg) -> &'static str {
    match alg {
        SigningAlg::ES256 => "ES256",
        SigningAlg::RS256 => "RS256",
        SigningAlg::HS256 => "HS256",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_and_foreign_keys_are_ignored_not_fatal() {
        let set = parse(
            br#"{"keys":[
              {"kty":"RSA","use":"enc","kid":"e","n":"AQAB","e":"AQAB"},
              {"kty":"OKP","crv":"Ed25519","kid":"ed","x":"AAAA"},
              {"kty":"EC","crv":"P-256","kid":"s","alg":"RS256","x":"AAAA","y":"AAAA"},
              {"kty":"RSA","use":"sig","kid":"r","alg":"RS256","n":"AQAB","e":"AQAB"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(set.keys.len(), 1);
        assert!(set.find(SigningAlg::RS256, Some("r")).is_some());
        assert!(set.find(SigningAlg::RS256, Some("e")).is_none());
        assert!(set.find(SigningAlg::ES256, Some("s")).is_none());
    }

    #[test]
    fn a_key_set_without_keys_array_is_rejected() {
        assert!(parse(br#"{"kid":"x"}"#).is_err());
    }
}
