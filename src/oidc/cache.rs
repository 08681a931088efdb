//! Per-provider cache of discovery metadata and signing keys.
//!
//! Both are trusted for `metadata_ttl` and refetched together afterwards. Key rotation is
//! handled by a forced JWKS refetch when a token names an unknown kid (or fails to verify with
//! a cached key), limited to one per [`FORCED_REFETCH_INTERVAL`] so that a flood of forged
//! tokens cannot turn us into a JWKS-fetching amplifier.
//!
//! A provider outage must not pile up threads behind it:
//! - **single flight**: one refetch at a time per provider. A request that finds a refetch in
//!   flight takes the last good snapshot if there is one, else waits for that refetch's result
//!   (or its error) at most [`wait_bound`], never queueing behind a lock held across I/O;
//! - **stale fallback**: when a refetch fails, the last good metadata and keys keep serving for
//!   at most [`STALE_GRACE`] past their expiry, with one log line per outage;
//! - **negative cache**: a failure is remembered for [`NEGATIVE_TTL`]; during that window no
//!   request tries again, and the engine answers the provider-unavailable page from `begin`
//!   without any job when nothing usable is cached.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::jwks::KeySet;
use super::{discovery, jwks, OidcError, OidcSettings, ProviderMetadata};
use crate::http::HttpClient;
use crate::log::LogLevel;

pub(crate) const FORCED_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// How long a failed refetch is remembered: no new attempt, the failure answered at once.
pub(crate) const NEGATIVE_TTL: Duration = Duration::from_secs(5);

/// How long past `metadata_ttl` the last good snapshot may serve while refetches fail. The
/// provider's keys rotate with an overlap of days (FranceConnect publishes the next key in
/// advance), so an hour-old JWKS still verifies; after that, logins fail until the provider
/// answers again.
pub(crate) const STALE_GRACE: Duration = Duration::from_secs(3600);

#[derive(Clone)]
pub(crate) struct Snapshot {
    pub meta: Arc<ProviderMetadata>,
    pub keys: Arc<KeySet>,
    fetched: Instant,
}

#[derive(Clone)]
struct Failure {
    at: Instant,
    error: OidcError,
}

#[derive(Default)]
struct State {
    current: Option<Snapshot>,
    failure: Option<Failure>,
    /// A refetch is in flight (its thread holds no lock while it waits on the provider).
    fetching: bool,
    /// Bumped when a refetch ends, so that waiters know theirs is over.
    generation: u64,
    /// The "serving stale metadata" line was written for the current outage.
    stale_logged: bool,
}

impl State {
    fn fresh(&self, ttl: Duration) -> Option<Snapshot> {
        self.current
            .as_ref()
            .filter(|s| s.fetched.elapsed() < ttl)
            .cloned()
    }

    /// The last good snapshot, if it is not older than `ttl` + [`STALE_GRACE`].
    fn stale(&self, ttl: Duration) -> Option<Snapshot> {
        self.current
            .as_ref()
            .filter(|s| s.fetched.elapsed() < ttl.saturating_add(STALE_GRACE))
            .cloned()
    }

    fn recent_failure(&self) -> Option<&Failure> {
        self.failure
            .as_ref()
            .filter(|f| f.at.elapsed() < NEGATIVE_TTL)
    }
}

#[derive(Default)]
pub(crate) struct Cache {
    state: Mutex<State>,
    /// Signalled when a refetch ends.
    done: Condvar,
    last_forced: Mutex<Option<Instant>>,
}

/// The longest a request waits for another request's refetch: discovery then JWKS, each
/// bounded by `http_timeout`, plus a margin.
pub(crate) fn wait_bound(settings: &OidcSettings) -> Duration {
    settings
        .http_timeout
        .saturating_mul(2)
        .saturating_add(Duration::from_millis(500))
}

/// Clears `fetching` even if the fetch panics, so that one panic cannot wedge the provider.
struct Flight<'a> {
    cache: &'a Cache,
    outcome: Option<Result<Snapshot, OidcError>>,
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        let mut st = self.cache.state.lock();
        st.fetching = false;
        st.generation = st.generation.wrapping_add(1);
        match self.outcome.take() {
            Some(Ok(snap)) => {
                st.current = Some(snap);
                st.failure = None;
                st.stale_logged = false;
            }
            Some(Err(error)) => {
                st.failure = Some(Failure {
                    at: Instant::now(),
                    error,
                });
            }
            None => {
                st.failure = Some(Failure {
                    at: Instant::now(),
                    error: OidcError::Protocol("internal error while fetching metadata".into()),
                });
            }
        }
        drop(st);
        self.cache.done.notify_all();
    }
}

impl Cache {
    /// Never blocks on I/O: what a request may use without a job. The fresh snapshot, or
    /// during an outage (a refetch failed less than [`NEGATIVE_TTL`] ago) the last good one
    /// within [`STALE_GRACE`].
    pub fn usable(&self, ttl: Duration) -> Option<Snapshot> {
        let st = self.state.lock();
        st.fresh(ttl)
            .or_else(|| st.recent_failure().and_then(|_| st.stale(ttl)))
    }

    /// Never blocks on I/O: the remembered failure, when a refetch failed less than
    /// [`NEGATIVE_TTL`] ago and nothing usable is cached (the request can be answered now).
    pub fn failing(&self, ttl: Duration) -> Option<OidcError> {
        let st = self.state.lock();
        if st.fresh(ttl).is_some() || st.stale(ttl).is_some() {
            return None;
        }
        st.recent_failure().map(|f| remembered(&f.error))
    }

    /// Blocking: a usable snapshot, fetching discovery then JWKS if needed (single flight).
    pub fn get(&self, http: &HttpClient, settings: &OidcSettings) -> Result<Snapshot, OidcError> {
        let ttl = settings.metadata_ttl;
        let mut st = self.state.lock();
        loop {
            if let Some(s) = st.fresh(ttl) {
                return Ok(s);
            }
            if let Some(f) = st.recent_failure() {
                let error = remembered(&f.error);
                return st.stale(ttl).ok_or(error);
            }
            if !st.fetching {
                break;
            }
            // Someone else is fetching: use what we have, else share that fetch's outcome.
            if let Some(s) = st.stale(ttl) {
                return Ok(s);
            }
            let generation = st.generation;
            let deadline = Instant::now() + wait_bound(settings);
            while st.generation == generation {
                if self.done.wait_until(&mut st, deadline).timed_out() {
                    return Err(OidcError::Unavailable(format!(
                        "discovery at {}: another request's fetch did not end within {:?}",
                        settings.discovery_url,
                        wait_bound(settings)
                    )));
                }
            }
        }
        st.fetching = true;
        drop(st);

        let mut flight = Flight {
            cache: self,
            outcome: None,
        };
        let result = fetch(http, settings);
        flight.outcome = Some(result.clone());
        drop(flight);

        match result {
            Ok(snap) => Ok(snap),
            Err(e) => {
                let mut st = self.state.lock();
                match st.stale(ttl) {
                    Some(snap) => {
                        if !st.stale_logged {
                            st.stale_logged = true;
                            drop(st);
                            crate::log::emit(
                                LogLevel::Warn,
                                &format!(
                                    "sesame: provider \"{}\": metadata refetch failed ({e}); serving the last good discovery and keys (fetched {} s ago) for at most {} s past their metadata_ttl, retrying every {} s",
                                    settings.name,
                                    snap.fetched.elapsed().as_secs(),
                                    STALE_GRACE.as_secs(),
                                    NEGATIVE_TTL.as_secs()
                                ),
                            );
                        }
                        Ok(snap)
                    }
                    None => Err(e),
                }
            }
        }
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
        let mut st = self.state.lock();
        if let Some(snap) = st.current.as_mut() {
            // Only replace keys that belong to the same metadata (a concurrent discovery
            // refresh may already have installed newer ones).
            if snap.meta.jwks_uri == meta.jwks_uri {
                snap.keys = keys.clone();
            }
        }
        Ok(Some(keys))
    }
}

fn fetch(http: &HttpClient, settings: &OidcSettings) -> Result<Snapshot, OidcError> {
    let meta = discovery::fetch(http, settings)?;
    let keys = jwks::fetch(http, &meta.jwks_uri)?;
    Ok(Snapshot {
        meta: Arc::new(meta),
        keys: Arc::new(keys),
        fetched: Instant::now(),
    })
}

/// A remembered failure, said to be one (operators then know why no request reached the
/// provider).
fn remembered(e: &OidcError) -> OidcError {
    let note = format!(
        " (failed less than {} s ago; not retried before then)",
        NEGATIVE_TTL.as_secs()
    );
    match e {
        OidcError::Unavailable(m) => OidcError::Unavailable(format!("{m}{note}")),
        OidcError::Protocol(m) => OidcError::Protocol(format!("{m}{note}")),
        other => other.clone(),
    }
}
