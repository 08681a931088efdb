//! XChaCha20-Poly1305 with a random 192-bit nonce per message: no nonce bookkeeping across
//! processes, and the AAD binds each ciphertext to where it is stored (Redis key, cookie name).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const NONCE_LEN: usize = 24;

/// nonce || ciphertext+tag.
pub fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce_bytes = super::random_bytes::<NONCE_LEN>();
    let nonce = XNonce::from_slice(&nonce_bytes);
    let mut out = nonce_bytes.to_vec();
    match cipher.encrypt(
        nonce,
        Payload {
            msg: plaintext,
            aad,
        },
    ) {
        Ok(ct) => out.extend_from_slice(&ct),
        // Encryption only fails for messages beyond 256 GiB.
        Err(_) => unreachable!("XChaCha20-Poly1305 encryption of a small message"),
    }
    out
}

/// `None` when the data was tampered with, truncated, or sealed under another key or AAD.
pub fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN + 16 {
        return None;
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_round_trips() {
        let key = [7u8; 32];
        let sealed = seal(&key, b"aad", b"hello");
        assert_eq!(open(&key, b"aad", &sealed).as_deref(), Some(&b"hello"[..]));
    }

    #[test]
    fn aead_tamper_is_rejected() {
        let key = [7u8; 32];
        let sealed = seal(&key, b"aad", b"hello");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_eq!(open(&key, b"aad", &bad), None, "flipped byte {i}");
        }
        assert_eq!(open(&key, b"other aad", &sealed), None);
        assert_eq!(open(&[8u8; 32], b"aad", &sealed), None);
        assert_eq!(open(&key, b"aad", &sealed[..sealed.len() - 1]), None);
        assert_eq!(open(&key, b"aad", b""), None);
    }
}
