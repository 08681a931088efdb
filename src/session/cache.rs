//! Per-process cache of validated sessions, so the steady state of a logged-in user costs no
//! Redis round trip. Short-lived by design (`sesame_session_cache`, default 5 s): a logout in
//! another worker is seen at most that late. Zero disables it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::Session;

/// Bound on memory: a flood of distinct valid cookies cannot grow the cache without limit.
const MAX_ENTRIES: usize = 10_000;

pub struct SessionCache {
    ttl: Duration,
    /// Keyed by the hex SHA-256 of the session id.
    map: Mutex<HashMap<String, (Arc<Session>, Instant)>>,
}

impl SessionCache {
    pub fn new(ttl: Duration) -> SessionCache {
        SessionCache {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    pub fn get(&self, digest: &str) -> Option<Arc<Session>> {
        if !self.enabled() {
            return None;
        }
        let mut map = self.map.lock();
        match map.get(digest) {
            Some((s, at)) if at.elapsed() < self.ttl => Some(Arc::clone(s)),
            Some(_) => {
                map.remove(digest);
                None
            }
            None => None,
        }
    }

    pub fn insert(&self, digest: String, session: Arc<Session>) {
        if !self.enabled() {
            return;
        }
        let mut map = self.map.lock();
        if map.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            map.retain(|_, (_, at)| at.elapsed() < ttl);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(digest, (session, Instant::now()));
    }

    pub fn remove(&self, digest: &str) {
        self.map.lock().remove(digest);
    }

    pub fn len(&self) -> usize {
        self.map.lock().len()
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

    #[test]
    fn cache_ttl_zero_disables_the_cache() {
        let cache = SessionCache::new(Duration::ZERO);
        cache.insert("k".into(), session());
        assert!(cache.get("k").is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn cached_session_expires_after_ttl() {
        let cache = SessionCache::new(Duration::from_millis(50));
        cache.insert("k".into(), session());
        assert!(cache.get("k").is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("k").is_none());
    }

    #[test]
    fn cache_size_is_capped() {
        let cache = SessionCache::new(Duration::from_secs(60));
        for i in 0..(MAX_ENTRIES + 5) {
            cache.insert(format!("k{i}"), session());
        }
        assert!(cache.len() <= MAX_ENTRIES);
    }
}
