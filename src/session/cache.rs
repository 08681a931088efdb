//! Per-process cache of validated sessions, so the steady state of a logged-in user costs no
//! Redis round trip. Short-lived by design (`sesame_session_cache`, default 5 s): a logout in
//! another worker is seen at most that late. Zero disables it. A session this process deletes
//! (logout, a new login replacing it) is kept out for one lifetime, so a job that read it from
//! Redis just before the deletion cannot put it back.
//!
//! Memory: entries are keyed by the raw SHA-256 of the session id and hold only what a
//! request needs: the identity it grants (compact and shared with the requests using it, see
//! `identity`) and the session's deadlines. Expired entries are swept once per lifetime, so
//! the cache holds the sessions seen in the last one or two lifetimes, never more than
//! `MAX_ENTRIES` (about 560 bytes each with FranceConnect's claims: the budget is <= 10 MiB for
//! 10,000 sessions).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{Session, SessionBinding};
use crate::identity::Identity;

/// Bound on memory: a flood of distinct valid cookies cannot grow the cache without limit.
const MAX_ENTRIES: usize = 10_000;

/// SHA-256 of a session id.
pub type Digest = [u8; 32];

/// A session as the hot path needs it: the identity it grants, the provider configuration it
/// is bound to, and when it ends.
#[derive(Debug, Clone)]
pub struct CachedSession {
    pub identity: Identity,
    binding: SessionBinding,
    refreshed: u64,
    expires: u64,
    /// `Session::token_until`, set to 0 once this process took the token or found none.
    pub token_until: u64,
}

impl CachedSession {
    /// `identity` must be the one `session` grants (built with its own provider's settings).
    pub fn new(session: &Session, binding: SessionBinding, identity: Identity) -> CachedSession {
        CachedSession {
            identity,
            binding,
            refreshed: session.refreshed,
            expires: session.expires,
            token_until: session.token_until,
        }
    }

    /// Created by the provider configuration `binding` (issuer and client_id)?
    pub fn is_bound_to(&self, binding: &SessionBinding) -> bool {
        self.binding == *binding
    }

    /// As `Session::is_live`.
    pub fn is_live(&self, now: u64, idle_secs: u64) -> bool {
        now < self.expires && now < self.refreshed.saturating_add(idle_secs)
    }
}

/// `None`: a session deleted by this process less than a lifetime ago (a tombstone), which a
/// job that read it from Redis just before the deletion must not put back.
struct Entries {
    map: HashMap<Digest, (Option<CachedSession>, Instant)>,
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

    /// The entry, if cached less than a lifetime ago (a copy: an identity reference and two
    /// numbers).
    pub fn get(&self, digest: &Digest) -> Option<CachedSession> {
        if !self.enabled() {
            return None;
        }
        let mut entries = self.entries.lock();
        match entries.map.get(digest) {
            Some((s, at)) if at.elapsed() < self.ttl => s.clone(),
            Some(_) => {
                entries.map.remove(digest);
                None
            }
            None => None,
        }
    }

    pub fn insert(&self, digest: Digest, session: CachedSession) {
        if !self.enabled() {
            return;
        }
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
        if matches!(entries.map.get(&digest), Some((None, at)) if at.elapsed() < ttl) {
            // Deleted meanwhile (logout, new login): stays out.
            return;
        }
        entries.map.insert(digest, (Some(session), Instant::now()));
    }

    /// Notes that the session's kept token is gone (taken, or found missing): later requests of
    /// this process do not look for it again.
    pub fn forget_token(&self, digest: &Digest) {
        if let Some((Some(s), _)) = self.entries.lock().map.get_mut(digest) {
            s.token_until = 0;
        }
    }

    /// Forgets a session and keeps it out for one lifetime (see [`Entries`]).
    pub fn remove(&self, digest: &Digest) {
        let mut entries = self.entries.lock();
        if self.enabled() {
            entries.map.insert(*digest, (None, Instant::now()));
        } else {
            entries.map.remove(digest);
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.lock().map.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityFields;

    fn entry() -> CachedSession {
        entry_of("s")
    }

    fn entry_of(sub: &str) -> CachedSession {
        let session = Session {
            provider: "fc".into(),
            issuer: "i".into(),
            sub: sub.into(),
            acr: "eidas1".into(),
            claims: Default::default(),
            id_token: "t".into(),
            created: 0,
            refreshed: 0,
            expires: u64::MAX,
            ..Default::default()
        };
        let identity = Identity::new(
            IdentityFields {
                provider: "fc",
                sub,
                ..Default::default()
            },
            &[],
        );
        CachedSession::new(&session, SessionBinding::new("i", "c"), identity)
    }

    fn key(i: usize) -> Digest {
        let mut d = [0u8; 32];
        d[..8].copy_from_slice(&(i as u64).to_le_bytes());
        d
    }

    #[test]
    fn cache_ttl_zero_disables_the_cache() {
        let cache = SessionCache::new(Duration::ZERO);
        cache.insert(key(1), entry());
        assert!(cache.get(&key(1)).is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn cached_session_expires_after_ttl() {
        let cache = SessionCache::new(Duration::from_millis(50));
        cache.insert(key(1), entry());
        assert!(cache.get(&key(1)).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get(&key(1)).is_none());
    }

    #[test]
    fn cache_size_is_capped() {
        let cache = SessionCache::new(Duration::from_secs(60));
        for i in 0..(MAX_ENTRIES + 5) {
            cache.insert(key(i), entry());
        }
        assert!(cache.len() <= MAX_ENTRIES);
    }

    #[test]
    fn a_hit_shares_the_cached_identity() {
        let cache = SessionCache::new(Duration::from_secs(60));
        cache.insert(key(1), entry_of("abc"));
        let first = cache.get(&key(1)).unwrap();
        let second = cache.get(&key(1)).unwrap();
        assert_eq!(second.identity.sub(), "abc");
        assert!(std::ptr::eq(
            first.identity.sub().as_ptr(),
            second.identity.sub().as_ptr()
        ));
    }

    #[test]
    fn liveness_follows_the_session_deadlines() {
        let mut e = entry();
        e.refreshed = 1000;
        e.expires = 5000;
        assert!(e.is_live(1000 + 1799, 1800));
        assert!(!e.is_live(1000 + 1800, 1800), "idle timeout");
        e.refreshed = 4000;
        assert!(!e.is_live(5000, 1800), "absolute expiry");
    }

    #[test]
    fn a_session_removed_is_not_put_back_by_a_late_insert() {
        let cache = SessionCache::new(Duration::from_millis(200));
        cache.insert(key(1), entry());
        // A job read the session from Redis just before a logout in this process deleted it,
        // and caches it just after.
        cache.remove(&key(1));
        cache.insert(key(1), entry());
        assert!(cache.get(&key(1)).is_none());
        cache.remove(&key(2));
        cache.insert(key(2), entry());
        assert!(
            cache.get(&key(2)).is_none(),
            "removed before it was ever cached"
        );
        cache.insert(key(3), entry());
        assert!(
            cache.get(&key(3)).is_some(),
            "other sessions are unaffected"
        );
    }

    #[test]
    fn expired_entries_are_swept_on_insert_after_a_lifetime() {
        let cache = SessionCache::new(Duration::from_millis(40));
        for i in 0..100 {
            cache.insert(key(i), entry());
        }
        assert_eq!(cache.len(), 100);
        std::thread::sleep(Duration::from_millis(50));
        // Nobody asks for the 100 old sessions again; one new insert clears them out.
        cache.insert(key(1000), entry());
        assert_eq!(cache.len(), 1);
    }
}
