//! The site's own key pairs (FranceConnect+, `private_key_jwt`): read from PEM files at
//! configuration time with the checks an operator needs (key type and size, file permissions),
//! published as the client's JWKS (`jwks_uri`), and used by `oidc/` to decrypt the tokens the
//! provider encrypted to the site (`decrypt`) and to sign client assertions (`sign`).
//!
//! The cryptography is josekit's, over the system OpenSSL: its RSA-OAEP decryption runs in
//! constant time (RustCrypto's `rsa` crate does not: RUSTSEC-2023-0071), and nginx and Apache
//! already link that libssl3. A key's `kid` is its RFC 7638 thumbprint, so it never depends on
//! the file name or the order of the files, and the same key has the same kid everywhere.

mod load;

#[cfg(test)]
pub(crate) mod tests;

use std::fmt;

use josekit::jwe::JweDecrypter;
use josekit::jws::JwsSigner;
use serde_json::{json, Map, Value};

pub use load::{generate_pem, GeneratedKind, KeyRole};

/// A JWE key-management algorithm FranceConnect+ offers (docs/federations.md §4.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncAlg {
    /// ECDH-ES on P-256, the content key derived directly (no key wrap).
    EcdhEs,
    RsaOaep256,
    RsaOaep,
}

impl EncAlg {
    pub const ALL: [EncAlg; 3] = [EncAlg::EcdhEs, EncAlg::RsaOaep256, EncAlg::RsaOaep];

    pub fn name(self) -> &'static str {
        match self {
            EncAlg::EcdhEs => "ECDH-ES",
            EncAlg::RsaOaep256 => "RSA-OAEP-256",
            EncAlg::RsaOaep => "RSA-OAEP",
        }
    }

    pub fn parse(name: &str) -> Option<EncAlg> {
        EncAlg::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The key type this algorithm needs.
    fn wants_ec(self) -> bool {
        self == EncAlg::EcdhEs
    }
}

/// The only content encryption FranceConnect+ uses.
pub const CONTENT_ENC: &str = "A256GCM";

/// A signature algorithm for client assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    ES256,
    RS256,
}

impl SigAlg {
    pub fn name(self) -> &'static str {
        match self {
            SigAlg::ES256 => "ES256",
            SigAlg::RS256 => "RS256",
        }
    }
}

/// One key able to decrypt what the provider encrypted to the site.
pub struct EncKey {
    pub kid: String,
    pub alg: EncAlg,
    pub(crate) public_jwk: Map<String, Value>,
    decrypter: Box<dyn JweDecrypter>,
}

/// The key that signs the site's client assertions.
pub struct SigKey {
    pub kid: String,
    pub alg: SigAlg,
    pub path: String,
    pub(crate) public_jwk: Map<String, Value>,
    signer: Box<dyn JwsSigner>,
}

/// Every key of one provider block: the encryption keys (the first is current, the others are
/// kept while tokens encrypted to them can still arrive) and the signing key.
#[derive(Default)]
pub struct SiteKeys {
    pub enc: Vec<EncKey>,
    pub sig: Option<SigKey>,
}

// Never print key material: kids and paths only.
impl fmt::Debug for SiteKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteKeys")
            .field(
                "enc",
                &self
                    .enc
                    .iter()
                    .map(|k| (&k.kid, k.alg.name()))
                    .collect::<Vec<_>>(),
            )
            .field("sig", &self.sig.as_ref().map(|k| (&k.kid, k.alg.name())))
            .finish()
    }
}

/// What a decryption refused, for the caller's log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptFailure(pub String);

impl SiteKeys {
    /// Tokens from the provider must be encrypted (at least one encryption key).
    pub fn encrypts(&self) -> bool {
        !self.enc.is_empty()
    }

    /// The public JWKS: every encryption key (`use: enc`), then the signing key (`use: sig`).
    pub fn jwks_json(&self) -> String {
        let keys: Vec<Value> = self
            .enc
            .iter()
            .map(|k| Value::Object(k.public_jwk.clone()))
            .chain(self.sig.iter().map(|k| Value::Object(k.public_jwk.clone())))
            .collect();
        json!({ "keys": keys }).to_string()
    }

    pub fn enc_key(&self, kid: &str) -> Option<&EncKey> {
        self.enc.iter().find(|k| k.kid == kid)
    }

    /// Is `kid` the signing key's (a JWE naming it was encrypted to the wrong key)?
    pub fn is_sig_kid(&self, kid: &str) -> bool {
        self.sig.as_ref().is_some_and(|k| k.kid == kid)
    }

    /// Signs `claims` as a compact JWS with the signing key (`kid`, `typ: JWT`).
    pub fn sign(&self, claims: &Map<String, Value>) -> Option<Result<String, String>> {
        let key = self.sig.as_ref()?;
        let mut header = josekit::jws::JwsHeader::new();
        header.set_token_type("JWT");
        header.set_key_id(&key.kid);
        let payload = Value::Object(claims.clone()).to_string();
        Some(
            josekit::jws::serialize_compact(payload.as_bytes(), &header, key.signer.as_ref())
                .map_err(|e| format!("cannot sign with {} ({e})", key.path)),
        )
    }
}

impl EncKey {
    /// Decrypts a compact JWE whose header the caller already checked against this key
    /// (alg, enc, no zip): the plaintext bytes.
    pub fn decrypt(&self, token: &str) -> Result<Vec<u8>, DecryptFailure> {
        josekit::jwe::deserialize_compact(token, self.decrypter.as_ref())
            .map(|(plain, _)| plain)
            .map_err(|_| {
                DecryptFailure(format!(
                    "does not decrypt with the site's key {:?} (wrong key, or a corrupted or forged token)",
                    self.kid
                ))
            })
    }
}
