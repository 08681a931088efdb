//! Keys derived from the configured secret with HKDF-SHA256, one per purpose, so that a MAC key
//! can never be used as an encryption key and two secrets never share a Redis namespace.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

#[derive(Clone)]
pub struct Keys {
    /// HMAC-SHA256 key for the session cookie.
    pub(crate) mac: [u8; 32],
    /// HMAC-SHA256 keyed with `mac`, before any message: every protected request checks a
    /// cookie's MAC, and a copy of this state spares it the two SHA-256 blocks of the key.
    pub(crate) mac_state: Hmac<Sha256>,
    /// XChaCha20-Poly1305 key for Redis values and the login/logout cookies.
    pub(crate) enc: [u8; 32],
    /// `sesame:<16 hex of sha256(ns_key)>:`
    pub(crate) namespace: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("Keys")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

fn expand(hk: &Hkdf<Sha256>, info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    if hk.expand(info, &mut out).is_err() {
        unreachable!("HKDF output length is fixed and valid");
    }
    out
}

impl Keys {
    pub fn derive(secret: &[u8]) -> Keys {
        let hk = Hkdf::<Sha256>::new(Some(b"sesame v1"), secret);
        let ns_key = expand(&hk, b"sesame redis namespace");
        let digest = Sha256::digest(ns_key);
        let mac = expand(&hk, b"sesame cookie mac");
        let mac_state = match Hmac::<Sha256>::new_from_slice(&mac) {
            Ok(state) => state,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        };
        Keys {
            mac,
            mac_state,
            enc: expand(&hk, b"sesame encryption"),
            namespace: format!("sesame:{}:", &hex::encode(digest)[..16]),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn different_secrets_get_different_namespaces_and_keys() {
        let a = Keys::derive(&[1u8; 32]);
        let b = Keys::derive(&[2u8; 32]);
        assert_ne!(a.namespace, b.namespace);
        assert_ne!(a.mac, b.mac);
        assert_ne!(a.mac, a.enc);
        assert!(a.namespace.starts_with("sesame:") && a.namespace.len() == "sesame:".len() + 17);
        assert_eq!(Keys::derive(&[1u8; 32]).enc, a.enc);
    }
}
