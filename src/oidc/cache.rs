//! Per-provider cache of discovery metadata and signing keys.
//!
//! Both are trusted for `metadata_ttl` and refetched together afterwards. Key rotation is
//! handled by a forced JWKS refetch when a token names an unknown kid (or fails to verify with
//! a cached key), limited to one per [`FORCED_REFETCH_INTERVAL`] so that a flood of forged
//! tokens cannot turn us into a JWKS-fetching amplifier.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use super::jwks::KeySet;
use super::{discovery, jwks, OidcError, OidcSettings, ProviderMetadata};
use crate::http::HttpClient;

pub(crate) const FORCED_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub(crate) struct Snapshot {
    pub meta: Arc<ProviderMetadata>,
    pub keys: Arc<KeySet>,
    fetched: Instant,
}

#[derive(Default)]
pub(crate) struct Cache {
    current: RwLock<Option<Snapshot>>,
    /// Serialises fetches so that concurrent requests after expiry cause one fetch.
    fetching: Mutex<()>,
    last_forced: Mutex<Option<Instant>>,
}

impl Cache {
    /// The cached snapshot if still within `ttl` (never blocks on I/O).
    pub fn fresh(&self, ttl: Duration) -> Option<Snapshot> {
        self.current
            .read()
            .as_ref()
            .filter(|s| s.fetched.elapsed() < ttl)
            .cloned()
    }

    /// Blocking: the fresh snapshot, fetching discovery then JWKS if needed.
    pub fn get(&self, http: &HttpClient, settings: &OidcSettings) -> Result<Snapshot, OidcError> {
        if let Some(s) = self.fresh(settings.metadata_ttl) {
            return Ok(s);
        }
        let _guard = self.fetching.lock();
        // Another thread may have fetched while we waited.
        if let Some(s) = self.fresh(settings.metadata_ttl) {
            return Ok(s);
        }
        let meta = discovery::fetch(http, settings)?;
        let keys = jwks::fetch(http, &meta.jwks_uri)?;
        let snap = Snapshot {
            meta: Arc::new(meta),
            keys: Arc::new(keys),
            fetched: Instant::now(),
        };
        *self.current.write() = Some(snap.clone());
        Ok(snap)
    }

    /// Blocking: refetch the JWKS outside the normal schedule. `Ok(None)` when a forced
    /// refetch already happened less than [`FORCED_REFETCH_INTERVAL`] ago.
    pub fn force_jwks(
        &self,
        http: &HttpClient,
        meta: &ProviderMetadata,
    ) -> Result<Option<Arc<KeySet>>, OidcError> {
        {
            let mut last = self.last_forced.lock();
            if last.is_some_and(|t| t.elapsed() < FORCED_REFETCH_INTERVAL) {
                return Ok(None);
            }
            *last = Some(Instant::now());
        }
        let keys = Arc::new(jwks::fetch(http, &meta.jwks_uri)?);
        let mut current = self.current.write();
        if let Some(snap) = current.as_mut() {
            // Only replace keys that belong to the same metadata (a concurrent discovery
            // refresh may already have installed newer ones).
            if snap.meta.jwks_uri == meta.jwks_uri {
                snap.keys = keys.clone();
            }
        }
        Ok(Some(keys))
    }
}
