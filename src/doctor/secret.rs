//! The secret file: every session's keys derive from it, so no other account may read or
//! rewrite it.

use std::os::unix::fs::MetadataExt;

use super::{Finding, Verdict};
use crate::directives::registry::http_name;

pub fn check(path: &str) -> Finding {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => {
            return Finding::new(
                Verdict::Fail,
                "secret",
                format!("cannot read {} \"{path}\": {e}", http_name("secret_file")),
            )
        }
    };
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Finding::new(
            Verdict::Fail,
            "secret",
            format!(
                "{} \"{path}\" is mode {mode:04o}: other accounts can read the key of every session (chmod 600 {path})",
                http_name("secret_file")
            ),
        );
    }
    let owner = meta.uid();
    // The process's own directory belongs to the user it runs as (no `unsafe` geteuid call).
    let me = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    if owner != 0 && Some(owner) != me {
        return Finding::new(
            Verdict::Warn,
            "secret",
            format!(
                "{} \"{path}\" (mode {mode:04o}) belongs to uid {owner}, neither root nor the user running this command: that account can replace the secret (chown root {path})",
                http_name("secret_file")
            ),
        );
    }
    Finding::new(
        Verdict::Ok,
        "secret",
        format!("\"{path}\" mode {mode:04o}, owner uid {owner}"),
    )
}
