//! Session persistence: encryption, Redis key layout, expiry, coalesced refresh, cache.
//!
//! Key layout (namespace from the secret, see `Keys`):
//! `<ns>s:<hex sha256(session id)>` = AEAD(enc_key, aad = key name, JSON session);
//! `<ns>used:<hex sha256(state)>` = single-use marker of a login state.

use sha2::{Digest, Sha256};

use crate::api::Identity;

use super::{
    aead, CachedSession, Keys, Session, SessionCache, SessionId, SessionSettings, Store, StoreError,
};

/// How long a used state is remembered: longer than a pending login lives.
const USED_STATE_TTL: u64 = 600;

pub struct Sessions {
    store: Box<dyn Store>,
    keys: Keys,
    settings: SessionSettings,
    cache: SessionCache,
}

impl Sessions {
    pub fn new(store: Box<dyn Store>, keys: Keys, settings: SessionSettings) -> Sessions {
        Sessions {
            store,
            cache: SessionCache::new(settings.cache_ttl),
            keys,
            settings,
        }
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    fn idle_secs(&self) -> u64 {
        self.settings.idle_timeout.as_secs()
    }

    fn session_key(&self, id: &SessionId) -> String {
        format!("{}s:{}", self.keys.namespace, id.digest_hex())
    }

    /// No I/O: the cached session, if fresh in the cache and still live.
    pub fn cached(&self, id: &SessionId, now: u64) -> Option<CachedSession> {
        let s = self.cache.get(&id.digest())?;
        s.is_live(now, self.idle_secs()).then_some(s)
    }

    /// No I/O: caches what `session` grants, for the next requests of this process. The
    /// caller builds the identity, with the settings of the session's own provider.
    pub fn remember(&self, id: &SessionId, session: &Session, identity: Identity) {
        if self.cache.enabled() {
            self.cache
                .insert(id.digest(), CachedSession::new(session, identity));
        }
    }

    /// Blocking: reads the session; an expired or undecryptable record is "no session".
    /// Records activity (at most once a minute). The cache is left to the caller
    /// ([`Sessions::remember`]): logout reads a session only to end it.
    pub fn load(&self, id: &SessionId, now: u64) -> Result<Option<Session>, StoreError> {
        let key = self.session_key(id);
        let Some(sealed) = self.store.get(&key)? else {
            return Ok(None);
        };
        let Some(json) = aead::open(&self.keys.enc, key.as_bytes(), &sealed) else {
            return Ok(None);
        };
        let Ok(mut session) = serde_json::from_slice::<Session>(&json) else {
            return Ok(None);
        };
        if !session.is_live(now, self.idle_secs()) {
            return Ok(None);
        }
        if session.needs_refresh(now, self.idle_secs()) {
            session.refreshed = now;
            self.write(&key, &session, now)?;
        }
        Ok(Some(session))
    }

    fn write(&self, key: &str, session: &Session, now: u64) -> Result<(), StoreError> {
        let json = serde_json::to_vec(session)
            .map_err(|e| StoreError(format!("cannot encode session: {e}")))?;
        let sealed = aead::seal(&self.keys.enc, key.as_bytes(), &json);
        self.store
            .set_ex(key, &sealed, session.ttl(now, self.idle_secs()))
    }

    /// Blocking: stores a new session under a fresh random id.
    pub fn create(&self, session: &Session, now: u64) -> Result<SessionId, StoreError> {
        let id = SessionId::random();
        self.write(&self.session_key(&id), session, now)?;
        Ok(id)
    }

    /// Blocking: removes the session from Redis and from this process's cache.
    pub fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.cache.remove(&id.digest());
        self.store.del(&self.session_key(id))
    }

    /// Blocking: true the first time a state is presented, false on any replay.
    pub fn mark_state_used(&self, state: &str) -> Result<bool, StoreError> {
        let key = format!(
            "{}used:{}",
            self.keys.namespace,
            hex::encode(Sha256::digest(state.as_bytes()))
        );
        self.store.set_nx_ex(&key, b"1", USED_STATE_TTL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::MemoryStore;
    use std::sync::Arc;
    use std::time::Duration;

    fn settings(cache: u64) -> SessionSettings {
        SessionSettings {
            redis_timeout: Duration::from_secs(1),
            cache_ttl: Duration::from_secs(cache),
            idle_timeout: Duration::from_secs(1800),
            lifetime: Duration::from_secs(43_200),
        }
    }

    fn session(now: u64) -> Session {
        Session {
            provider: "fc".into(),
            issuer: "https://idp".into(),
            sub: "abc".into(),
            acr: "eidas1".into(),
            claims: Default::default(),
            id_token: "tok".into(),
            created: now,
            refreshed: now,
            expires: now + 43_200,
            ..Default::default()
        }
    }

    #[test]
    fn state_is_single_use() {
        let s = Sessions::new(
            Box::new(MemoryStore::new()),
            Keys::derive(&[1; 32]),
            settings(5),
        );
        assert_eq!(s.mark_state_used("abc"), Ok(true));
        assert_eq!(s.mark_state_used("abc"), Ok(false));
        assert_eq!(s.mark_state_used("abd"), Ok(true));
    }

    #[test]
    fn stored_session_is_encrypted_and_keyed_by_hash_of_id() {
        let store = Arc::new(MemoryStore::new());
        let keys = Keys::derive(&[1; 32]);
        let s = Sessions::new(Box::new(Arc::clone(&store)), keys.clone(), settings(0));
        let id = s.create(&session(1000), 1000).unwrap();
        let stored = store.keys();
        assert_eq!(
            stored,
            vec![format!("{}s:{}", keys.namespace(), id.digest_hex())]
        );
        let raw = store.get(&stored[0]).unwrap().unwrap();
        assert!(
            !String::from_utf8_lossy(&raw).contains("tok"),
            "the id_token is not readable in Redis"
        );
        assert_eq!(s.load(&id, 1001).unwrap().unwrap().sub, "abc");
        // Another secret cannot read it even with the right key name.
        let other = Sessions::new(
            Box::new(Arc::clone(&store)),
            Keys::derive(&[2; 32]),
            settings(0),
        );
        assert!(other.store.get(&stored[0]).unwrap().is_some());
        assert!(aead::open(&other.keys.enc, stored[0].as_bytes(), &raw).is_none());
        s.delete(&id).unwrap();
        assert!(s.load(&id, 1002).unwrap().is_none());
    }

    #[test]
    fn idle_session_is_not_loaded() {
        let s = Sessions::new(
            Box::new(MemoryStore::new()),
            Keys::derive(&[1; 32]),
            settings(0),
        );
        let id = s.create(&session(1000), 1000).unwrap();
        assert!(s.load(&id, 1000 + 1799).unwrap().is_some());
        // The load above refreshed activity at 2799; idle timeout counts from there.
        assert!(s.load(&id, 2799 + 1800).unwrap().is_none());
    }

    #[test]
    fn cached_session_needs_no_store() {
        let store = MemoryStore::new();
        let s = Sessions::new(Box::new(store), Keys::derive(&[1; 32]), settings(60));
        let id = s.create(&session(1000), 1000).unwrap();
        assert!(s.cached(&id, 1001).is_none(), "creating does not cache");
        s.remember(&id, &session(1000), Identity::default());
        assert!(s.cached(&id, 1001).is_some());
        assert!(
            s.cached(&id, 1000 + 43_200).is_none(),
            "absolute expiry applies to cache hits"
        );
    }
}
