//! Per-process cache of validated sessions, so the steady state of a logged-in user costs no
//! Redis round trip (`sesame_session_cache`, default 5 s; zero disables it).
//!
//! Revocation: a session ended anywhere (logout or a new login in another worker or server,
//! `sesame sessions kill`) is announced on the namespace's revocation channel, and this
//! process's feed (`revocation`) evicts it at once. The cache is trusted only while that feed
//! vouches for it — subscribed, and its last heartbeat answered less than [`TRUST_WINDOW`] ago —
//! otherwise every request reads Redis: a revocation is never missed for longer than that,
//! whatever the cache lifetime. Each (re)subscription clears the cache (messages may have been
//! missed meanwhile).
//!
//! Races: a job reads a session from Redis, then caches it. If the session is revoked in
//! between, the eviction came before the insert. Every eviction (and every subscription)
//! moves a generation counter on; an insert carries the generation seen before its read
//! ([`CacheTicket`]) and is dropped if it moved. A session this process deletes itself is also
//! kept out for one lifetime (a tombstone).
//!
//! Memory: entries are keyed by the raw SHA-256 of the session id and hold only what a
//! request needs: the identity it grants (compact and shared with the requests using it, see
//! `identity`) and the session's deadlines. Expired entries are swept once per lifetime, so
//! the cache holds the sessions seen in the last one or two lifetimes, never more than
//! `MAX_ENTRIES` (about 560 bytes each with FranceConnect's claims: the budget is <= 10 MiB for
//! 10,000 sessions).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{Session, SessionBinding};
use crate::identity::Identity;

/// Bound on memory: a flood of distinct valid cookies cannot grow the cache without limit.
const MAX_ENTRIES: usize = 10_000;

/// SHA-256 of a session id.
pub type Digest = [u8; 32];

/// How long after its last proof of delivery (a heartbeat answered, or the subscription) the
/// revocation feed vouches for the cache: the longest a revoked session can still be served
/// from it when the feed's connection dies silently.
pub const TRUST_WINDOW: Duration = Duration::from_secs(1);

/// Milliseconds on a monotonic clock, never 0 (0 means "never" below).
pub fn clock_ms() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let since = ORIGIN.get_or_init(Instant::now).elapsed().as_millis();
    u64::try_from(since).unwrap_or(u64::MAX - 1) + 1
}

/// The cache generation seen before a read from Redis (see the module's "Races").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheTicket(u64);

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

impl Entries {
    /// Drops what is older than `ttl`; empties the map if it is still full.
    fn sweep(&mut self, ttl: Duration) {
        self.map.retain(|_, (_, at)| at.elapsed() < ttl);
        self.last_sweep = Instant::now();
        if self.map.len() >= MAX_ENTRIES {
            self.map.clear();
        }
        // Give back what a burst of sessions left allocated.
        if self.map.capacity() > 2 * self.map.len() + 64 {
            self.map.shrink_to_fit();
        }
    }
}

pub struct SessionCache {
    ttl: Duration,
    entries: Mutex<Entries>,
    /// Moves on at every eviction by the feed and every subscription; changed under the
    /// `entries` lock, read without it by [`SessionCache::ticket`].
    generation: AtomicU64,
    /// [`clock_ms`] up to which every revocation published has been applied here (0: the
    /// feed is not subscribed, or was never started: the cache is not trusted).
    vouched_ms: AtomicU64,
}

impl SessionCache {
    pub fn new(ttl: Duration) -> SessionCache {
        SessionCache {
            ttl,
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                last_sweep: Instant::now(),
            }),
            generation: AtomicU64::new(0),
            vouched_ms: AtomicU64::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// Does the revocation feed vouch for the cache right now?
    pub fn trusted(&self) -> bool {
        self.trusted_at(clock_ms())
    }

    fn trusted_at(&self, now_ms: u64) -> bool {
        let vouched = self.vouched_ms.load(Ordering::Acquire);
        vouched != 0 && now_ms.saturating_sub(vouched) <= TRUST_WINDOW.as_millis() as u64
    }

    /// To take before reading a session from Redis, for [`SessionCache::insert`].
    pub fn ticket(&self) -> CacheTicket {
        CacheTicket(self.generation.load(Ordering::Acquire))
    }

    /// The feed is subscribed (again), since `since_ms`: what was cached before may have
    /// missed revocations, so it goes, and reads in flight do not come back.
    pub fn feed_subscribed(&self, since_ms: u64) {
        let mut entries = self.entries.lock();
        entries.map.clear();
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.vouched_ms.store(since_ms, Ordering::Release);
    }

    /// Every revocation published before `sent_ms` has been applied (a heartbeat sent then was
    /// answered after them).
    pub fn feed_confirmed(&self, sent_ms: u64) {
        self.vouched_ms.fetch_max(sent_ms, Ordering::AcqRel);
    }

    /// The feed lost its connection: nothing is served from the cache until it is back.
    pub fn feed_lost(&self) {
        self.vouched_ms.store(0, Ordering::Release);
    }

    /// A session revoked elsewhere: out of the cache, and reads in flight do not put it back.
    pub fn revoke(&self, digest: &Digest) {
        let mut entries = self.entries.lock();
        entries.map.remove(digest);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The entry, if cached less than a lifetime ago and the feed vouches for the cache (a
    /// copy: an identity reference and two numbers).
    pub fn get(&self, digest: &Digest) -> Option<CachedSession> {
        if !self.enabled() || !self.trusted() {
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

    /// Caches `session`, unless a revocation or a subscription happened since `ticket` was
    /// taken (before the read that found it).
    pub fn insert(&self, ticket: CacheTicket, digest: Digest, session: CachedSession) {
        if !self.enabled() {
            return;
        }
        let ttl = self.ttl;
        let mut entries = self.entries.lock();
        if self.generation.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        if entries.last_sweep.elapsed() >= ttl || entries.map.len() >= MAX_ENTRIES {
            entries.sweep(ttl);
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
            if entries.map.len() >= MAX_ENTRIES {
                entries.sweep(self.ttl);
            }
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

    /// A cache whose feed is subscribed.
    fn vouched(ttl: Duration) -> SessionCache {
        let cache = SessionCache::new(ttl);
        cache.feed_subscribed(clock_ms());
        cache
    }

    fn put(cache: &SessionCache, digest: Digest, session: CachedSession) {
        cache.insert(cache.ticket(), digest, session);
    }

    fn key(i: usize) -> Digest {
        let mut d = [0u8; 32];
        d[..8].copy_from_slice(&(i as u64).to_le_bytes());
        d
    }

    #[test]
    fn cache_ttl_zero_disables_the_cache() {
        let cache = vouched(Duration::ZERO);
        put(&cache, key(1), entry());
        assert!(cache.get(&key(1)).is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn cached_session_expires_after_ttl() {
        let cache = vouched(Duration::from_millis(50));
        put(&cache, key(1), entry());
        assert!(cache.get(&key(1)).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get(&key(1)).is_none());
    }

    #[test]
    fn cache_size_is_capped() {
        let cache = vouched(Duration::from_secs(60));
        for i in 0..(MAX_ENTRIES + 5) {
            put(&cache, key(i), entry());
        }
        assert!(cache.len() <= MAX_ENTRIES);
    }

    #[test]
    fn a_hit_shares_the_cached_identity() {
        let cache = vouched(Duration::from_secs(60));
        put(&cache, key(1), entry_of("abc"));
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
        let cache = vouched(Duration::from_millis(200));
        put(&cache, key(1), entry());
        // A job read the session from Redis just before a logout in this process deleted it,
        // and caches it just after.
        cache.remove(&key(1));
        put(&cache, key(1), entry());
        assert!(cache.get(&key(1)).is_none());
        cache.remove(&key(2));
        put(&cache, key(2), entry());
        assert!(
            cache.get(&key(2)).is_none(),
            "removed before it was ever cached"
        );
        put(&cache, key(3), entry());
        assert!(
            cache.get(&key(3)).is_some(),
            "other sessions are unaffected"
        );
    }

    #[test]
    fn expired_entries_are_swept_on_insert_after_a_lifetime() {
        let cache = vouched(Duration::from_millis(40));
        for i in 0..100 {
            put(&cache, key(i), entry());
        }
        assert_eq!(cache.len(), 100);
        std::thread::sleep(Duration::from_millis(50));
        // Nobody asks for the 100 old sessions again; one new insert clears them out.
        put(&cache, key(1000), entry());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn the_cache_serves_nothing_unless_the_revocation_feed_vouches_for_it() {
        let cache = SessionCache::new(Duration::from_secs(300));
        put(&cache, key(1), entry());
        assert!(cache.get(&key(1)).is_none(), "feed never started");
        cache.feed_subscribed(clock_ms());
        assert!(
            cache.get(&key(1)).is_none(),
            "what was cached before the subscription is gone"
        );
        put(&cache, key(1), entry());
        assert!(cache.get(&key(1)).is_some());
        cache.feed_lost();
        assert!(cache.get(&key(1)).is_none(), "feed down: bypassed");
        cache.feed_subscribed(clock_ms());
        assert!(cache.get(&key(1)).is_none(), "cleared on resubscription");
    }

    #[test]
    fn trust_lapses_a_window_after_the_last_answered_heartbeat() {
        let cache = SessionCache::new(Duration::from_secs(300));
        let t0 = clock_ms();
        cache.feed_subscribed(t0);
        let window = TRUST_WINDOW.as_millis() as u64;
        assert!(cache.trusted_at(t0 + window));
        assert!(
            !cache.trusted_at(t0 + window + 1),
            "no heartbeat answered since"
        );
        cache.feed_confirmed(t0 + 500);
        assert!(cache.trusted_at(t0 + 500 + window));
        cache.feed_confirmed(t0 + 100);
        assert!(
            cache.trusted_at(t0 + 500 + window),
            "an older answer does not pull the proof back"
        );
    }

    #[test]
    fn a_revocation_evicts_and_a_read_in_flight_does_not_put_it_back() {
        let cache = vouched(Duration::from_secs(300));
        put(&cache, key(1), entry());
        put(&cache, key(2), entry());
        // A job took its ticket and read session 1 from Redis just before the kill...
        let before_read = cache.ticket();
        cache.revoke(&key(1));
        assert!(cache.get(&key(1)).is_none());
        assert!(cache.get(&key(2)).is_some(), "other sessions stay cached");
        // ...and caches what it read just after the eviction.
        cache.insert(before_read, key(1), entry());
        assert!(cache.get(&key(1)).is_none());
        // A read that started after the revocation caches as usual.
        put(&cache, key(3), entry());
        assert!(cache.get(&key(3)).is_some());
    }

    #[test]
    fn a_read_across_a_resubscription_is_not_cached() {
        let cache = vouched(Duration::from_secs(300));
        let before_read = cache.ticket();
        cache.feed_lost();
        cache.feed_subscribed(clock_ms());
        cache.insert(before_read, key(1), entry());
        assert!(cache.get(&key(1)).is_none());
    }

    #[test]
    fn tombstones_are_bounded_too() {
        let cache = vouched(Duration::from_secs(300));
        for i in 0..(MAX_ENTRIES + 5) {
            cache.remove(&key(i));
        }
        assert!(cache.len() <= MAX_ENTRIES);
    }
}
