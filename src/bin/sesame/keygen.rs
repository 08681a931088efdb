//! `sesame keygen PATH`: a new secret file for sesame_secret_file; `sesame keygen --enc ec|rsa
//! PATH`: a new private key for encryption_key_file (or client_signing_key_file).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitCode;

use super::args::Args;

pub const HELP: &str = "\
Usage: sesame keygen PATH [--force]
       sesame keygen --enc ec|rsa PATH [--force]

Writes 32 random bytes from the operating system, hex-encoded (64 characters and a newline), to
PATH with mode 0600, for sesame_secret_file. Give the file to the user nginx reads its
configuration as (the master, usually root). Refuses to replace an existing file unless --force:
a new secret logs every user out and makes the sessions in Redis unreadable.

With --enc, writes a new private key (PEM, PKCS#8, mode 0600) instead: ec is P-256 (ECDH-ES for
encryption_key_file, ES256 for client_signing_key_file), rsa is 3072 bits (RSA-OAEP-256, or RS256
for signing). Sesame publishes its public half at the provider block's jwks_uri. For a key
rotation write the new key to a new file (see the README, FranceConnect+).";

pub fn run(rest: &[&str]) -> Result<ExitCode, String> {
    let opts = Args::parse(rest, &["--force"], &["--enc"])?;
    if opts.help {
        say!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    let [path] = opts.positional.as_slice() else {
        return Err("keygen needs exactly one PATH (see sesame keygen --help)".into());
    };
    let kind = match opts.value("--enc") {
        None => None,
        Some("ec") => Some(sesame::SiteKeyKind::Ec),
        Some("rsa") => Some(sesame::SiteKeyKind::Rsa),
        Some(other) => return Err(format!("--enc {other}: expected ec or rsa")),
    };
    let content = match kind {
        Some(kind) => sesame::generate_site_key_pem(kind)
            .map_err(|e| format!("cannot generate the key: {e}"))?,
        None => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|e| format!("the operating system's random generator failed: {e}"))?;
            format!("{}\n", hex::encode(bytes)).into_bytes()
        }
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if opts.flag("--force") {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            if kind.is_some() {
                format!("{path} already exists; for a key rotation write the new key to a new file (add --force to replace it)")
            } else {
                format!("{path} already exists; a new secret logs everybody out (add --force to replace it)")
            }
        } else {
            format!("cannot create {path}: {e}")
        }
    })?;
    // An existing file opened with --force keeps its old mode: tighten it.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(|e| format!("cannot set mode 0600 on {path}: {e}"))?;
    file.write_all(&content)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {path}: {e}"))?;
    match kind {
        Some(_) => eprintln!(
            "sesame: wrote a new private key to {path} (mode 0600); use it with encryption_key_file {path}; (or client_signing_key_file) in the provider block"
        ),
        None => eprintln!(
            "sesame: wrote a new secret to {path} (mode 0600); use it with sesame_secret_file {path};"
        ),
    }
    Ok(ExitCode::SUCCESS)
}
