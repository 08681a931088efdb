//! What a session is bound to: the issuer and client_id of the provider configuration that
//! created it. Two servers sharing one secret and one Redis may both declare a provider `fc` on
//! different issuers (or client_ids): a session of one must never open the other.

use sha2::{Digest, Sha256};

/// 128 bits of SHA-256 over the issuer and the client_id. Stored in the clear in front of the
/// encrypted record (neither is secret: both appear in every authorize URL) and authenticated
/// as part of the record's associated data, so it can be neither swapped nor stripped.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionBinding([u8; 16]);

impl std::fmt::Debug for SessionBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionBinding({})", self.hex())
    }
}

impl SessionBinding {
    pub const LEN: usize = 16;

    pub fn new(issuer: &str, client_id: &str) -> SessionBinding {
        let mut h = Sha256::new();
        h.update(b"sesame session binding v1\0");
        h.update((issuer.len() as u64).to_be_bytes());
        h.update(issuer.as_bytes());
        h.update((client_id.len() as u64).to_be_bytes());
        h.update(client_id.as_bytes());
        let digest = h.finalize();
        let mut tag = [0u8; Self::LEN];
        tag.copy_from_slice(&digest[..Self::LEN]);
        SessionBinding(tag)
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<SessionBinding> {
        <[u8; Self::LEN]>::try_from(bytes).ok().map(SessionBinding)
    }

    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_differs_with_the_issuer_or_the_client_id() {
        let a = SessionBinding::new("https://fc.example/api/v2", "client");
        assert_eq!(
            a,
            SessionBinding::new("https://fc.example/api/v2", "client")
        );
        assert_ne!(
            a,
            SessionBinding::new("https://other.example/api/v2", "client")
        );
        assert_ne!(
            a,
            SessionBinding::new("https://fc.example/api/v2", "client2")
        );
        // Lengths are part of the hash: moving bytes from one field to the other changes it.
        assert_ne!(
            SessionBinding::new("ab", "c"),
            SessionBinding::new("a", "bc")
        );
        assert_eq!(a.hex().len(), 32);
    }
}
