//! Prometheus metrics of one configured core: logins, failures by cause, levels granted,
//! identity providers, step-ups, logouts, the session cache, Redis and provider latency, jobs.
//!
//! Every value is a cell of one fixed-layout table of 64-bit atomics ([`shared`]) mapped
//! before the server forks, so that the counts are those of the whole server (every nginx
//! worker, every Apache child), and a scrape of any process shows them all. An event costs one
//! relaxed atomic add (a histogram: two); nothing is allocated, locked or written to Redis.
//! The layout is fixed when the configuration is built: providers (from the configuration),
//! failure causes (an enum of the core, the provider codes `translate` knows, `other`),
//! levels (the federations' values and the configured ones, then `other`), identity providers
//! (a bounded table of slots, then `other`). No label ever holds a value of a person's.

mod exposition;
mod shared;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use crate::http::Exchange;

/// Upper bounds (seconds) of the latency histograms' buckets, in microseconds.
const BUCKETS_US: [u64; 12] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    10_000_000,
];
/// Cells of one histogram: a cell per bucket, one for +Inf, one for the sum in microseconds.
const HISTOGRAM_CELLS: usize = BUCKETS_US.len() + 2;

/// Identity-provider slots (ProConnect `idp_id`); later ones count as `other`.
const IDP_SLOTS: usize = 32;
/// Longest `idp_id` kept in a slot, in 64-bit words (64 bytes).
const IDP_WORDS: usize = 8;
/// Cells of one slot: its state (0 free, 1 being written, 2 | len << 8 ready) and its name.
const IDP_SLOT_CELLS: usize = 1 + IDP_WORDS;

/// Most distinct levels a configuration can name (then `other`).
const MAX_ACR: usize = 32;

/// The exchanges with a provider, in label order.
const EXCHANGES: [Exchange; 6] = [
    Exchange::Discovery,
    Exchange::Jwks,
    Exchange::Token,
    Exchange::Userinfo,
    Exchange::Revocation,
    Exchange::Data,
];

fn exchange_label(e: Exchange) -> &'static str {
    match e {
        Exchange::Discovery => "discovery",
        Exchange::Jwks => "jwks",
        Exchange::Token => "token",
        Exchange::Userinfo => "userinfo",
        Exchange::Revocation => "revocation",
        Exchange::Data => "data",
    }
}

fn exchange_index(e: Exchange) -> usize {
    EXCHANGES.iter().position(|x| *x == e).unwrap_or(0)
}

/// A Redis command, as the `op` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisOp {
    /// GET, GETDEL.
    Read,
    /// SET with EX / NX / XX.
    Write,
    /// DEL.
    Delete,
}

const REDIS_OPS: [(RedisOp, &str); 3] = [
    (RedisOp::Read, "read"),
    (RedisOp::Write, "write"),
    (RedisOp::Delete, "delete"),
];

/// What a job waits on, as the `kind` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobGauge {
    Session,
    Provider,
}

const JOB_KINDS: [(JobGauge, &str); 2] = [
    (JobGauge::Session, "session"),
    (JobGauge::Provider, "provider"),
];

/// Why a login failed or a request was refused: the `cause` label, and its `code` where a
/// provider code or a reason tells more.
#[derive(Debug, Clone, Copy)]
pub enum Failure<'a> {
    /// The callback's `state` matches no login of this browser (replayed, forged, expired).
    StateMismatch,
    /// The logout return's `state` matches no logout of this browser.
    LogoutStateMismatch,
    /// A callback refused before any I/O (no `iss`, a foreign one, no code).
    BadCallback,
    /// The provider's metadata could not be fetched.
    ProviderUnavailable,
    /// Every provider slot of the process was taken.
    ProviderBusy,
    /// `error=` on the redirect_uri; `code` is the Y-code of the description when Sesame
    /// translates it, else the OIDC error when Sesame translates it, else `other`.
    ProviderError {
        error: &'a str,
        description: Option<&'a str>,
    },
    /// The token endpoint refused the code.
    TokenRefused,
    /// The id_token (or the userinfo answer) did not verify; the message says why.
    TokenRejected(&'a str),
    /// A provider answer that is not what the protocol says.
    Protocol,
    /// The level is below the provider's `required_acr`.
    InsufficientAcr,
    /// The level is not one the location asked for (`sesame_acr`), or MFA is missing.
    LevelRefused,
    /// A step-up came back with another user.
    IdentityChanged,
    /// The identity does not meet the location's `sesame_require` rules.
    ClaimRefused,
    /// Redis failed while logging in or reading the session.
    StoreDown,
}

/// The values of the `cause` label that carry no code.
const PLAIN_CAUSES: [&str; 12] = [
    "state_mismatch",
    "logout_state_mismatch",
    "bad_callback",
    "provider_unavailable",
    "provider_busy",
    "token_refused",
    "protocol",
    "insufficient_acr",
    "level_refused",
    "identity_changed",
    "claim_refused",
    "store_down",
];

/// Why a token was rejected, classified from its message: the `code` of `token_rejected`
/// and `userinfo_rejected`. Order matters: the first word found wins.
const TOKEN_REASONS: [(&str, &[&str]); 10] = [
    ("signature", &["signature", "signing key"]),
    ("nonce", &["nonce"]),
    (
        "time",
        &[
            "expired",
            "in the future",
            "not valid before",
            "exp claim",
            "iat claim",
        ],
    ),
    ("issuer", &["iss "]),
    ("audience", &["aud ", "azp"]),
    ("at_hash", &["at_hash"]),
    ("acr", &["acr "]),
    ("sub", &["sub claim"]),
    ("unsigned", &["unsigned"]),
    (
        "format",
        &[
            "JWS",
            "JWE",
            "header",
            "encrypted",
            "alg",
            "base64",
            "JSON",
            "UTF-8",
        ],
    ),
];

impl Failure<'_> {
    /// (cause, code) as the exposition writes them; code "" when the cause has none.
    fn labels(&self) -> (&'static str, &'static str) {
        let plain = |name: &'static str| (name, "");
        match self {
            Failure::StateMismatch => plain("state_mismatch"),
            Failure::LogoutStateMismatch => plain("logout_state_mismatch"),
            Failure::BadCallback => plain("bad_callback"),
            Failure::ProviderUnavailable => plain("provider_unavailable"),
            Failure::ProviderBusy => plain("provider_busy"),
            Failure::TokenRefused => plain("token_refused"),
            Failure::Protocol => plain("protocol"),
            Failure::InsufficientAcr => plain("insufficient_acr"),
            Failure::LevelRefused => plain("level_refused"),
            Failure::IdentityChanged => plain("identity_changed"),
            Failure::ClaimRefused => plain("claim_refused"),
            Failure::StoreDown => plain("store_down"),
            Failure::ProviderError { error, description } => {
                let y = description
                    .and_then(crate::translate::find_y_code)
                    .and_then(|c| crate::translate::Y_CODES.iter().find(|k| **k == c));
                let known = crate::translate::CALLBACK_ERRORS
                    .iter()
                    .find(|k| **k == *error);
                ("provider_error", y.or(known).copied().unwrap_or("other"))
            }
            Failure::TokenRejected(message) => {
                let cause = if message.starts_with("userinfo") {
                    "userinfo_rejected"
                } else {
                    "token_rejected"
                };
                let reason = TOKEN_REASONS
                    .iter()
                    .find(|(_, words)| words.iter().any(|w| message.contains(w)))
                    .map_or("other", |(reason, _)| reason);
                (cause, reason)
            }
        }
    }
}

/// Every (cause, code) pair the table has a cell for, in exposition order.
fn failure_labels() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<(&'static str, &'static str)> =
        PLAIN_CAUSES.iter().map(|c| (*c, "")).collect();
    for code in crate::translate::Y_CODES
        .iter()
        .chain(crate::translate::CALLBACK_ERRORS)
    {
        all.push(("provider_error", code));
    }
    all.push(("provider_error", "other"));
    for cause in ["token_rejected", "userinfo_rejected"] {
        for (reason, _) in TOKEN_REASONS {
            all.push((cause, reason));
        }
        all.push((cause, "other"));
    }
    all
}

/// Where each family starts in the table.
#[derive(Debug)]
struct Layout {
    providers: Vec<String>,
    acr: Vec<String>,
    failures: Vec<(&'static str, &'static str)>,
    started: usize,
    completed: usize,
    failed: usize,
    step_ups: usize,
    logouts: usize,
    idp_counts: usize,
    idp_slots: usize,
    exchanges: usize,
    exchange_errors: usize,
    cache: usize,
    redis: usize,
    redis_errors: usize,
    jobs: usize,
    len: usize,
}

impl Layout {
    fn new(providers: Vec<String>, acr: Vec<String>) -> Layout {
        let failures = failure_labels();
        let p = providers.len();
        let mut next = 0;
        let mut take = |n: usize| {
            let at = next;
            next += n;
            at
        };
        let started = take(p);
        let completed = take(p * (acr.len() + 1));
        let failed = take(p * failures.len());
        let step_ups = take(p);
        let logouts = take(p);
        let idp_counts = take(p * (IDP_SLOTS + 1));
        let idp_slots = take(IDP_SLOTS * IDP_SLOT_CELLS);
        let exchanges = take(p * EXCHANGES.len() * HISTOGRAM_CELLS);
        let exchange_errors = take(p * EXCHANGES.len());
        let cache = take(2);
        let redis = take(REDIS_OPS.len() * HISTOGRAM_CELLS);
        let redis_errors = take(REDIS_OPS.len());
        let jobs = take(2 * JOB_KINDS.len());
        Layout {
            providers,
            acr,
            failures,
            started,
            completed,
            failed,
            step_ups,
            logouts,
            idp_counts,
            idp_slots,
            exchanges,
            exchange_errors,
            cache,
            redis,
            redis_errors,
            jobs,
            len: next,
        }
    }
}

struct Table {
    cells: shared::SharedCells,
    layout: Layout,
}

/// The metrics of one configured core; clones share the table.
#[derive(Clone)]
pub struct Metrics {
    table: Arc<Table>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("cells", &self.table.layout.len)
            .finish_non_exhaustive()
    }
}

/// A job counted as queued, then running (`sesame_jobs_queued`, `sesame_jobs_running`): the
/// gauges go down when it is dropped, run or not.
#[derive(Debug)]
pub struct JobTicket {
    metrics: Metrics,
    cell: usize,
}

impl JobTicket {
    /// The job starts: queued → running until the returned ticket is dropped.
    pub fn start(self) -> JobTicket {
        let running = self.cell + JOB_KINDS.len();
        let metrics = self.metrics.clone();
        drop(self);
        metrics.cell(running).fetch_add(1, Relaxed);
        JobTicket {
            metrics,
            cell: running,
        }
    }
}

impl Drop for JobTicket {
    fn drop(&mut self) {
        self.metrics.cell(self.cell).fetch_sub(1, Relaxed);
    }
}

impl Metrics {
    /// Config time, before the server forks: maps the table for these providers (in
    /// configuration order) and these levels (the first [`MAX_ACR`] distinct ones).
    pub fn new(providers: Vec<String>, acr: Vec<String>) -> std::io::Result<Metrics> {
        let mut levels: Vec<String> = Vec::new();
        for a in acr {
            if !levels.contains(&a) && levels.len() < MAX_ACR {
                levels.push(a);
            }
        }
        let layout = Layout::new(providers, levels);
        let cells = shared::SharedCells::new(layout.len)?;
        Ok(Metrics {
            table: Arc::new(Table { cells, layout }),
        })
    }

    fn cell(&self, i: usize) -> &AtomicU64 {
        // Every index comes from the layout, which sized the table.
        &self.table.cells.cells()[i]
    }

    fn add(&self, i: usize) {
        self.cell(i).fetch_add(1, Relaxed);
    }

    fn layout(&self) -> &Layout {
        &self.table.layout
    }

    /// A browser sent to the provider's authorization endpoint.
    pub fn login_started(&self, provider: usize) {
        self.add(self.layout().started + provider);
    }

    /// A login completed at level `acr`, through identity provider `idp_id` (ProConnect).
    pub fn login_completed(&self, provider: usize, acr: &str, idp_id: Option<&str>) {
        let l = self.layout();
        let level = l.acr.iter().position(|a| a == acr).unwrap_or(l.acr.len());
        self.add(l.completed + provider * (l.acr.len() + 1) + level);
        if let Some(idp) = idp_id {
            let slot = self.idp_slot(idp);
            self.add(l.idp_counts + provider * (IDP_SLOTS + 1) + slot);
        }
    }

    /// A login failed, or a request was refused, for `failure`.
    pub fn failed(&self, provider: usize, failure: Failure<'_>) {
        let l = self.layout();
        let labels = failure.labels();
        let Some(i) = l.failures.iter().position(|f| *f == labels) else {
            return;
        };
        self.add(l.failed + provider * l.failures.len() + i);
    }

    /// A session sent back to the provider for a higher level or a fresh authentication.
    pub fn step_up(&self, provider: usize) {
        self.add(self.layout().step_ups + provider);
    }

    /// A session ended by a logout location.
    pub fn logout(&self, provider: usize) {
        self.add(self.layout().logouts + provider);
    }

    /// A request with a valid session cookie: served from the process's cache or not.
    pub fn session_cache(&self, hit: bool) {
        self.add(self.layout().cache + usize::from(!hit));
    }

    /// One Redis command took `elapsed`; `failed` when it did not answer.
    pub fn redis(&self, op: RedisOp, elapsed: Duration, failed: bool) {
        let l = self.layout();
        let i = REDIS_OPS.iter().position(|(o, _)| *o == op).unwrap_or(0);
        self.observe(l.redis + i * HISTOGRAM_CELLS, elapsed);
        if failed {
            self.add(l.redis_errors + i);
        }
    }

    /// One exchange with provider `provider` took `elapsed`; `failed` when it got no answer.
    pub fn exchange(&self, provider: usize, exchange: Exchange, elapsed: Duration, failed: bool) {
        let l = self.layout();
        let e = provider * EXCHANGES.len() + exchange_index(exchange);
        self.observe(l.exchanges + e * HISTOGRAM_CELLS, elapsed);
        if failed {
            self.add(l.exchange_errors + e);
        }
    }

    /// A job was made: counted as queued until it starts (or is dropped).
    pub fn job_queued(&self, kind: JobGauge) -> JobTicket {
        let k = JOB_KINDS.iter().position(|(g, _)| *g == kind).unwrap_or(0);
        let cell = self.layout().jobs + k;
        self.add(cell);
        JobTicket {
            metrics: self.clone(),
            cell,
        }
    }

    fn observe(&self, histogram: usize, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = BUCKETS_US
            .iter()
            .position(|b| us <= *b)
            .unwrap_or(BUCKETS_US.len());
        self.add(histogram + bucket);
        self.cell(histogram + BUCKETS_US.len() + 1)
            .fetch_add(us, Relaxed);
    }

    /// The slot of identity provider `idp` (claimed on first sight), or the `other` slot for a
    /// value that is not an identifier or when every slot is taken.
    fn idp_slot(&self, idp: &str) -> usize {
        let bytes = idp.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= IDP_WORDS * 8
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if !valid {
            return IDP_SLOTS;
        }
        let mut words = [0u64; IDP_WORDS];
        for (i, b) in bytes.iter().enumerate() {
            words[i / 8] |= u64::from(*b) << ((i % 8) * 8);
        }
        let ready = 2 | ((bytes.len() as u64) << 8);
        let base = self.layout().idp_slots;
        for slot in 0..IDP_SLOTS {
            let at = base + slot * IDP_SLOT_CELLS;
            let state = self.cell(at);
            let mut seen = state.load(std::sync::atomic::Ordering::Acquire);
            if seen == 0 {
                match state.compare_exchange(
                    0,
                    1,
                    std::sync::atomic::Ordering::AcqRel,
                    std::sync::atomic::Ordering::Acquire,
                ) {
                    Ok(_) => {
                        for (w, word) in words.iter().enumerate() {
                            self.cell(at + 1 + w).store(*word, Relaxed);
                        }
                        state.store(ready, std::sync::atomic::Ordering::Release);
                        return slot;
                    }
                    Err(now) => seen = now,
                }
            }
            // Another process is writing this slot's name: a few instructions; wait briefly,
            // and count as `other` rather than spin on a writer that died mid-way.
            let mut spins = 0;
            while seen == 1 && spins < 10_000 {
                std::hint::spin_loop();
                seen = state.load(std::sync::atomic::Ordering::Acquire);
                spins += 1;
            }
            if seen == 1 {
                return IDP_SLOTS;
            }
            if seen == ready
                && words
                    .iter()
                    .enumerate()
                    .all(|(w, word)| self.cell(at + 1 + w).load(Relaxed) == *word)
            {
                return slot;
            }
        }
        IDP_SLOTS
    }

    /// The claimed identity-provider slots: (slot, name).
    fn idp_names(&self) -> Vec<(usize, String)> {
        let base = self.layout().idp_slots;
        (0..IDP_SLOTS)
            .filter_map(|slot| {
                let at = base + slot * IDP_SLOT_CELLS;
                let state = self.cell(at).load(std::sync::atomic::Ordering::Acquire);
                if state & 0xff != 2 {
                    return None;
                }
                let len = usize::try_from(state >> 8).ok()?.min(IDP_WORDS * 8);
                let bytes: Vec<u8> = (0..len)
                    .map(|i| (self.cell(at + 1 + i / 8).load(Relaxed) >> ((i % 8) * 8)) as u8)
                    .collect();
                String::from_utf8(bytes).ok().map(|name| (slot, name))
            })
            .collect()
    }

    /// The text exposition (format 0.0.4) of every family.
    pub fn render(&self) -> String {
        exposition::render(self)
    }
}

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One provider's share of the table, for its HTTP client to time its exchanges.
pub struct ProviderMeter {
    pub metrics: Metrics,
    pub provider: usize,
}

impl crate::http::ExchangeObserver for ProviderMeter {
    fn observe(&self, exchange: Exchange, elapsed: Duration, failed: bool) {
        self.metrics
            .exchange(self.provider, exchange, elapsed, failed);
    }
}
