//! `sesame keygen PATH`: a new secret file for sesame_secret_file.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitCode;

use super::args::Args;

pub const HELP: &str = "\
Usage: sesame keygen PATH [--force]

Writes 32 random bytes from the operating system, hex-encoded (64 characters and a newline), to
PATH with mode 0600, for sesame_secret_file. Give the file to the user nginx reads its
configuration as (the master, usually root). Refuses to replace an existing file unless --force:
a new secret logs every user out and makes the sessions in Redis unreadable.";

pub fn run(rest: &[&str]) -> Result<ExitCode, String> {
    let opts = Args::parse(rest, &["--force"], &[])?;
    if opts.help {
        say!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    let [path] = opts.positional.as_slice() else {
        return Err("keygen needs exactly one PATH (see sesame keygen --help)".into());
    };
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| format!("the operating system's random generator failed: {e}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if opts.flag("--force") {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!("{path} already exists; a new secret logs everybody out (add --force to replace it)")
        } else {
            format!("cannot create {path}: {e}")
        }
    })?;
    // An existing file opened with --force keeps its old mode: tighten it.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(|e| format!("cannot set mode 0600 on {path}: {e}"))?;
    file.write_all(format!("{}\n", hex::encode(bytes)).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {path}: {e}"))?;
    eprintln!(
        "sesame: wrote a new secret to {path} (mode 0600); use it with sesame_secret_file {path};"
    );
    Ok(ExitCode::SUCCESS)
}
