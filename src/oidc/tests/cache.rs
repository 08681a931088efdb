//! The metadata cache during provider outages: single flight, stale fallback, negative cache.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use super::support::*;
use super::*;
use crate::oidc::cache::NEGATIVE_TTL;

const DISCOVERY: &str = "/.well-known/openid-configuration";

fn client_for(op: &TestProvider, ttl: Duration) -> Arc<OidcClient> {
    op.set_keys(&[&TestKey::es256("es-1")]);
    let mut settings = settings_for(Federation::FranceConnect, &op.issuer);
    settings.metadata_ttl = ttl;
    Arc::new(OidcClient::new(settings).unwrap())
}

/// `n` threads asking for the metadata at the same instant.
fn all_at_once(
    client: &Arc<OidcClient>,
    n: usize,
) -> Vec<Result<Arc<ProviderMetadata>, OidcError>> {
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (client, barrier) = (client.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                client.metadata()
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn concurrent_requests_for_expired_metadata_cause_one_discovery_fetch() {
    let op = TestProvider::start();
    op.state.lock().unwrap().discovery_delay = Duration::from_millis(300);
    let client = client_for(&op, Duration::from_secs(600));
    let results = all_at_once(&client, 8);
    assert!(results.iter().all(|r| r.is_ok()), "{:?}", results[0]);
    assert_eq!(op.requests_to(DISCOVERY).len(), 1);
    assert_eq!(op.requests_to("/jwks").len(), 1);
}

#[test]
fn requests_waiting_on_a_fetch_in_flight_share_its_error() {
    let op = TestProvider::start();
    {
        let mut st = op.state.lock().unwrap();
        st.discovery_delay = Duration::from_millis(300);
        st.discovery_status = Some(503);
    }
    let client = client_for(&op, Duration::from_secs(600));
    let t0 = Instant::now();
    let results = all_at_once(&client, 8);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(OidcError::Unavailable(_)))),
        "{results:?}"
    );
    assert_eq!(op.requests_to(DISCOVERY).len(), 1);
    // Nobody queued behind the others: all done within about one fetch.
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

#[test]
fn a_failed_refetch_serves_the_last_good_metadata() {
    let op = TestProvider::start();
    let client = client_for(&op, Duration::from_millis(100));
    let good = client.metadata().unwrap();
    std::thread::sleep(Duration::from_millis(150));
    assert!(
        client.cached_metadata().is_none(),
        "expired metadata is not used before a refetch was tried"
    );
    op.state.lock().unwrap().discovery_status = Some(503);
    let stale = client
        .metadata()
        .expect("the last good metadata while the provider is down");
    assert_eq!(stale.token_endpoint, good.token_endpoint);
    assert_eq!(op.requests_to(DISCOVERY).len(), 2);
    // Usable from `begin` too (no job needed) during the outage, and no new attempt.
    assert!(client.cached_metadata().is_some());
    assert!(client.recent_failure().is_none());
    assert!(client.metadata().is_ok());
    assert_eq!(op.requests_to(DISCOVERY).len(), 2);
}

#[test]
fn a_failure_is_remembered_for_a_few_seconds_then_retried() {
    let op = TestProvider::start();
    op.state.lock().unwrap().discovery_status = Some(503);
    let client = client_for(&op, Duration::from_secs(600));
    assert!(client.recent_failure().is_none());
    assert!(matches!(client.metadata(), Err(OidcError::Unavailable(_))));
    assert_eq!(op.requests_to(DISCOVERY).len(), 1);

    // Within the window: answered at once, no request to the provider, and known without I/O.
    let t0 = Instant::now();
    let again = client.metadata().unwrap_err();
    assert!(t0.elapsed() < Duration::from_millis(50));
    assert!(again.to_string().contains("not retried"), "{again}");
    let known = client.recent_failure().expect("remembered failure");
    assert!(known.to_string().contains("provider test"), "{known}");
    assert_eq!(op.requests_to(DISCOVERY).len(), 1);

    // After the window, the next request tries again and recovers.
    op.state.lock().unwrap().discovery_status = None;
    std::thread::sleep(NEGATIVE_TTL + Duration::from_millis(100));
    assert!(client.recent_failure().is_none());
    assert!(client.metadata().is_ok());
    assert_eq!(op.requests_to(DISCOVERY).len(), 2);
}
