//! Sessions: the browser cookies (session id + MAC, encrypted login/logout state), the session
//! record kept encrypted in Redis, the per-process cache and the revocation feed that keeps it
//! honest, and the single-use state marker.

mod admin;
mod aead;
mod binding;
mod cache;
pub(crate) mod cookie;
mod keys;
pub(crate) mod login_state;
#[cfg(test)]
mod memory_store;
mod metered_store;
mod model;
mod redis_store;
pub(crate) mod redis_target;
pub(crate) mod revocation;
mod sessions;
mod store;

use std::time::Duration;

pub use admin::{SessionAdmin, SessionFilter, StoredSession};
pub use binding::SessionBinding;
pub use cache::{CachedSession, SessionCache};
pub use cookie::{
    cookie_value, cookie_values, has_own_cookies, without_own_cookies, write_without_own_cookies,
    CookieNames, SessionId,
};
pub use keys::Keys;
pub use login_state::{ct_eq, LoginState, LogoutState, PendingLogin, LOGIN_STATE_MAX_AGE};
#[cfg(test)]
pub use memory_store::MemoryStore;
pub use metered_store::MeteredStore;
pub use model::{Session, SessionData};
pub use redis_store::{RedisStore, RedisTls};
pub use redis_target::{redacted_url, RedisTarget};
pub use sessions::Sessions;
pub use store::{Store, StoreError};

/// Session-related settings from the http-level directives.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    pub redis_timeout: Duration,
    /// Per-process cache lifetime of a validated session; zero disables the cache.
    pub cache_ttl: Duration,
    pub idle_timeout: Duration,
    pub lifetime: Duration,
}

/// Seconds since the Unix epoch (0 if the clock is before 1970, which never happens in practice).
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // getrandom only fails when the OS has no entropy source at all; aborting the request is
    // the only safe answer, and a panic is caught at the FFI/adapter boundary.
    if getrandom::fill(&mut buf).is_err() {
        panic!("the operating system's random number generator failed");
    }
    buf
}

/// 32 CSPRNG bytes as 64 lowercase hex chars (state, nonce: docs/federations.md §3.7).
pub fn random_token() -> String {
    hex::encode(random_bytes::<32>())
}
