//! Per-process cache of validated sessions, so the steady state of a logged-in user costs no
//! Redis round trip. Short-lived by design (`sesame_session_cache`, default 5 s): a logout in
//! another worker is seen at most that late. Zero disables it.
//!
//! Memory: entries are keyed by the raw SHA-256 of the session id and hold a copy of the session
//! without its id_token (only logout needs that, and logout reads Redis); expired entries are
//! swept once per lifetime, so the cache holds the sessions seen in the last one or two
//! lifetimes, never more than `MAX_ENTRIES`.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::Session;
use crate::api::Identity;

/// Bound on memory: a flood of distinct valid cookies cannot grow the cache without limit.
const MAX_ENTRIES: usize = 10_000;

/// SHA-256 of a session id.
pub type Digest = [u8; 32];

/// A cached session (read as a `Session`) and the identity it grants, built on the first hit
/// and cloned on the next ones (building it formats every claim twice, for Sesame's and for
/// mod_auth_openidc's variables: most of a protected request's CPU in `make bench`).
#[derive(Debug)]
pub struct CachedSession {
    session: Session,
    identity: OnceLock<Identity>,
}

impl CachedSession {
    /// The identity this session grants; `build` runs once per cache entry. A session is bound
    /// to one provider and the configuration does not change in a running process, so the
    /// identity is the same on every hit.
    pub fn identity(&self, build: impl FnOnce() -> Identity) -> Identity {
        self.identity.get_or_init(build).clone()
    }
}

impl Deref for CachedSession {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}

struct Entries {
    map: HashMap<Digest, (Arc<CachedSession>, Instant)>,
    last_sweep: Instant,
}

pub struct SessionCache {
    ttl: Duration,
    entries: Mutex<Entries>,
}

impl SessionCache {
    pub fn new(ttl: Duration) -> SessionCache {
        SessionCache {
            ttl,
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    pub fn get(&self, digest: &Digest) -> Option<Arc<CachedSession>> {
        if !self.enabled() {
            return None;
        }
        let mut entries = self.entries.lock();
        match entries.map.get(digest) {
            Some((s, at)) if at.elapsed() < self.ttl => Some(Arc::clone(s)),
            Some(_) => {
                entries.map.remove(digest);
                None
            }
            None => None,
        }
    }

    /// Caches a copy of `session` without its id_token.
    pub fn insert(&self, digest: Digest, session: &Session) {
        if !self.enabled() {
            return;
        }
        let copy = Arc::new(CachedSession {
            session: Session {
                provider: session.provider.clone(),
                issuer: session.issuer.clone(),
                sub: session.sub.clone(),
                acr: session.acr.clone(),
                claims: session.claims.clone(),
                id_token: String::new(),
                created: session.created,
                refreshed: session.refreshed,
                expires: session.expires,
            },
            identity: OnceLock::new(),
        });
        let ttl = self.ttl;
        let mut entries = self.entries.lock();
        if entries.last_sweep.elapsed() >= ttl || entries.map.len() >= MAX_ENTRIES {
            entries.map.retain(|_, (_, at)| at.elapsed() < ttl);
            entries.last_sweep = Instant::now();
            if entries.map.len() >= MAX_ENTRIES {
                entries.map.clear();
            }
            // Give back what a burst of sessions left allocated.
            if entries.map.capacity() > 2 * entries.map.len() + 64 {
                entries.map.shrink_to_fit();
            }
        }
        entries.map.insert(digest, (copy, Instant::now()));
    }

    pub fn remove(&self, digest: &Digest) {
        self.entries.lock().map.remove(digest);
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Arc<Session> {
        Arc::new(Session {
            provider: "fc".into(),
            issuer: "i".into(),
            sub: "s".into(),
            acr: "eidas1".into(),
            claims: Default::default(),
            id_token: "t".into(),
            created: 0,
            refreshed: 0,
            expires: u64::MAX,
        })
    }

    fn key(i: usize) -> Digest {
        let mut d = [0u8; 32];
        d[..8].copy_from_slice(&(i as u64).to_le_bytes());
        d
    }

    #[test]
    fn cache_ttl_zero_disables_the_cache() {
        let cache = SessionCache::new(Duration::ZERO);
        cache.insert(key(1), &session());
        assert!(cache.get(&key(1)).is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn cached_session_expires_after_ttl() {
        let cache = SessionCache::new(Duration::from_millis(50));
        cache.insert(key(1), &session());
        assert!(cache.get(&key(1)).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get(&key(1)).is_none());
    }

    #[test]
    fn cache_size_is_capped() {
        let cache = SessionCache::new(Duration::from_secs(60));
        for i in 0..(MAX_ENTRIES + 5) {
            cache.insert(key(i), &session());
        }
        assert!(cache.len() <= MAX_ENTRIES);
    }

    #[test]
    fn cached_copy_keeps_identity_but_not_the_id_token() {
        let cache = SessionCache::new(Duration::from_secs(60));
        let mut s = (*session()).clone();
        s.claims
            .insert("email".into(), serde_json::Value::String("a@b.fr".into()));
        cache.insert(key(1), &s);
        let cached = cache.get(&key(1)).unwrap();
        assert_eq!(cached.id_token, "", "the id_token stays in Redis only");
        assert_eq!(
            Session {
                id_token: s.id_token.clone(),
                ..(**cached).clone()
            },
            s
        );
    }

    #[test]
    fn identity_is_built_once_per_cache_entry() {
        let cache = SessionCache::new(Duration::from_secs(60));
        cache.insert(key(1), &session());
        let builds = std::cell::Cell::new(0);
        let build = || {
            builds.set(builds.get() + 1);
            Identity {
                user_key: "u1".into(),
                ..Default::default()
            }
        };
        let first = cache.get(&key(1)).unwrap().identity(build);
        let second = cache.get(&key(1)).unwrap().identity(build);
        assert_eq!(
            (first.user_key.as_str(), second.user_key.as_str()),
            ("u1", "u1")
        );
        assert_eq!(builds.get(), 1);
        // A new entry (reloaded from Redis) builds it again.
        cache.insert(key(1), &session());
        cache.get(&key(1)).unwrap().identity(build);
        assert_eq!(builds.get(), 2);
    }

    #[test]
    fn expired_entries_are_swept_on_insert_after_a_lifetime() {
        let cache = SessionCache::new(Duration::from_millis(40));
        for i in 0..100 {
            cache.insert(key(i), &session());
        }
        assert_eq!(cache.len(), 100);
        std::thread::sleep(Duration::from_millis(50));
        // Nobody asks for the 100 old sessions again; one new insert clears them out.
        cache.insert(key(1000), &session());
        assert_eq!(cache.len(), 1);
    }
}
