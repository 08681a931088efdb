//! A store in memory, for tests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::store::{FeedEvent, Store, StoreError, Subscription};

/// In-memory store with expiry and publish/subscribe, for tests. `set_down(true)` simulates
/// Redis being unreachable (subscriptions break, as a restart breaks them).
#[derive(Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, (Vec<u8>, Instant)>>,
    down: Arc<AtomicBool>,
    subscribers: Mutex<Vec<(String, mpsc::Sender<FeedEvent>)>>,
    published: Mutex<Vec<(String, Vec<u8>)>>,
}

struct MemorySubscription {
    events: mpsc::Receiver<FeedEvent>,
    to_self: mpsc::Sender<FeedEvent>,
    down: Arc<AtomicBool>,
}

impl Subscription for MemorySubscription {
    fn next(&mut self, wait: Duration) -> Result<Option<FeedEvent>, StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError(
                "connection reset (memory store set down)".into(),
            ));
        }
        match self.events.recv_timeout(wait) {
            Ok(event) => Ok(Some(event)),
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(StoreError("subscription dropped".into()))
            }
        }
    }

    fn ping(&mut self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError(
                "connection reset (memory store set down)".into(),
            ));
        }
        let _ = self.to_self.send(FeedEvent::Pong);
        Ok(())
    }
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if down {
            // A restart drops every subscribed connection.
            self.subscribers.lock().clear();
        }
    }

    /// Every message published so far, in order.
    pub fn published(&self) -> Vec<(String, Vec<u8>)> {
        self.published.lock().clone()
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
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

    fn publish(&self, channel: &str, message: &[u8]) -> Result<(), StoreError> {
        self.check()?;
        self.published
            .lock()
            .push((channel.to_owned(), message.to_vec()));
        self.subscribers.lock().retain(|(subscribed, to)| {
            subscribed != channel || to.send(FeedEvent::Message(message.to_vec())).is_ok()
        });
        Ok(())
    }

    fn subscribe(&self, channel: &str) -> Result<Box<dyn Subscription>, StoreError> {
        self.check()?;
        let (to, events) = mpsc::channel();
        self.subscribers
            .lock()
            .push((channel.to_owned(), to.clone()));
        Ok(Box::new(MemorySubscription {
            events,
            to_self: to,
            down: Arc::clone(&self.down),
        }))
    }
}
