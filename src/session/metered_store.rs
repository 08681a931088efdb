//! A store whose every command is timed and counted (`sesame_redis_duration_seconds`,
//! `sesame_redis_errors_total`): the engine wraps its store in one, so each Redis command of
//! every path is measured in one place.

use std::time::Instant;

use super::store::{Store, StoreError, Subscription};
use crate::metrics::{Metrics, RedisOp};

pub struct MeteredStore {
    inner: Box<dyn Store>,
    metrics: Metrics,
}

impl MeteredStore {
    pub fn new(inner: Box<dyn Store>, metrics: Metrics) -> MeteredStore {
        MeteredStore { inner, metrics }
    }

    fn timed<T>(
        &self,
        op: RedisOp,
        run: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = run();
        self.metrics.redis(op, started.elapsed(), result.is_err());
        result
    }
}

impl Store for MeteredStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.timed(RedisOp::Read, || self.inner.get(key))
    }
    fn set_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<(), StoreError> {
        self.timed(RedisOp::Write, || self.inner.set_ex(key, value, ttl_secs))
    }
    fn set_nx_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<bool, StoreError> {
        self.timed(RedisOp::Write, || {
            self.inner.set_nx_ex(key, value, ttl_secs)
        })
    }
    fn set_xx_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<bool, StoreError> {
        self.timed(RedisOp::Write, || {
            self.inner.set_xx_ex(key, value, ttl_secs)
        })
    }
    fn del(&self, key: &str) -> Result<(), StoreError> {
        self.timed(RedisOp::Delete, || self.inner.del(key))
    }
    fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.timed(RedisOp::Read, || self.inner.take(key))
    }
    fn label(&self) -> String {
        self.inner.label()
    }
    // The revocation feed: a PUBLISH is one more command; a subscription is a connection of
    // its own that lives as long as the worker, not a command to time.
    fn publish(&self, channel: &str, message: &[u8]) -> Result<(), StoreError> {
        self.timed(RedisOp::Write, || self.inner.publish(channel, message))
    }
    fn subscribe(&self, channel: &str) -> Result<Box<dyn Subscription>, StoreError> {
        self.inner.subscribe(channel)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::session::store::FeedEvent;
    use crate::session::MemoryStore;

    // Every method of the trait reaches the wrapped store: one the wrapper forgot would fall to
    // the trait's default (no pub/sub, a generic label) without a compile error.
    #[test]
    fn publish_subscribe_and_label_reach_the_wrapped_store() {
        let inner = Arc::new(MemoryStore::new());
        let metered = MeteredStore::new(
            Box::new(Arc::clone(&inner)),
            Metrics::new(vec!["op".into()], Vec::new()).expect("maps the table"),
        );
        assert_eq!(metered.label(), inner.label());
        let mut feed = metered
            .subscribe("sesame:test:revoked")
            .expect("subscribes");
        metered
            .publish("sesame:test:revoked", b"digest")
            .expect("publishes");
        let got = feed.next(std::time::Duration::from_secs(1));
        assert!(
            matches!(&got, Ok(Some(FeedEvent::Message(m))) if m == b"digest"),
            "{got:?}"
        );
    }
}
