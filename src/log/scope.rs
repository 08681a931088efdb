//! Lines about one request, held back for the error log of the server that handled it.
//!
//! The process-global sink writes to one log (nginx: the cycle's `error_log`; Apache: the main
//! server's `ErrorLog`), but an operator reads the log of the virtual host or location that
//! handled a request. The adapter therefore runs each request call (`begin`, `recheck`,
//! `Job::run`) inside [`capture`], and writes what it returns through the request's own log
//! once the call is over: nginx on its event loop (a job's lines when the job completes, since
//! nginx's request log handler reads request fields and must not run on a pool thread), Apache
//! in the request's thread with `ap_log_rerror`. Audit lines ride along, so that nginx writes
//! them on the event loop too, where the file is never being reopened under them.
//!
//! A line waits at most as long as the call it comes from: a job's lines reach the log when the
//! job ends, which the provider's and Redis's timeouts bound. Lines emitted with no capture
//! active (configuration, start-up, background threads) go to the global sink as before.

use std::cell::RefCell;
use std::sync::Arc;

use super::audit::AuditLog;
use super::LogLevel;

/// What one request call logged, in order, not written yet.
#[derive(Default)]
#[must_use = "captured lines are lost unless written"]
pub struct Captured {
    lines: Vec<(LogLevel, String)>,
    audit: Vec<(Arc<AuditLog>, String)>,
}

impl std::fmt::Debug for Captured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Captured")
            .field("lines", &self.lines)
            .field("audit_lines", &self.audit.len())
            .finish()
    }
}

impl Captured {
    /// The error-log lines (already escaped, one line each), for tests and adapters.
    pub fn lines(&self) -> &[(LogLevel, String)] {
        &self.lines
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.audit.is_empty()
    }

    /// Writes the audit lines to their files, then every error-log line through `sink` (the
    /// request's log). An audit write failure is reported through `sink` too.
    pub fn write(self, mut sink: impl FnMut(LogLevel, &str)) {
        let mut failures = Vec::new();
        for (audit, line) in &self.audit {
            if let Some(report) = audit.write_line(line) {
                failures.push(report);
            }
        }
        for (level, line) in self.lines.iter().chain(failures.iter()) {
            sink(*level, line);
        }
    }

    /// Appends `other`'s lines after this one's.
    pub fn extend(&mut self, other: Captured) {
        self.lines.extend(other.lines);
        self.audit.extend(other.audit);
    }
}

thread_local! {
    static ACTIVE: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

/// Puts the previous capture (normally none) back when the call ends, even by a panic.
struct Restore(Option<Option<Captured>>);

impl Drop for Restore {
    fn drop(&mut self) {
        if let Some(previous) = self.0.take() {
            let _ = ACTIVE.try_with(|a| *a.borrow_mut() = previous);
        }
    }
}

/// Runs `f` with this thread's log lines held back, and returns them with its result. A
/// capture inside a capture returns its own lines only.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Captured) {
    let previous = ACTIVE.with(|a| a.borrow_mut().replace(Captured::default()));
    let restore = Restore(Some(previous));
    let result = f();
    let captured = ACTIVE.with(|a| a.borrow_mut().take()).unwrap_or_default();
    drop(restore);
    (result, captured)
}

/// Starts holding this thread's lines back, for adapters over the C ABI that cannot pass a
/// closure (`sesame_log_capture_begin`); [`end`] returns them. Unlike [`capture`], a second
/// `begin` before `end` keeps collecting into the same capture.
pub fn begin() {
    ACTIVE.with(|a| {
        let mut active = a.borrow_mut();
        if active.is_none() {
            *active = Some(Captured::default());
        }
    });
}

/// What this thread logged since [`begin`]; empty when no capture was started.
pub fn end() -> Captured {
    ACTIVE.with(|a| a.borrow_mut().take()).unwrap_or_default()
}

/// Holds `line` back when this thread captures; else hands it back to be written now.
pub(super) fn hold_line(level: LogLevel, line: String) -> Option<String> {
    let mut line = Some(line);
    let _ = ACTIVE.try_with(|a| {
        if let Some(c) = a.borrow_mut().as_mut() {
            if let Some(line) = line.take() {
                c.lines.push((level, line));
            }
        }
    });
    line
}

/// Holds an audit line back when this thread captures; else hands it back.
pub(super) fn hold_audit(audit: &Arc<AuditLog>, line: String) -> Option<String> {
    let mut line = Some(line);
    let _ = ACTIVE.try_with(|a| {
        if let Some(c) = a.borrow_mut().as_mut() {
            if let Some(line) = line.take() {
                c.audit.push((Arc::clone(audit), line));
            }
        }
    });
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::emit;

    #[test]
    fn lines_emitted_during_a_capture_are_returned_not_written() {
        let _guard = crate::log::TEST_SINK_LOCK.lock();
        let global: Arc<parking_lot::Mutex<Vec<String>>> = Arc::default();
        let seen = Arc::clone(&global);
        crate::log::set_sink(Box::new(move |_, m| seen.lock().push(m.to_owned())));
        let (answer, captured) = capture(|| {
            emit(LogLevel::Warn, "during\u{202e}");
            let ((), inner) = capture(|| emit(LogLevel::Info, "nested"));
            assert_eq!(inner.lines(), [(LogLevel::Info, "nested".to_owned())]);
            42
        });
        emit(LogLevel::Error, "after");
        crate::log::reset_sink();
        assert_eq!(answer, 42);
        assert_eq!(
            captured.lines(),
            [(LogLevel::Warn, "during\\u{202e}".to_owned())]
        );
        // Other tests may write to the global sink meanwhile: look for this test's lines only.
        let global = global.lock();
        assert!(global.iter().any(|m| m == "after"), "{global:?}");
        assert!(
            !global
                .iter()
                .any(|m| m.starts_with("during") || m == "nested"),
            "{global:?}"
        );
        let mut written = Vec::new();
        captured.write(|level, m| written.push((level, m.to_owned())));
        assert_eq!(written, [(LogLevel::Warn, "during\\u{202e}".to_owned())]);
    }

    #[test]
    fn a_panic_in_a_capture_leaves_the_thread_writing_normally() {
        let _guard = crate::log::TEST_SINK_LOCK.lock();
        let global: Arc<parking_lot::Mutex<Vec<String>>> = Arc::default();
        let seen = Arc::clone(&global);
        crate::log::set_sink(Box::new(move |_, m| seen.lock().push(m.to_owned())));
        let caught = std::panic::catch_unwind(|| {
            capture(|| {
                emit(LogLevel::Warn, "lost with the panic");
                panic!("job panicked")
            })
        });
        assert!(caught.is_err());
        emit(LogLevel::Warn, "after the panic");
        crate::log::reset_sink();
        // Other tests may write to the global sink meanwhile: look for this test's lines only.
        let global = global.lock();
        assert!(global.iter().any(|m| m == "after the panic"), "{global:?}");
        assert!(
            !global.iter().any(|m| m == "lost with the panic"),
            "{global:?}"
        );
    }
}
