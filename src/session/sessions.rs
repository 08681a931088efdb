//! Session persistence: encryption, Redis key layout, expiry, coalesced refresh, cache.
//!
//! Key layout (namespace from the secret, see `Keys`):
//! `<ns>s:<hex sha256(session id)>` = the session record (below);
//! `<ns>used:<hex sha256(state)>` = single-use marker of a login state;
//! `<ns>t:<hex sha256(session id)>` = the access token kept for the session, when a location
//! hands it to the backend: `AEAD(enc_key, aad = key name, JSON AccessGrant)`, with a TTL no
//! longer than the token's own lifetime (or, with a refresh token, the session's). It is a key
//! of its own, not a field of the session record, so that a one-time hand-off is a single
//! GETDEL: of two requests racing for it, on any workers or servers, exactly one gets it.
//!
//! Session record: `"S2" || binding (16 bytes) || AEAD(enc_key, aad = key name || "S2" ||
//! binding, JSON session)`. The binding (issuer and client_id of the provider that created the
//! session, see [`SessionBinding`]) is read before anything is decrypted and compared with the
//! provider asking; being part of the associated data, it cannot be altered without the record
//! failing to open. A record of another format (an older release) opens nowhere: "no session".

use sha2::{Digest, Sha256};

use crate::identity::Identity;
use crate::oidc::AccessGrant;

use std::sync::Arc;

use parking_lot::Mutex;

use super::cache::CacheTicket;
use super::revocation::{self, RevocationFeed};
use super::{
    aead, CachedSession, Keys, Session, SessionBinding, SessionCache, SessionId, SessionSettings,
    Store, StoreError,
};
use crate::log::{emit, LogLevel};

/// How long a used state is remembered: longer than a pending login lives.
const USED_STATE_TTL: u64 = 600;

/// Format marker in front of every session record.
const RECORD_MAGIC: &[u8; 2] = b"S2";
const RECORD_HEADER: usize = RECORD_MAGIC.len() + SessionBinding::LEN;

fn record_aad(key: &str, header: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(key.len() + header.len());
    aad.extend_from_slice(key.as_bytes());
    aad.extend_from_slice(header);
    aad
}

/// The record stored under `key` for `session`, bound to `binding`.
pub(crate) fn seal_record(
    keys: &Keys,
    key: &str,
    binding: &SessionBinding,
    session: &Session,
) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(session)
        .map_err(|e| StoreError(format!("cannot encode session: {e}")))?;
    let mut record = Vec::with_capacity(RECORD_HEADER + json.len() + 40);
    record.extend_from_slice(RECORD_MAGIC);
    record.extend_from_slice(binding.as_bytes());
    let sealed = aead::seal(&keys.enc, &record_aad(key, &record), &json);
    record.extend_from_slice(&sealed);
    Ok(record)
}

/// The binding a record claims, without opening it (`None`: not a session record).
fn record_binding(record: &[u8]) -> Option<SessionBinding> {
    let rest = record.strip_prefix(RECORD_MAGIC.as_slice())?;
    SessionBinding::from_bytes(rest.get(..SessionBinding::LEN)?)
}

/// The session in a record read under `key`; `None` when it was tampered with, moved to
/// another key, sealed with another secret, or written in another format.
pub(crate) fn open_record(
    keys: &Keys,
    key: &str,
    record: &[u8],
) -> Option<(SessionBinding, Session)> {
    let binding = record_binding(record)?;
    let (header, sealed) = record.split_at(RECORD_HEADER);
    let json = aead::open(&keys.enc, &record_aad(key, header), sealed)?;
    let session = serde_json::from_slice::<Session>(&json).ok()?;
    Some((binding, session))
}

/// The key of the access token kept beside the session stored under `session_key`.
pub(crate) fn token_key_of(session_key: &str) -> Option<String> {
    let (namespace, digest) = session_key.rsplit_once("s:")?;
    Some(format!("{namespace}t:{digest}"))
}

pub struct Sessions {
    store: Arc<dyn Store>,
    keys: Keys,
    settings: SessionSettings,
    cache: Arc<SessionCache>,
    /// `<namespace>revoked`: where ended sessions are announced (`revocation`).
    channel: String,
    /// This process's revocation feed, and the process it was started in (a forked child
    /// starts its own).
    feed: Mutex<Option<(u32, RevocationFeed)>>,
    /// The store as log lines name it (no password).
    label: String,
}

impl Sessions {
    pub fn new(store: Box<dyn Store>, keys: Keys, settings: SessionSettings) -> Sessions {
        let label = store.label();
        Sessions {
            store: Arc::from(store),
            cache: Arc::new(SessionCache::new(settings.cache_ttl)),
            channel: revocation::channel_of(keys.namespace()),
            feed: Mutex::new(None),
            label,
            keys,
            settings,
        }
    }

    /// Worker / child start: subscribes this process to the revocation channel, so that
    /// sessions ended elsewhere leave the cache at once. Until the feed is subscribed, and
    /// whenever it is not, the cache is bypassed. Nothing to do without a cache. Idempotent.
    pub fn start_revocation_feed(&self) {
        if !self.cache.enabled() {
            return;
        }
        let pid = std::process::id();
        let mut feed = self.feed.lock();
        if feed
            .as_ref()
            .is_some_and(|(started_in, _)| *started_in == pid)
        {
            return;
        }
        // A feed inherited across fork has no thread here: forget it without joining.
        if let Some((_, inherited)) = feed.take() {
            std::mem::forget(inherited);
        }
        match RevocationFeed::start(
            Arc::clone(&self.store),
            Arc::clone(&self.cache),
            self.channel.clone(),
            self.label.clone(),
            self.settings.redis_timeout,
        ) {
            Ok(started) => *feed = Some((pid, started)),
            Err(e) => emit(
                LogLevel::Error,
                &format!(
                    "sesame: cannot start the revocation feed thread ({e}): the session cache is bypassed in this process"
                ),
            ),
        }
    }

    /// Worker / child exit: stops the feed thread (within a quarter of a second).
    pub fn stop_revocation_feed(&self) {
        let feed = self.feed.lock().take();
        if let Some((pid, feed)) = feed {
            if pid == std::process::id() {
                feed.stop();
            } else {
                std::mem::forget(feed);
            }
        }
    }

    /// Announces that the session of `digest` ended, to every worker of every server on this
    /// Redis. The deletion already happened and stands whatever this says: a failure only
    /// means that workers which cached the session keep it up to `sesame_session_cache`
    /// longer (bounded by the feed's trust window when their feed notices nothing).
    pub(crate) fn announce_revoked(&self, digest: &[u8; 32]) -> Result<(), StoreError> {
        self.store
            .publish(&self.channel, revocation::message_of(digest).as_bytes())
    }

    /// Does this process's revocation feed vouch for its cache right now?
    pub fn cache_trusted(&self) -> bool {
        self.cache.trusted()
    }

    /// Before reading a session that may be cached afterwards ([`Sessions::remember`]).
    pub fn cache_ticket(&self) -> CacheTicket {
        self.cache.ticket()
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

    /// No I/O: the cached session, if fresh in the cache and still live. The caller checks
    /// that it is bound to the provider asking ([`CachedSession::is_bound_to`]).
    pub fn cached(&self, id: &SessionId, now: u64) -> Option<CachedSession> {
        let s = self.cache.get(&id.digest())?;
        s.is_live(now, self.idle_secs()).then_some(s)
    }

    /// No I/O: caches what `session` grants, for the next requests of this process. The
    /// caller builds the identity, with the settings of the session's own provider.
    /// `ticket` was taken before the session was read (or created): a revocation since then
    /// keeps it out.
    pub fn remember(
        &self,
        ticket: CacheTicket,
        id: &SessionId,
        session: &Session,
        binding: &SessionBinding,
        identity: Identity,
    ) {
        if self.cache.enabled() {
            self.cache.insert(
                ticket,
                id.digest(),
                CachedSession::new(session, *binding, identity),
            );
        }
    }

    /// Blocking: reads the session of the provider configuration `binding`; a session bound to
    /// another one (same provider name on another issuer or client_id, behind a server sharing
    /// this secret and this Redis), expired or undecryptable, is "no session".
    /// Records activity (at most once a minute). The cache is left to the caller
    /// ([`Sessions::remember`]).
    pub fn load(
        &self,
        binding: &SessionBinding,
        id: &SessionId,
        now: u64,
    ) -> Result<Option<Session>, StoreError> {
        Ok(self
            .load_with(id, now, |b| b == binding)?
            .map(|(_, session)| session))
    }

    /// Blocking: as [`Sessions::load`], for a session whose binding `accept` approves (logout
    /// reads a session only to end it, at whichever provider of this server created it).
    pub fn load_with(
        &self,
        id: &SessionId,
        now: u64,
        accept: impl Fn(&SessionBinding) -> bool,
    ) -> Result<Option<(SessionBinding, Session)>, StoreError> {
        let key = self.session_key(id);
        let Some(record) = self.store.get(&key)? else {
            return Ok(None);
        };
        // Checked before decrypting: a session of another provider configuration costs nothing.
        if !record_binding(&record).is_some_and(|b| accept(&b)) {
            return Ok(None);
        }
        let Some((binding, mut session)) = open_record(&self.keys, &key, &record) else {
            return Ok(None);
        };
        if !session.is_live(now, self.idle_secs()) {
            return Ok(None);
        }
        if session.needs_refresh(now, self.idle_secs()) {
            session.refreshed = now;
            let record = seal_record(&self.keys, &key, &binding, &session)?;
            // Only an existing key is refreshed: a logout or `sesame sessions kill` that
            // deleted it since the read above must never be undone by this write.
            let ttl = session.ttl(now, self.idle_secs());
            if !self.store.set_xx_ex(&key, &record, ttl)? {
                return Ok(None);
            }
        }
        Ok(Some((binding, session)))
    }

    /// Blocking: stores a new session of the provider configuration `binding` under a fresh
    /// random id.
    pub fn create(
        &self,
        session: &Session,
        binding: &SessionBinding,
        now: u64,
    ) -> Result<SessionId, StoreError> {
        let id = SessionId::random();
        let key = self.session_key(&id);
        let record = seal_record(&self.keys, &key, binding, session)?;
        self.store
            .set_ex(&key, &record, session.ttl(now, self.idle_secs()))?;
        Ok(id)
    }

    /// Blocking: removes the session from Redis and from this process's cache, then tells
    /// the other workers and servers (the revocation channel). The session is ended once
    /// Redis deleted it: a refused announcement is logged, not returned.
    pub fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        let digest = id.digest();
        self.cache.remove(&digest);
        self.store.del(&self.session_key(id))?;
        // Announced even with this process's cache off: other servers on this Redis may cache.
        if let Err(e) = self.announce_revoked(&digest) {
            emit(
                LogLevel::Warn,
                &format!(
                    "sesame: session {} ended in Redis, but announcing it on channel \"{}\" failed ({e}): workers that cached it may serve it until their session cache lifetime ends. The Redis user needs the channel permission: ACL SETUSER <user> &{}",
                    &hex::encode(digest)[..12],
                    self.channel,
                    self.channel
                ),
            );
        }
        Ok(())
    }

    fn token_key(&self, id: &SessionId) -> String {
        format!("{}t:{}", self.keys.namespace, id.digest_hex())
    }

    fn seal_tokens(&self, key: &str, grant: &AccessGrant) -> Result<Vec<u8>, StoreError> {
        let json = serde_json::to_vec(grant)
            .map_err(|e| StoreError(format!("cannot encode the kept token: {e}")))?;
        Ok(aead::seal(&self.keys.enc, key.as_bytes(), &json))
    }

    fn open_tokens(&self, key: &str, record: &[u8]) -> Option<AccessGrant> {
        let json = aead::open(&self.keys.enc, key.as_bytes(), record)?;
        serde_json::from_slice(&json).ok()
    }

    /// Blocking: keeps `grant` beside the session for `ttl_secs`.
    pub fn keep_tokens(
        &self,
        id: &SessionId,
        grant: &AccessGrant,
        ttl_secs: u64,
    ) -> Result<(), StoreError> {
        let key = self.token_key(id);
        let record = self.seal_tokens(&key, grant)?;
        self.store.set_ex(&key, &record, ttl_secs)
    }

    /// Blocking: takes the kept token away (GETDEL): no other request gets it after this one.
    /// This process stops looking for it.
    pub fn take_tokens(&self, id: &SessionId) -> Result<Option<AccessGrant>, StoreError> {
        let key = self.token_key(id);
        let taken = self.store.take(&key)?;
        self.cache.forget_token(&id.digest());
        Ok(taken.and_then(|record| self.open_tokens(&key, &record)))
    }

    /// Blocking: reads the kept token, leaving it in place.
    pub fn read_tokens(&self, id: &SessionId) -> Result<Option<AccessGrant>, StoreError> {
        let key = self.token_key(id);
        let record = self.store.get(&key)?;
        if record.is_none() {
            self.cache.forget_token(&id.digest());
        }
        Ok(record.and_then(|record| self.open_tokens(&key, &record)))
    }

    /// Blocking: replaces the kept token (after a refresh) only if it is still kept: a logout
    /// that took it meanwhile is not undone. False when nothing was written.
    pub fn replace_tokens(
        &self,
        id: &SessionId,
        grant: &AccessGrant,
        ttl_secs: u64,
    ) -> Result<bool, StoreError> {
        let key = self.token_key(id);
        let record = self.seal_tokens(&key, grant)?;
        self.store.set_xx_ex(&key, &record, ttl_secs)
    }

    fn refresh_claim_key(&self, id: &SessionId) -> String {
        format!("{}r:{}", self.keys.namespace, id.digest_hex())
    }

    /// Blocking: claims the right to refresh the session's kept token for `ttl_secs` (SET NX):
    /// true for one request at a time across every worker and server, so that a rotated
    /// refresh token is never presented twice (a provider may revoke the whole grant when it
    /// sees a used one again).
    pub fn claim_refresh(&self, id: &SessionId, ttl_secs: u64) -> Result<bool, StoreError> {
        self.store
            .set_nx_ex(&self.refresh_claim_key(id), b"1", ttl_secs.max(1))
    }

    /// Blocking: gives the claim back once the refreshed token is kept (or the refresh failed).
    pub fn release_refresh(&self, id: &SessionId) -> Result<(), StoreError> {
        self.store.del(&self.refresh_claim_key(id))
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

    fn fc() -> SessionBinding {
        SessionBinding::new("https://idp", "client")
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
        let id = s.create(&session(1000), &fc(), 1000).unwrap();
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
        assert_eq!(s.load(&fc(), &id, 1001).unwrap().unwrap().sub, "abc");
        // Another secret cannot read it even with the right key name.
        let other = Sessions::new(
            Box::new(Arc::clone(&store)),
            Keys::derive(&[2; 32]),
            settings(0),
        );
        assert!(other.store.get(&stored[0]).unwrap().is_some());
        assert!(open_record(&other.keys, &stored[0], &raw).is_none());
        assert!(open_record(&keys, &stored[0], &raw).is_some());
        s.delete(&id).unwrap();
        assert!(s.load(&fc(), &id, 1002).unwrap().is_none());
    }

    #[test]
    fn session_opens_only_for_the_issuer_and_client_id_that_created_it() {
        let store = Arc::new(MemoryStore::new());
        let s = Sessions::new(
            Box::new(Arc::clone(&store)),
            Keys::derive(&[1; 32]),
            settings(0),
        );
        let id = s.create(&session(1000), &fc(), 1000).unwrap();
        for other in [
            SessionBinding::new("https://other-idp", "client"),
            SessionBinding::new("https://idp", "other-client"),
        ] {
            assert_eq!(s.load(&other, &id, 1001), Ok(None), "{other:?}");
        }
        assert!(s.load(&fc(), &id, 1001).unwrap().is_some());
        let (binding, _) = s.load_with(&id, 1001, |_| true).unwrap().unwrap();
        assert_eq!(binding, fc());
    }

    #[test]
    fn a_record_whose_binding_was_rewritten_does_not_open() {
        let store = Arc::new(MemoryStore::new());
        let keys = Keys::derive(&[1; 32]);
        let s = Sessions::new(Box::new(Arc::clone(&store)), keys.clone(), settings(0));
        let id = s.create(&session(1000), &fc(), 1000).unwrap();
        let key = s.session_key(&id);
        let mut record = store.get(&key).unwrap().unwrap();
        // Someone with write access to Redis relabels the record for another provider.
        let other = SessionBinding::new("https://other-idp", "client");
        record[RECORD_MAGIC.len()..RECORD_HEADER].copy_from_slice(other.as_bytes());
        store.set_ex(&key, &record, 60).unwrap();
        assert_eq!(s.load(&other, &id, 1001), Ok(None));
        assert_eq!(s.load(&fc(), &id, 1001), Ok(None));
    }

    #[test]
    fn a_record_of_the_previous_format_is_no_session() {
        let store = Arc::new(MemoryStore::new());
        let keys = Keys::derive(&[1; 32]);
        let s = Sessions::new(Box::new(Arc::clone(&store)), keys.clone(), settings(0));
        let id = SessionId::random();
        let key = s.session_key(&id);
        // Before sessions were bound: AEAD(aad = key name, JSON) with no header.
        let json = serde_json::to_vec(&session(1000)).unwrap();
        let old = aead::seal(&keys.enc, key.as_bytes(), &json);
        store.set_ex(&key, &old, 60).unwrap();
        assert_eq!(s.load(&fc(), &id, 1001), Ok(None));
        assert_eq!(s.load_with(&id, 1001, |_| true), Ok(None));
        for junk in [&b""[..], b"S2", b"S2short", &[0u8; 200][..]] {
            store.set_ex(&key, junk, 60).unwrap();
            assert_eq!(s.load_with(&id, 1001, |_| true), Ok(None));
        }
    }

    #[test]
    fn idle_session_is_not_loaded() {
        let s = Sessions::new(
            Box::new(MemoryStore::new()),
            Keys::derive(&[1; 32]),
            settings(0),
        );
        let id = s.create(&session(1000), &fc(), 1000).unwrap();
        assert!(s.load(&fc(), &id, 1000 + 1799).unwrap().is_some());
        // The load above refreshed activity at 2799; idle timeout counts from there.
        assert!(s.load(&fc(), &id, 2799 + 1800).unwrap().is_none());
    }

    /// A store on which another worker (logout) or the operator (`sesame sessions kill`)
    /// deletes the session right after each read, before the reader's activity refresh.
    struct DeletedAfterRead(MemoryStore);

    impl Store for DeletedAfterRead {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            let value = self.0.get(key)?;
            self.0.del(key)?;
            Ok(value)
        }
        fn set_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<(), StoreError> {
            self.0.set_ex(key, value, ttl_secs)
        }
        fn set_nx_ex(&self, key: &str, value: &[u8], ttl: u64) -> Result<bool, StoreError> {
            self.0.set_nx_ex(key, value, ttl)
        }
        fn set_xx_ex(&self, key: &str, value: &[u8], ttl: u64) -> Result<bool, StoreError> {
            self.0.set_xx_ex(key, value, ttl)
        }
        fn del(&self, key: &str) -> Result<(), StoreError> {
            self.0.del(key)
        }
        fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            self.0.take(key)
        }
    }

    #[test]
    fn a_logout_between_the_read_and_the_activity_refresh_is_not_undone() {
        let store = Arc::new(DeletedAfterRead(MemoryStore::new()));
        let s = Sessions::new(
            Box::new(Arc::clone(&store)),
            Keys::derive(&[1; 32]),
            settings(0),
        );
        let id = s.create(&session(1000), &fc(), 1000).unwrap();
        // Two minutes later the read is due for an activity refresh; the session is deleted
        // between the GET and the write.
        assert_eq!(
            s.load(&fc(), &id, 1120),
            Ok(None),
            "a deleted session is not granted"
        );
        assert!(
            store.0.keys().is_empty(),
            "the refresh did not bring the deleted session back"
        );
    }

    #[test]
    fn cached_session_needs_no_store() {
        let store = MemoryStore::new();
        let s = Sessions::new(Box::new(store), Keys::derive(&[1; 32]), settings(60));
        let id = s.create(&session(1000), &fc(), 1000).unwrap();
        assert!(s.cached(&id, 1001).is_none(), "creating does not cache");
        s.cache.feed_subscribed(super::super::cache::clock_ms());
        s.remember(
            s.cache_ticket(),
            &id,
            &session(1000),
            &fc(),
            Identity::default(),
        );
        let hit = s.cached(&id, 1001).unwrap();
        assert!(hit.is_bound_to(&fc()));
        assert!(!hit.is_bound_to(&SessionBinding::new("https://other-idp", "client")));
        assert!(
            s.cached(&id, 1000 + 43_200).is_none(),
            "absolute expiry applies to cache hits"
        );
    }

    #[test]
    fn ending_a_session_announces_its_digest_never_its_id() {
        let store = Arc::new(MemoryStore::new());
        let keys = Keys::derive(&[1; 32]);
        let s = Sessions::new(Box::new(Arc::clone(&store)), keys.clone(), settings(0));
        let id = s.create(&session(1000), &fc(), 1000).unwrap();
        s.delete(&id).unwrap();
        let published = store.published();
        assert_eq!(
            published,
            vec![(
                format!("{}revoked", keys.namespace()),
                id.digest_hex().into_bytes()
            )],
            "announced even with this process's cache off"
        );
        assert!(s.load(&fc(), &id, 1001).unwrap().is_none());
    }

    /// A store whose PUBLISH is refused (an ACL user without the channel permission).
    struct NoChannelPermission(MemoryStore);

    impl Store for NoChannelPermission {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            self.0.get(key)
        }
        fn set_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<(), StoreError> {
            self.0.set_ex(key, value, ttl_secs)
        }
        fn set_nx_ex(&self, key: &str, value: &[u8], ttl: u64) -> Result<bool, StoreError> {
            self.0.set_nx_ex(key, value, ttl)
        }
        fn set_xx_ex(&self, key: &str, value: &[u8], ttl: u64) -> Result<bool, StoreError> {
            self.0.set_xx_ex(key, value, ttl)
        }
        fn del(&self, key: &str) -> Result<(), StoreError> {
            self.0.del(key)
        }
        fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            self.0.take(key)
        }
        fn publish(&self, _channel: &str, _message: &[u8]) -> Result<(), StoreError> {
            Err(StoreError("NOPERM this user has no permissions to access one of the channels used as arguments".into()))
        }
    }

    #[test]
    fn a_refused_announcement_does_not_fail_the_logout() {
        let store = Arc::new(NoChannelPermission(MemoryStore::new()));
        let s = Sessions::new(
            Box::new(Arc::clone(&store)),
            Keys::derive(&[1; 32]),
            settings(5),
        );
        let id = s.create(&session(1000), &fc(), 1000).unwrap();
        assert_eq!(s.delete(&id), Ok(()));
        assert!(store.0.keys().is_empty(), "the session is gone from Redis");
    }
}
