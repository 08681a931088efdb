//! What the operator CLI does with sessions: list them (decrypted with the same derived keys as
//! the web server modules) and delete them.
//!
//! Finding sessions: `SCAN MATCH <namespace>s:*` (on every master of a cluster). The namespace is
//! derived from the secret, so the scan only returns this site's sessions; SCAN never blocks
//! Redis. No per-user index is kept: it would cost an extra write on every login and on every
//! logout, keys whose TTL must follow the longest session, and filters on email or SIRET would
//! still need every record decrypted. Operator commands are rare; logins are not.

use serde_json::Value;

use super::sessions::open_record;
use super::store::Store;
use super::{Keys, RedisStore, Session, SessionBinding, StoreError};

/// One stored session as the CLI shows it.
#[derive(Debug, Clone)]
pub struct StoredSession {
    /// Hex SHA-256 of the session id: the Redis key's suffix, safe to show (the id itself, the
    /// cookie's secret, is never stored).
    pub digest: String,
    pub key: String,
    pub session: Session,
    /// The provider configuration (issuer and client_id) that created it.
    pub binding: SessionBinding,
    /// Bytes stored in Redis (nonce + ciphertext + tag).
    pub stored_bytes: usize,
}

impl StoredSession {
    /// A claim as text ("" when absent).
    pub fn claim(&self, name: &str) -> String {
        match self.session.claims.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    }
}

/// Which sessions a command applies to; every given field must match exactly.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub sub: Option<String>,
    /// Compared without case.
    pub email: Option<String>,
    pub siret: Option<String>,
    pub provider: Option<String>,
    /// Prefix of the digest shown by `sessions list`.
    pub id_prefix: Option<String>,
}

impl SessionFilter {
    pub fn is_empty(&self) -> bool {
        self.sub.is_none()
            && self.email.is_none()
            && self.siret.is_none()
            && self.provider.is_none()
            && self.id_prefix.is_none()
    }

    pub fn matches(&self, s: &StoredSession) -> bool {
        self.sub.as_deref().is_none_or(|v| s.session.sub == v)
            && self
                .email
                .as_deref()
                .is_none_or(|v| s.claim("email").eq_ignore_ascii_case(v))
            && self.siret.as_deref().is_none_or(|v| s.claim("siret") == v)
            && self
                .provider
                .as_deref()
                .is_none_or(|v| s.session.provider == v)
            && self
                .id_prefix
                .as_deref()
                .is_none_or(|v| s.digest.starts_with(&v.to_ascii_lowercase()))
    }
}

/// Result of a scan: the sessions this secret can read, and how many keys it could not.
#[derive(Debug, Default)]
pub struct Listing {
    pub sessions: Vec<StoredSession>,
    /// Keys that vanished during the scan (expired) or do not decrypt (corrupted).
    pub skipped: usize,
}

pub struct SessionAdmin {
    store: RedisStore,
    keys: Keys,
}

impl SessionAdmin {
    pub fn new(store: RedisStore, keys: Keys) -> SessionAdmin {
        SessionAdmin { store, keys }
    }

    pub fn namespace(&self) -> &str {
        self.keys.namespace()
    }

    pub fn store(&self) -> &RedisStore {
        &self.store
    }

    /// Every session of this namespace, oldest login first. `progress(done, total)` is called
    /// while records are read.
    pub fn list(&self, progress: &mut dyn FnMut(usize, usize)) -> Result<Listing, StoreError> {
        let pattern = format!("{}s:*", self.keys.namespace());
        let keys = self.store.scan_match(&pattern)?;
        let mut listing = Listing::default();
        let total = keys.len();
        for (i, key) in keys.into_iter().enumerate() {
            progress(i + 1, total);
            match self.read(&key)? {
                Some(s) => listing.sessions.push(s),
                None => listing.skipped += 1,
            }
        }
        listing.sessions.sort_by_key(|s| s.session.created);
        Ok(listing)
    }

    fn read(&self, key: &str) -> Result<Option<StoredSession>, StoreError> {
        let Some(sealed) = self.store.get(key)? else {
            return Ok(None);
        };
        let Some((binding, session)) = open_record(&self.keys, key, &sealed) else {
            return Ok(None);
        };
        let digest = key
            .rsplit_once(':')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        Ok(Some(StoredSession {
            digest,
            key: key.to_owned(),
            session,
            binding,
            stored_bytes: sealed.len(),
        }))
    }

    /// Deletes one session, and the access token kept beside it. Then [`SessionAdmin::announce`]
    /// it, so that workers which cached it drop it at once.
    pub fn kill(&self, s: &StoredSession) -> Result<(), StoreError> {
        self.store.del(&s.key)?;
        if s.session.token_until > 0 {
            if let Some(token_key) = super::sessions::token_key_of(&s.key) {
                self.store.del(&token_key)?;
            }
        }
        Ok(())
    }

    /// Publishes that `s` ended on the namespace's revocation channel: every worker of every
    /// server on this Redis evicts it from its session cache (`revocation`). An error leaves
    /// the kill done; workers that cached the session then keep it until their cache lifetime
    /// ends.
    pub fn announce(&self, s: &StoredSession) -> Result<(), StoreError> {
        let digest = super::revocation::digest_in(s.digest.as_bytes())
            .ok_or_else(|| StoreError(format!("\"{}\" is not a session digest", s.digest)))?;
        self.store.publish(
            &self.revocation_channel(),
            super::revocation::message_of(&digest).as_bytes(),
        )
    }

    /// Where ended sessions are announced.
    pub fn revocation_channel(&self) -> String {
        super::revocation::channel_of(self.keys.namespace())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(sub: &str, email: &str, digest: &str) -> StoredSession {
        let mut claims = serde_json::Map::new();
        claims.insert("email".into(), Value::String(email.into()));
        claims.insert("siret".into(), Value::String("13002526500013".into()));
        StoredSession {
            digest: digest.into(),
            key: format!("ns:s:{digest}"),
            session: Session {
                provider: "fc".into(),
                issuer: "i".into(),
                sub: sub.into(),
                acr: "eidas1".into(),
                claims,
                id_token: "t".into(),
                created: 0,
                refreshed: 0,
                expires: 1,
                ..Default::default()
            },
            binding: SessionBinding::new("i", "c"),
            stored_bytes: 0,
        }
    }

    #[test]
    fn filters_match_on_every_given_field() {
        let s = stored("abc", "Agent@Example.fr", "0123abcd");
        assert!(SessionFilter::default().matches(&s));
        let by_email = SessionFilter {
            email: Some("agent@example.fr".into()),
            ..Default::default()
        };
        assert!(by_email.matches(&s), "email is compared without case");
        let both = SessionFilter {
            sub: Some("abc".into()),
            siret: Some("13002526500013".into()),
            provider: Some("fc".into()),
            id_prefix: Some("0123AB".into()),
            ..Default::default()
        };
        assert!(both.matches(&s));
        let other_sub = SessionFilter {
            sub: Some("abd".into()),
            ..by_email
        };
        assert!(!other_sub.matches(&s));
        assert!(!SessionFilter {
            provider: Some("pc".into()),
            ..Default::default()
        }
        .matches(&s));
    }
}
