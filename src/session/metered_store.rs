//! A store whose every command is timed and counted (`sesame_redis_duration_seconds`,
//! `sesame_redis_errors_total`): the engine wraps its store in one, so each Redis command of
//! every path is measured in one place.

use std::time::Instant;

use super::store::{Store, StoreError};
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
}
