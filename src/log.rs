//! Process-global log sink. Adapters install theirs at worker/child start (nginx: the cycle's
//! error_log, Apache: ap_log_error); until then lines go to stderr.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::api::{LogLevel, LogSink};

static SINK: RwLock<Option<Arc<LogSink>>> = RwLock::new(None);

/// Replaces the process-global sink.
pub fn set_sink(sink: Box<LogSink>) {
    *SINK.write() = Some(Arc::from(sink));
}

/// Back to the default (stderr).
pub fn reset_sink() {
    *SINK.write() = None;
}

/// Writes one line. The sink is called outside the lock, so it may itself log or take time.
pub fn emit(level: LogLevel, msg: &str) {
    let sink = SINK.read().clone();
    match sink {
        Some(sink) => sink(level, msg),
        None => eprintln!("sesame [{}] {msg}", level_name(level)),
    }
}

pub fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
    }
}

/// Tests that replace the process-global sink hold this, so they do not undo each other.
#[cfg(test)]
pub(crate) static TEST_SINK_LOCK: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// Failure lines per client address and minute before the rest are suppressed.
pub(crate) const LINES_PER_CLIENT: u32 = 60;
/// The window of [`LINES_PER_CLIENT`].
pub(crate) const LIMIT_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);
/// Client addresses tracked at once; beyond, the others share one budget.
pub(crate) const LIMIT_CLIENTS: usize = 4096;

/// What to do with one failure line of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Write it; before it, say that `suppressed` lines of this client were dropped in its
    /// previous window (when not 0).
    Write {
        suppressed: u64,
    },
    /// The budget is spent: write one notice instead, then drop until the window ends.
    Notice,
    Drop,
}

struct Window {
    start: std::time::Instant,
    lines: u32,
    suppressed: u64,
    /// Dropped in the previous window, not reported yet.
    carried: u64,
}

/// A per-process limiter of failure lines per client address (at most [`LINES_PER_CLIENT`] a
/// minute, then one notice, then a count of what was dropped), with bounded memory: a flood
/// of forged callbacks cannot fill the error log, nor this table.
#[derive(Default)]
pub(crate) struct Limiter {
    clients: parking_lot::Mutex<std::collections::HashMap<String, Window>>,
}

/// Key of clients beyond [`LIMIT_CLIENTS`].
const OTHERS: &str = "(other clients)";

impl Limiter {
    pub fn admit(&self, client: &str, now: std::time::Instant) -> Verdict {
        let client: String = client.chars().take(64).collect();
        let mut clients = self.clients.lock();
        // One place stays free for the shared bucket of the others.
        let full = |c: &std::collections::HashMap<String, Window>| c.len() >= LIMIT_CLIENTS - 1;
        if !clients.contains_key(&client) && full(&clients) {
            // Clients quiet for a whole window make room (a count not yet reported is lost).
            clients.retain(|_, w| now.duration_since(w.start) < LIMIT_WINDOW);
        }
        let key = if clients.contains_key(&client) || !full(&clients) {
            client
        } else {
            OTHERS.to_owned()
        };
        let w = clients.entry(key).or_insert(Window {
            start: now,
            lines: 0,
            suppressed: 0,
            carried: 0,
        });
        if now.duration_since(w.start) >= LIMIT_WINDOW {
            w.carried += w.suppressed;
            *w = Window {
                start: now,
                lines: 0,
                suppressed: 0,
                carried: w.carried,
            };
        }
        w.lines = w.lines.saturating_add(1);
        match w.lines {
            n if n <= LINES_PER_CLIENT => Verdict::Write {
                suppressed: std::mem::take(&mut w.carried),
            },
            n if n == LINES_PER_CLIENT + 1 => Verdict::Notice,
            _ => {
                w.suppressed += 1;
                Verdict::Drop
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_client_gets_a_bounded_number_of_failure_lines_a_minute_then_a_count_of_the_rest() {
        let limiter = Limiter::default();
        let t0 = Instant::now();
        for _ in 0..LINES_PER_CLIENT {
            assert_eq!(
                limiter.admit("192.0.2.1", t0),
                Verdict::Write { suppressed: 0 }
            );
        }
        assert_eq!(limiter.admit("192.0.2.1", t0), Verdict::Notice);
        for _ in 0..5 {
            assert_eq!(limiter.admit("192.0.2.1", t0), Verdict::Drop);
        }
        // Another client is not affected.
        assert_eq!(
            limiter.admit("192.0.2.2", t0),
            Verdict::Write { suppressed: 0 }
        );
        // The next minute: lines again, the first one reporting the 5 dropped.
        let later = t0 + LIMIT_WINDOW + Duration::from_millis(1);
        assert_eq!(
            limiter.admit("192.0.2.1", later),
            Verdict::Write { suppressed: 5 }
        );
        assert_eq!(
            limiter.admit("192.0.2.1", later),
            Verdict::Write { suppressed: 0 }
        );
    }

    #[test]
    fn the_limiter_tracks_a_bounded_number_of_clients() {
        let limiter = Limiter::default();
        let t0 = Instant::now();
        for i in 0..LIMIT_CLIENTS + 100 {
            limiter.admit(&format!("10.0.{}.{}", i / 256, i % 256), t0);
        }
        assert!(limiter.clients.lock().len() <= LIMIT_CLIENTS);
        // Clients beyond the table share one budget, so they are limited too.
        let verdicts: Vec<Verdict> = (0..LINES_PER_CLIENT * 2)
            .map(|i| limiter.admit(&format!("198.51.100.{i}"), t0))
            .collect();
        assert!(verdicts.contains(&Verdict::Drop), "{verdicts:?}");
    }
}
