//! The audit log (`sesame_audit_log PATH;`, Apache `SesameAuditLog PATH`): one JSON object per
//! line per login outcome, for the audit trail a public body keeps.
//!
//! The file is opened at configuration time, by nginx's master or Apache's parent, as root,
//! so that workers write to it after dropping privileges. Each line goes out in one `write(2)`
//! on a descriptor opened with `O_APPEND`: lines of several workers or children never
//! interleave. A write that fails is reported once in the error log, not once per login, and
//! once more when writing works again.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;

use super::LogLevel;

/// How a server writes one line to the file (nginx: `write(2)` to the descriptor of its open
/// file, which it reopens on `USR1`). Returns the bytes written.
pub type AuditWriter = dyn Fn(&[u8]) -> std::io::Result<usize> + Send + Sync;

enum Target {
    /// Opened by the core, at configuration time (Apache's parent; a new file at each
    /// configuration pass, so a graceful restart reopens it).
    File(std::fs::File),
    /// Written through the server, which owns the descriptor and its rotation.
    Server(Box<AuditWriter>),
}

/// An open audit log.
pub struct AuditLog {
    path: String,
    target: Target,
    /// The last write failed (reported once until one succeeds).
    failing: AtomicBool,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Mode of an audit log the core creates: user keys and client addresses are personal data.
const FILE_MODE: u32 = 0o640;

impl AuditLog {
    /// Opens (creating it when missing, mode 0640) `path` for appending.
    pub fn open(path: &str) -> std::io::Result<AuditLog> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(FILE_MODE)
            .open(path)?;
        Ok(AuditLog {
            path: path.to_owned(),
            target: Target::File(file),
            failing: AtomicBool::new(false),
        })
    }

    /// An audit log the server writes for the core.
    pub fn through_server(path: &str, writer: Box<AuditWriter>) -> AuditLog {
        AuditLog {
            path: path.to_owned(),
            target: Target::Server(writer),
            failing: AtomicBool::new(false),
        }
    }

    /// Appends `line` and a newline in one write. Returns the error-log line to write when
    /// this write starts or ends a run of failures.
    pub(super) fn write_line(&self, line: &str) -> Option<(LogLevel, String)> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        let written = match &self.target {
            // One write(2): with O_APPEND the line lands whole at the end of the file.
            Target::File(file) => (&*file).write(&bytes),
            Target::Server(writer) => writer(&bytes),
        };
        let result = match written {
            Ok(n) if n == bytes.len() => Ok(()),
            Ok(n) => Err(format!("wrote {n} of {} bytes (disk full?)", bytes.len())),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(()) if self.failing.swap(false, Ordering::Relaxed) => Some((
                LogLevel::Warn,
                format!(
                    "sesame: audit log {}: written again after failures; the logins in between are missing from it",
                    self.path
                ),
            )),
            Ok(()) => None,
            Err(why) if !self.failing.swap(true, Ordering::Relaxed) => Some((
                LogLevel::Error,
                super::escape_unsafe(&format!(
                    "sesame: audit log {}: cannot write ({why}); logins are not audited until it can be written again (this is logged once): check the disk and the file",
                    self.path
                ))
                .into_owned(),
            )),
            Err(_) => None,
        }
    }
}

/// One login outcome, exactly the fields of an audit line. Provider-supplied text is made
/// log-safe before it gets here; JSON escaping keeps quotes and line breaks inside their value.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditRecord {
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    pub provider: String,
    /// `success`, or why the login failed (`state_mismatch`, `provider_error:access_denied`...).
    pub outcome: String,
    pub acr: Option<String>,
    pub amr: Option<Vec<String>>,
    pub idp_id: Option<String>,
    /// The stable user key (`claims::user_key`: a hash of issuer and sub), as in the error log.
    pub user: Option<String>,
    pub client: String,
    /// The reference id of the error page, or of the success line in the error log.
    #[serde(rename = "ref")]
    pub reference: String,
}

/// Writes `record` to `audit`: now, or with the request's other lines when they are captured.
pub fn audit(audit: &Arc<AuditLog>, record: &AuditRecord) {
    let Ok(line) = serde_json::to_string(record) else {
        return;
    };
    if let Some(line) = super::scope::hold_audit(audit, line) {
        if let Some((level, report)) = audit.write_line(&line) {
            super::emit(level, &report);
        }
    }
}

/// `time` as RFC 3339 UTC with milliseconds (`2026-12-01T21:48:48.123Z`).
pub fn rfc3339_utc(time: std::time::SystemTime) -> String {
    static FORMAT: std::sync::OnceLock<Vec<time::format_description::BorrowedFormatItem<'static>>> =
        std::sync::OnceLock::new();
    let format = FORMAT.get_or_init(|| {
        time::format_description::parse_borrowed::<1>(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z",
        )
        .unwrap_or_default()
    });
    time::OffsetDateTime::from(time)
        .format(format)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn audit_times_are_rfc3339_utc() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_utc(UNIX_EPOCH + Duration::from_millis(1_700_000_000_042)),
            "2023-11-14T22:13:20.042Z"
        );
        assert_eq!(
            rfc3339_utc(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }

    fn record(acr: &str) -> AuditRecord {
        AuditRecord {
            time: rfc3339_utc(UNIX_EPOCH),
            provider: "fc".into(),
            outcome: "success".into(),
            acr: Some(acr.into()),
            amr: Some(vec!["pwd".into()]),
            idp_id: None,
            user: Some("u1".into()),
            client: "192.0.2.1".into(),
            reference: "0123456789ab".into(),
        }
    }

    #[test]
    fn an_audit_line_is_one_line_with_exactly_its_fields_whatever_a_value_holds() {
        let line = serde_json::to_string(&record("eidas1\"\n,\"user\":\"forged")).unwrap();
        assert!(!line.contains('\n'), "{line}");
        let parsed: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&line).unwrap();
        let keys: Vec<&str> = parsed.keys().map(String::as_str).collect();
        let mut expected = vec![
            "time", "provider", "outcome", "acr", "amr", "idp_id", "user", "client", "ref",
        ];
        expected.sort_unstable();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort_unstable();
        assert_eq!(keys_sorted, expected);
        assert_eq!(parsed["user"], "u1");
        assert_eq!(parsed["acr"], "eidas1\"\n,\"user\":\"forged");
    }

    #[test]
    fn a_failing_audit_log_is_reported_once_then_once_when_it_works_again() {
        let fail = Arc::new(AtomicBool::new(true));
        let fail_w = Arc::clone(&fail);
        let log = AuditLog::through_server(
            "/var/log/sesame/audit.log",
            Box::new(move |bytes: &[u8]| {
                if fail_w.load(Ordering::Relaxed) {
                    Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
                } else {
                    Ok(bytes.len())
                }
            }),
        );
        let first = log.write_line("{}").expect("the first failure is reported");
        assert_eq!(first.0, LogLevel::Error);
        assert!(first.1.contains("/var/log/sesame/audit.log"), "{}", first.1);
        assert!(first.1.contains("No space left"), "{}", first.1);
        for _ in 0..10 {
            assert_eq!(log.write_line("{}"), None);
        }
        fail.store(false, Ordering::Relaxed);
        let again = log.write_line("{}").expect("recovery is reported");
        assert_eq!(again.0, LogLevel::Warn);
        assert_eq!(log.write_line("{}"), None);
    }

    #[test]
    fn lines_appended_from_many_threads_stay_whole() {
        let dir = std::env::temp_dir().join(format!("sesame-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.log");
        let _ = std::fs::remove_file(&path);
        let log = Arc::new(AuditLog::open(path.to_str().unwrap()).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    for i in 0..200 {
                        let mut r = record("eidas1");
                        r.user = Some(format!("{t}-{i}-{}", "x".repeat(300)));
                        assert_eq!(log.write_line(&serde_json::to_string(&r).unwrap()), None);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8 * 200);
        for line in lines {
            let r: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(r["provider"], "fc");
        }
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o007, 0, "not readable by others: {mode:o}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
