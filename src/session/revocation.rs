//! Instant revocation: a session ended anywhere leaves every worker's cache within a second.
//!
//! Whoever ends a session (a logout or a new login in any worker of any server, `sesame
//! sessions kill`) deletes it in Redis, then PUBLISHes its digest — the hex SHA-256 of the
//! session id, what the cache is keyed by and the Redis key ends with; never the id itself —
//! on the namespace's channel `<namespace>revoked`. Each worker / child runs one feed thread,
//! started after the fork, subscribed to that channel with the store's own settings (TLS, ACL
//! user, the master the Sentinels name, any node of a cluster: PUBLISH reaches the subscribers
//! of every node). It evicts each digest it receives, and sends a heartbeat every [`HEARTBEAT`]
//! (on Redis, SUBSCRIBE again): its answer comes in order with the messages, so it proves that
//! everything published before was received, which keeps the cache trusted for
//! [`TRUST_WINDOW`] more (see `cache`). Not subscribed, or no answer: the cache is bypassed.
//! After each (re)subscription the cache is cleared, since messages may have been missed. The
//! thread reconnects by itself with a backoff, touches nothing of the server's, and stops when
//! the worker exits ([`RevocationFeed::stop`]).
//!
//! A message that is not 64 hex characters is ignored (logged); a digest of no session evicts
//! nothing. Whoever can publish on the channel can at most make workers read Redis again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::cache::{clock_ms, Digest, SessionCache, TRUST_WINDOW};
use super::store::{FeedEvent, Store, StoreError};
use crate::log::{emit, LogLevel};

/// How often the feed proves it still receives (well inside [`TRUST_WINDOW`], so that a
/// heartbeat answered a little late on a loaded machine keeps the cache in use).
pub const HEARTBEAT: Duration = Duration::from_millis(250);

/// Reconnection backoff: first retry, and the longest wait between two.
const BACKOFF_FIRST: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// The same failure is logged again at most this often.
const REPEAT_LOG: Duration = Duration::from_secs(60);

/// The revocation channel of a namespace (`sesame:<16 hex>:`).
pub fn channel_of(namespace: &str) -> String {
    format!("{namespace}revoked")
}

/// The message announcing that the session of `digest` ended.
pub fn message_of(digest: &Digest) -> String {
    hex::encode(digest)
}

/// The digest a message announces; None for anything else than 64 hex characters.
pub fn digest_in(message: &[u8]) -> Option<Digest> {
    if message.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(message, &mut digest).ok()?;
    Some(digest)
}

/// The running feed of one core in this process.
pub struct RevocationFeed {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RevocationFeed {
    /// Starts the feed thread for `cache`, reading `channel` from `store`; `label` names the
    /// store in log lines, `timeout` bounds the wait for a heartbeat's answer.
    pub fn start(
        store: Arc<dyn Store>,
        cache: Arc<SessionCache>,
        channel: String,
        label: String,
        timeout: Duration,
    ) -> std::io::Result<RevocationFeed> {
        let stop = Arc::new(AtomicBool::new(false));
        let feed = Feed {
            store,
            cache,
            channel,
            label,
            timeout: timeout.max(HEARTBEAT),
            stop: Arc::clone(&stop),
        };
        let thread = std::thread::Builder::new()
            .name("sesame-revoke".into())
            .spawn(move || feed.run())?;
        Ok(RevocationFeed {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread (within one [`HEARTBEAT`]) and waits for it.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A core dropped with its feed running (a test, a configuration freed): the thread ends
/// within a heartbeat, unjoined.
impl Drop for RevocationFeed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

struct Feed {
    store: Arc<dyn Store>,
    cache: Arc<SessionCache>,
    channel: String,
    label: String,
    timeout: Duration,
    stop: Arc<AtomicBool>,
}

/// Why a subscription ended.
enum Ended {
    Stopped,
    Failed(StoreError),
}

/// Rate-limits one kind of log line: the first, then when its text changes or a minute later.
#[derive(Default)]
struct Repeated {
    last: Option<(String, Instant)>,
}

impl Repeated {
    fn should_log(&mut self, text: &str) -> bool {
        let due = match &self.last {
            Some((same, at)) => same != text || at.elapsed() >= REPEAT_LOG,
            None => true,
        };
        if due {
            self.last = Some((text.to_owned(), Instant::now()));
        }
        due
    }
}

impl Feed {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn run(self) {
        let mut backoff = BACKOFF_FIRST;
        // The same failure, and the recovery from it, are logged at most once a minute: a
        // flapping connection must not flood the log.
        let mut failures = Repeated::default();
        let mut recoveries = Repeated::default();
        let mut forged = Repeated::default();
        let mut was_down = false;
        while !self.stopped() {
            let asked = clock_ms();
            let failure = match self.store.subscribe(&self.channel) {
                Ok(mut subscription) => {
                    self.cache.feed_subscribed(asked);
                    if was_down && recoveries.should_log("subscribed") {
                        emit(
                            LogLevel::Info,
                            &format!(
                                "sesame: revocation feed subscribed again to \"{}\" on {}: the session cache is in use again (cleared: revocations may have been missed meanwhile)",
                                self.channel, self.label
                            ),
                        );
                    }
                    backoff = BACKOFF_FIRST;
                    match self.listen(subscription.as_mut(), &mut forged) {
                        Ended::Stopped => break,
                        Ended::Failed(e) => e,
                    }
                }
                Err(e) => e,
            };
            self.cache.feed_lost();
            was_down = true;
            let text = failure.0;
            if failures.should_log(&text) {
                let hint = if text.to_ascii_lowercase().contains("noperm") {
                    format!(
                        " The Redis user needs the channel permission: ACL SETUSER <user> &{} (or &sesame:*)",
                        self.channel
                    )
                } else {
                    String::new()
                };
                emit(
                    LogLevel::Warn,
                    &format!(
                        "sesame: revocation feed: no subscription to \"{}\" on {}: {text}; until it is back, the session cache is bypassed (every request reads Redis).{hint}",
                        self.channel, self.label
                    ),
                );
            }
            self.pause(backoff);
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
        self.cache.feed_lost();
    }

    /// Sleeps `wait`, waking early when asked to stop.
    fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        while !self.stopped() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }

    /// Reads one subscription until it fails or the feed is stopped.
    fn listen(
        &self,
        subscription: &mut dyn super::store::Subscription,
        forged: &mut Repeated,
    ) -> Ended {
        // The heartbeat in flight: when it was sent, on both clocks.
        let mut in_flight: Option<(Instant, u64)> = None;
        let mut last_ping = Instant::now();
        loop {
            if self.stopped() {
                return Ended::Stopped;
            }
            let now = Instant::now();
            match in_flight {
                Some((sent, _)) if now.duration_since(sent) > self.timeout => {
                    return Ended::Failed(StoreError(format!(
                        "no answer to the heartbeat (SUBSCRIBE) within {} ms",
                        self.timeout.as_millis()
                    )));
                }
                None if now.duration_since(last_ping) >= HEARTBEAT => {
                    if let Err(e) = subscription.ping() {
                        return Ended::Failed(e);
                    }
                    in_flight = Some((now, clock_ms()));
                    last_ping = now;
                }
                _ => {}
            }
            let wait = HEARTBEAT
                .saturating_sub(now.duration_since(last_ping))
                .max(Duration::from_millis(10));
            match subscription.next(wait) {
                Ok(None) => {}
                Ok(Some(FeedEvent::Pong)) => {
                    if let Some((_, sent_ms)) = in_flight.take() {
                        self.cache.feed_confirmed(sent_ms);
                    }
                }
                Ok(Some(FeedEvent::Message(message))) => match digest_in(&message) {
                    Some(digest) => self.cache.revoke(&digest),
                    None => {
                        if forged.should_log("forged") {
                            emit(
                                LogLevel::Warn,
                                &format!(
                                    "sesame: revocation feed: ignored a message on \"{}\" that is not a session digest ({} bytes): something else publishes on this channel",
                                    self.channel,
                                    message.len()
                                ),
                            );
                        }
                    }
                },
                Err(e) => return Ended::Failed(e),
            }
        }
    }
}

/// `TRUST_WINDOW` must leave room for a few heartbeats.
const _: () = assert!(HEARTBEAT.as_millis() * 3 <= TRUST_WINDOW.as_millis());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Identity, IdentityFields};
    use crate::session::{CachedSession, MemoryStore, Session, SessionBinding};

    fn entry() -> CachedSession {
        let session = Session {
            expires: u64::MAX,
            ..Default::default()
        };
        let identity = Identity::new(
            IdentityFields {
                provider: "fc",
                sub: "s",
                ..Default::default()
            },
            &[],
        );
        CachedSession::new(&session, SessionBinding::new("i", "c"), identity)
    }

    fn wait_for(what: &str, cond: impl Fn() -> bool) {
        let until = Instant::now() + Duration::from_secs(5);
        while !cond() {
            assert!(Instant::now() < until, "timed out waiting: {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn messages_are_64_hex_digests_and_nothing_else() {
        let digest = [0xab; 32];
        let message = message_of(&digest);
        assert_eq!(message.len(), 64);
        assert_eq!(digest_in(message.as_bytes()), Some(digest));
        assert_eq!(
            digest_in(message.to_uppercase().as_bytes()),
            Some(digest),
            "hex of either case"
        );
        for forged in [
            &b""[..],
            b"ab",
            &[b'g'; 64][..],
            &[b'a'; 65][..],
            "é".as_bytes(),
        ] {
            assert_eq!(digest_in(forged), None, "{forged:?}");
        }
        assert_eq!(
            channel_of("sesame:0123456789abcdef:"),
            "sesame:0123456789abcdef:revoked"
        );
    }

    #[test]
    fn the_feed_evicts_what_is_published_and_bypasses_the_cache_while_down() {
        let store = Arc::new(MemoryStore::new());
        let cache = Arc::new(SessionCache::new(Duration::from_secs(300)));
        let feed = RevocationFeed::start(
            Arc::clone(&store) as Arc<dyn Store>,
            Arc::clone(&cache),
            "ns:revoked".into(),
            "memory".into(),
            Duration::from_secs(1),
        )
        .unwrap();
        wait_for("subscribed", || cache.trusted());
        let (one, two) = ([1u8; 32], [2u8; 32]);
        cache.insert(cache.ticket(), one, entry());
        cache.insert(cache.ticket(), two, entry());
        store
            .publish("other:revoked", message_of(&one).as_bytes())
            .unwrap();
        store.publish("ns:revoked", b"not a digest").unwrap();
        store
            .publish("ns:revoked", message_of(&[9; 32]).as_bytes())
            .unwrap();
        store
            .publish("ns:revoked", message_of(&one).as_bytes())
            .unwrap();
        wait_for("evicted", || cache.get(&one).is_none());
        assert!(cache.get(&two).is_some(), "only the revoked session leaves");

        // Pings keep it trusted well past the window.
        std::thread::sleep(TRUST_WINDOW + HEARTBEAT);
        assert!(cache.trusted(), "heartbeats keep the feed vouching");

        // Redis restarts: bypassed meanwhile, cleared once subscribed again.
        store.set_down(true);
        wait_for("bypassed", || !cache.trusted());
        assert!(cache.get(&two).is_none());
        store.set_down(false);
        wait_for("subscribed again", || cache.trusted());
        assert!(cache.get(&two).is_none(), "cleared on resubscription");

        let started = Instant::now();
        feed.stop();
        assert!(started.elapsed() < Duration::from_secs(2), "stops promptly");
        assert!(!cache.trusted(), "a stopped feed vouches for nothing");
    }
}
