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
