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
}
