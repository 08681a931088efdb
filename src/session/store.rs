//! The key-value operations sessions need, behind a trait so unit tests run without Redis.

/// Redis unreachable, slow, or answering errors. The message is for the log (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

pub trait Store: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn set_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<(), StoreError>;
    /// SET NX EX: true when the key was created, false when it already existed.
    fn set_nx_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<bool, StoreError>;
    /// SET XX EX: true when the key existed and was replaced, false (nothing written) when it
    /// did not exist — a key deleted meanwhile stays deleted.
    fn set_xx_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<bool, StoreError>;
    fn del(&self, key: &str) -> Result<(), StoreError>;
    /// GETDEL: the value and its removal in one step, so that of two readers racing for a
    /// key exactly one gets it.
    fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// How log lines name the store (never with a password).
    fn label(&self) -> String {
        "the session store".into()
    }
    /// PUBLISH `message` on `channel` (every subscriber of every node of a cluster receives it).
    fn publish(&self, channel: &str, message: &[u8]) -> Result<(), StoreError> {
        let _ = (channel, message);
        Err(StoreError("this store has no publish/subscribe".into()))
    }
    /// SUBSCRIBE to `channel` on a connection of its own, the subscription confirmed by the
    /// server before this returns (bounded by the store's timeout).
    fn subscribe(&self, channel: &str) -> Result<Box<dyn Subscription>, StoreError> {
        let _ = channel;
        Err(StoreError("this store has no publish/subscribe".into()))
    }
}

/// What a subscription receives, in the order the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// A message published on the channel.
    Message(Vec<u8>),
    /// The answer to [`Subscription::ping`]: every message published before the heartbeat
    /// reached the server has been received before it.
    Pong,
}

/// One subscribed connection (owned by the thread that reads it).
pub trait Subscription: Send {
    /// The next event, waiting at most `wait`; `Ok(None)` when nothing came in that time. An
    /// error means the connection is unusable: subscribe again.
    fn next(&mut self, wait: std::time::Duration) -> Result<Option<FeedEvent>, StoreError>;
    /// Sends a heartbeat without waiting: its [`FeedEvent::Pong`] comes in order with the
    /// messages.
    fn ping(&mut self) -> Result<(), StoreError>;
}

/// Lets tests keep a handle on the store they give to the engine.
impl<T: Store + ?Sized> Store for std::sync::Arc<T> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key)
    }
    fn set_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<(), StoreError> {
        (**self).set_ex(key, value, ttl_secs)
    }
    fn set_nx_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<bool, StoreError> {
        (**self).set_nx_ex(key, value, ttl_secs)
    }
    fn set_xx_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<bool, StoreError> {
        (**self).set_xx_ex(key, value, ttl_secs)
    }
    fn del(&self, key: &str) -> Result<(), StoreError> {
        (**self).del(key)
    }
    fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).take(key)
    }
    fn label(&self) -> String {
        (**self).label()
    }
    fn publish(&self, channel: &str, message: &[u8]) -> Result<(), StoreError> {
        (**self).publish(channel, message)
    }
    fn subscribe(&self, channel: &str) -> Result<Box<dyn Subscription>, StoreError> {
        (**self).subscribe(channel)
    }
}
