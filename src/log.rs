//! Log lines. Lines about a request are held back while the adapter runs the request call
//! ([`scope::capture`]) and written through that request's own error log; the others go to the
//! process-global sink adapters install at worker/child start (nginx: the cycle's error_log,
//! Apache: the main server's); until then lines go to stderr. The audit log ([`audit`]) is a
//! file of its own, one JSON line per login.

pub mod audit;
pub mod scope;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use parking_lot::RwLock;

/// Log levels the core uses; adapters map them to their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

/// Where the core writes its log lines. Adapters install one (nginx: error_log of the cycle,
/// Apache: ap_log_error). Must be callable from any thread.
pub type LogSink = dyn Fn(LogLevel, &str) + Send + Sync;

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
/// Whatever the caller put in it, the line reaches the log as one line that reads as it is:
/// control and invisible format characters are escaped ([`escape_unsafe`]).
pub fn emit(level: LogLevel, msg: &str) {
    let msg = escape_unsafe(msg);
    let Some(msg) = scope::hold_line(level, msg.into_owned()) else {
        return;
    };
    let sink = SINK.read().clone();
    match sink {
        Some(sink) => sink(level, &msg),
        None => eprintln!("sesame [{}] {msg}", level_name(level)),
    }
}

/// Characters that must never reach a log line or a terminal as they are: controls (C0 including
/// tab, DEL, C1: line breaks, escape sequences), Unicode format characters (category Cf: bidi
/// overrides and isolates that make a line read differently from what it holds, zero-width
/// characters, soft hyphen, BOM, tags) and the line and paragraph separators.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || is_format(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Unicode general category Cf (Unicode 15.1).
fn is_format(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// `text` without [`is_unsafe_char`] characters (for attacker- or provider-supplied values in a
/// log line), at most `max_chars` long.
pub fn strip_unsafe(text: &str, max_chars: usize) -> String {
    text.chars()
        .filter(|&c| !is_unsafe_char(c))
        .take(max_chars)
        .collect()
}

/// `text` with every [`is_unsafe_char`] character written as a visible escape (`\u{202e}`);
/// borrowed (nothing allocated) when there is none. What every log line goes through.
pub fn escape_unsafe(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// As [`escape_unsafe`], and backslashes doubled so that an escape in the output always stands
/// for a hidden character, never for text that looks like one: what the `sesame` command prints.
pub fn escape_for_terminal(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn escape(text: &str, double_backslash: bool) -> Cow<'_, str> {
    let special = |c: char| is_unsafe_char(c) || (double_backslash && c == '\\');
    if !text.chars().any(special) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\\' && double_backslash {
            out.push_str("\\\\");
        } else if is_unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
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

    #[test]
    fn bidi_zero_width_and_control_characters_are_unsafe_in_log_lines() {
        for c in [
            '\u{202e}',
            '\u{202a}',
            '\u{2066}',
            '\u{2069}',
            '\u{200b}',
            '\u{200f}',
            '\u{feff}',
            '\u{00ad}',
            '\u{061c}',
            '\u{e0041}',
            '\u{2028}',
            '\u{2029}',
            '\n',
            '\r',
            '\t',
            '\0',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{9b}',
        ] {
            assert!(is_unsafe_char(c), "{:x}", c as u32);
        }
        for c in ['a', 'É', 'ñ', 'Œ', ' ', '-', '@', '€', '\u{a0}', 'ア', '😀'] {
            assert!(!is_unsafe_char(c), "{c}");
        }
    }

    #[test]
    fn stripped_log_text_keeps_what_is_visible() {
        let spoof = "user\u{202e}nimda\u{202c}\u{200b} é\r\nERROR forged";
        assert_eq!(strip_unsafe(spoof, 300), "usernimda éERROR forged");
        assert_eq!(strip_unsafe("abcdef", 3), "abc");
    }

    #[test]
    fn escaped_text_shows_every_hidden_character_and_stays_unambiguous() {
        assert_eq!(
            escape_for_terminal("a\u{202e}b\nc\u{1b}[31m\\d"),
            "a\\u{202e}b\\u{a}c\\u{1b}[31m\\\\d"
        );
        assert_eq!(escape_unsafe("a\u{202e}b\\d"), "a\\u{202e}b\\d");
        assert!(matches!(escape_unsafe("Élodie Ñúñez"), Cow::Borrowed(_)));
        assert!(matches!(
            escape_for_terminal("Élodie Ñúñez"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_line_with_a_bidi_override_reaches_the_sink_escaped() {
        let _guard = TEST_SINK_LOCK.lock();
        let seen = Arc::new(parking_lot::Mutex::new(Vec::<String>::new()));
        let sink_seen = Arc::clone(&seen);
        set_sink(Box::new(move |_level, msg: &str| {
            sink_seen.lock().push(msg.to_owned())
        }));
        emit(
            LogLevel::Warn,
            "login of \u{202e}nimda\u{202c} from 1.2.3.4\nforged line",
        );
        reset_sink();
        assert_eq!(
            seen.lock().as_slice(),
            ["login of \\u{202e}nimda\\u{202c} from 1.2.3.4\\u{a}forged line"]
        );
    }

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
