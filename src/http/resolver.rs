//! Name resolution for provider requests, remembered for a short while.
//!
//! ureq resolves the host name before it looks for an idle pooled connection, on every request,
//! and with a timeout set (we always set one) its default resolver does so on a freshly spawned
//! thread. Two thread spawns per login were 5 % of nginx's CPU in `make bench` row d, for an
//! answer that was never used (the pooled connection was). Remembering the answer for
//! [`RESOLVED_FOR`] keeps the default resolver's behaviour (system resolver, bounded by the
//! timeout) for the first request and after that delay, as nginx's own `resolver ... valid=` does.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long an answer is reused. Short: a provider moving to new addresses is followed within
/// this delay, and a failed lookup is never remembered.
pub const RESOLVED_FOR: Duration = Duration::from_secs(30);

/// Bound on remembered names (a provider uses a handful of hosts).
const MAX_NAMES: usize = 64;

#[derive(Default)]
pub struct CachingResolver {
    system: DefaultResolver,
    answers: Mutex<HashMap<String, (ResolvedSocketAddrs, Instant)>>,
}

impl fmt::Debug for CachingResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachingResolver").finish_non_exhaustive()
    }
}

impl CachingResolver {
    fn remembered(&self, key: &str) -> Option<ResolvedSocketAddrs> {
        let answers = self.answers.lock();
        let (addrs, at) = answers.get(key)?;
        (at.elapsed() < RESOLVED_FOR).then(|| addrs.clone())
    }

    fn remember(&self, key: String, addrs: &ResolvedSocketAddrs) {
        let mut answers = self.answers.lock();
        if answers.len() >= MAX_NAMES {
            answers.retain(|_, (_, at)| at.elapsed() < RESOLVED_FOR);
            if answers.len() >= MAX_NAMES {
                answers.clear();
            }
        }
        answers.insert(key, (addrs.clone(), Instant::now()));
    }
}

/// What an answer depends on: the host and port (scheme included for the default port), and
/// the IP family the agent keeps.
fn cache_key(uri: &Uri, config: &Config) -> Option<String> {
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?;
    Some(format!("{scheme}://{authority} {:?}", config.ip_family()))
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let key = cache_key(uri, config);
        if let Some(addrs) = key.as_deref().and_then(|k| self.remembered(k)) {
            return Ok(addrs);
        }
        let addrs = self.system.resolve(uri, config, timeout)?;
        if let Some(key) = key {
            self.remember(key, &addrs);
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(r: &CachingResolver, uri: &str) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let uri: Uri = uri.parse().expect("test uri");
        r.resolve(&uri, &Config::default(), NextTimeout::default())
    }

    #[test]
    fn an_answer_is_reused_for_the_same_host_and_port_only() {
        let r = CachingResolver::default();
        let a = resolve(&r, "https://127.0.0.1:8443/token").expect("ip literal resolves");
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].to_string(), "127.0.0.1:8443");
        assert_eq!(r.answers.lock().len(), 1);
        resolve(&r, "https://127.0.0.1:8443/userinfo").expect("second path");
        assert_eq!(r.answers.lock().len(), 1, "same host and port: one entry");
        let b = resolve(&r, "https://127.0.0.1/jwks").expect("default port");
        assert_eq!(b[0].to_string(), "127.0.0.1:443");
        assert_eq!(r.answers.lock().len(), 2);
    }

    #[test]
    fn a_remembered_answer_is_served_without_asking_the_system() {
        let r = CachingResolver::default();
        // Plant an answer the system would never give for this name: it must come back.
        let mut planted = r.system.empty();
        planted.push("192.0.2.7:443".parse().expect("addr"));
        let uri: Uri = "https://op.invalid/token".parse().expect("uri");
        let key = cache_key(&uri, &Config::default()).expect("key");
        r.remember(key.clone(), &planted);
        let got = resolve(&r, "https://op.invalid/other").expect("remembered");
        assert_eq!(got[0].to_string(), "192.0.2.7:443");
        // Once stale, the system is asked again (and .invalid never resolves).
        r.answers.lock().insert(
            key,
            (
                planted,
                Instant::now() - RESOLVED_FOR - Duration::from_secs(1),
            ),
        );
        assert!(resolve(&r, "https://op.invalid/token").is_err());
    }

    #[test]
    fn failures_are_not_remembered_and_the_table_is_bounded() {
        let r = CachingResolver::default();
        assert!(resolve(&r, "https://op.invalid/token").is_err());
        assert!(r.answers.lock().is_empty());
        for port in 0..(MAX_NAMES as u16 + 10) {
            resolve(&r, &format!("https://127.0.0.1:{}/", 1000 + port)).expect("literal");
        }
        assert!(r.answers.lock().len() <= MAX_NAMES);
    }
}
