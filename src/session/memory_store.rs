//! A store in memory, for tests.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::store::{Store, StoreError};

/// In-memory store with expiry, for tests. `set_down(true)` simulates Redis being unreachable.
#[derive(Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, (Vec<u8>, Instant)>>,
    down: std::sync::atomic::AtomicBool,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError(
                "connection refused (memory store set down)".into(),
            ));
        }
        Ok(())
    }

    /// Keys currently held (tests inspect the layout).
    pub fn keys(&self) -> Vec<String> {
        let now = Instant::now();
        self.map
            .lock()
            .iter()
            .filter(|(_, (_, exp))| *exp > now)
            .map(|(k, _)| k.clone())
            .collect()
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.check()?;
        let now = Instant::now();
        Ok(self
            .map
            .lock()
            .get(key)
            .filter(|(_, exp)| *exp > now)
            .map(|(v, _)| v.clone()))
    }

    fn set_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<(), StoreError> {
        self.check()?;
        let exp = Instant::now() + Duration::from_secs(ttl_secs);
        self.map
            .lock()
            .insert(key.to_owned(), (value.to_vec(), exp));
        Ok(())
    }

    fn set_nx_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<bool, StoreError> {
        self.check()?;
        let now = Instant::now();
        let mut map = self.map.lock();
        if map.get(key).is_some_and(|(_, exp)| *exp > now) {
            return Ok(false);
        }
        map.insert(
            key.to_owned(),
            (value.to_vec(), now + Duration::from_secs(ttl_secs)),
        );
        Ok(true)
    }

    fn set_xx_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<bool, StoreError> {
        self.check()?;
        let now = Instant::now();
        let mut map = self.map.lock();
        match map.get_mut(key) {
            Some(entry) if entry.1 > now => {
                *entry = (value.to_vec(), now + Duration::from_secs(ttl_secs));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn del(&self, key: &str) -> Result<(), StoreError> {
        self.check()?;
        self.map.lock().remove(key);
        Ok(())
    }

    fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.check()?;
        let now = Instant::now();
        let taken = self.map.lock().remove(key);
        Ok(taken.filter(|(_, exp)| *exp > now).map(|(v, _)| v))
    }
}
