//! `sesame sessions list|kill`.

use std::io::Write;
use std::process::ExitCode;

use sesame::session::{now_unix, SessionAdmin, SessionFilter, StoredSession};
use sesame::ConfigBuilder;

use super::args::Args;
use super::nginx_conf;
use super::time::utc;

pub const HELP: &str = "\
Usage:
  sesame sessions list [CONFIG] [FILTERS] [--json]
  sesame sessions kill [CONFIG] ID-PREFIX
  sesame sessions kill [CONFIG] FILTERS

list: every live session of this site (its secret's namespace in Redis), decrypted, oldest login
first: ID (a hash of the session id, never the cookie itself), provider, sub, email, SIRET, login
time, last activity, end of life, bytes in Redis. --json prints one JSON object per line.

kill: deletes one session (ID-PREFIX: at least 6 characters of the ID shown by list, matching a
single session) or every session matching the filters — e.g. all sessions of an agent who leaves:
sesame sessions kill --email agent@example.gouv.fr. The user must log in again; workers that
cached the session stop accepting it within sesame_session_cache (default 5s).

FILTERS (all given must match):
  --sub SUB  --email EMAIL (any case)  --siret SIRET  --provider NAME

CONFIG:
  -c, --conf PATH        nginx.conf with the sesame_* directives (default /etc/nginx/nginx.conf)
  or: --redis URL --secret-file PATH [--redis-ca-file PATH] [--redis-cert-file PATH]
      [--redis-key-file PATH] [--redis-timeout TIME]";

const OPTIONS: &[&str] = &[
    "-c",
    "--conf",
    "--redis",
    "--secret-file",
    "--redis-ca-file",
    "--redis-cert-file",
    "--redis-key-file",
    "--redis-timeout",
    "--sub",
    "--email",
    "--siret",
    "--provider",
];

fn filter_of(opts: &Args) -> SessionFilter {
    SessionFilter {
        sub: opts.value("--sub").map(str::to_owned),
        email: opts.value("--email").map(str::to_owned),
        siret: opts.value("--siret").map(str::to_owned),
        provider: opts.value("--provider").map(str::to_owned),
        id_prefix: None,
    }
}

/// The store and keys, from --redis/--secret-file or from the nginx configuration.
fn admin(opts: &Args) -> Result<SessionAdmin, String> {
    let built = if let Some(url) = opts.value("--redis") {
        let secret = opts
            .value("--secret-file")
            .ok_or("--redis needs --secret-file (the file named by sesame_secret_file)")?;
        let mut b = ConfigBuilder::new();
        let mut set = |k: &str, v: &str| b.set_global(k, v).map_err(|e| e.message);
        set("redis", url)?;
        set("secret_file", secret)?;
        for (opt, key) in [
            ("--redis-ca-file", "redis_ca_file"),
            ("--redis-cert-file", "redis_cert_file"),
            ("--redis-key-file", "redis_key_file"),
            ("--redis-timeout", "redis_timeout"),
        ] {
            if let Some(v) = opts.value(opt) {
                set(key, v)?;
            }
        }
        b.build_admin().map_err(|e| e.message)?
    } else {
        let path = opts.conf_path();
        let (builder, _, _) = nginx_conf::read(&path)
            .map_err(|e| format!("{e} (fix it, or give --redis and --secret-file)"))?;
        builder
            .build_admin()
            .map_err(|e| format!("{}: {}", path.display(), e.message))?
    };
    let (store, keys, _) = built;
    Ok(SessionAdmin::new(store, keys))
}

fn scan(admin: &SessionAdmin) -> Result<Vec<StoredSession>, String> {
    eprintln!(
        "sesame: scanning {} for {}s:*",
        admin.store().label(),
        admin.namespace()
    );
    let mut last = std::time::Instant::now();
    let listing = admin
        .list(&mut |done, total| {
            if last.elapsed().as_millis() >= 500 || done == total {
                eprint!("\rsesame: read {done}/{total} records");
                last = std::time::Instant::now();
                if done == total {
                    eprintln!();
                }
            }
        })
        .map_err(|e| e.0)?;
    if listing.skipped > 0 {
        eprintln!(
            "sesame: {} record(s) skipped (expired meanwhile, or not readable with this secret)",
            listing.skipped
        );
    }
    Ok(listing.sessions)
}

fn json_line(s: &StoredSession) -> String {
    serde_json::json!({
        "id": s.digest,
        "provider": s.session.provider,
        "sub": s.session.sub,
        "email": s.claim("email"),
        "siret": s.claim("siret"),
        "acr": s.session.acr,
        "created": s.session.created,
        "refreshed": s.session.refreshed,
        "expires": s.session.expires,
        "bytes": s.stored_bytes,
    })
    .to_string()
}

pub fn list(rest: &[&str]) -> Result<ExitCode, String> {
    let opts = Args::parse(rest, &["--json"], OPTIONS)?;
    if opts.help {
        println!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(extra) = opts.positional.first() {
        return Err(format!("sessions list: unexpected argument \"{extra}\""));
    }
    let admin = admin(&opts)?;
    let filter = filter_of(&opts);
    let now = now_unix();
    let sessions: Vec<StoredSession> = scan(&admin)?
        .into_iter()
        .filter(|s| filter.matches(s) && now < s.session.expires)
        .collect();
    let mut out = std::io::stdout().lock();
    let write_err = |e: std::io::Error| format!("cannot write the output: {e}");
    if opts.flag("--json") {
        for s in &sessions {
            writeln!(out, "{}", json_line(s)).map_err(write_err)?;
        }
    } else {
        writeln!(
            out,
            "{:<12}  {:<10}  {:<28}  {:<28}  {:<14}  {:<20}  {:<20}  {:<20}  {:>5}",
            "ID", "PROVIDER", "SUB", "EMAIL", "SIRET", "LOGIN", "LAST ACTIVITY", "ENDS", "BYTES"
        )
        .map_err(write_err)?;
        for s in &sessions {
            writeln!(
                out,
                "{:<12}  {:<10}  {:<28}  {:<28}  {:<14}  {:<20}  {:<20}  {:<20}  {:>5}",
                &s.digest[..s.digest.len().min(12)],
                s.session.provider,
                s.session.sub,
                s.claim("email"),
                s.claim("siret"),
                utc(s.session.created),
                utc(s.session.refreshed),
                utc(s.session.expires),
                s.stored_bytes
            )
            .map_err(write_err)?;
        }
    }
    eprintln!("sesame: {} session(s)", sessions.len());
    Ok(ExitCode::SUCCESS)
}

pub fn kill(rest: &[&str]) -> Result<ExitCode, String> {
    let opts = Args::parse(rest, &[], OPTIONS)?;
    if opts.help {
        println!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    let mut filter = filter_of(&opts);
    match opts.positional.as_slice() {
        [] => {}
        [prefix] => {
            if prefix.len() < 6 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!(
                    "\"{prefix}\" is not a session ID prefix (at least 6 hex characters of the ID shown by sessions list)"
                ));
            }
            filter.id_prefix = Some(prefix.clone());
        }
        _ => return Err("sessions kill takes one ID prefix at most (see --help)".into()),
    }
    if filter.is_empty() {
        return Err(
            "sessions kill needs an ID prefix or a filter (--sub, --email, --siret, --provider); see --help"
                .into(),
        );
    }
    let admin = admin(&opts)?;
    let matching: Vec<StoredSession> = scan(&admin)?
        .into_iter()
        .filter(|s| filter.matches(s))
        .collect();
    if filter.id_prefix.is_some() && matching.len() > 1 {
        return Err(format!(
            "the ID prefix matches {} sessions; give more characters",
            matching.len()
        ));
    }
    if matching.is_empty() {
        eprintln!("sesame: no session matches; nothing killed");
        return Ok(ExitCode::from(1));
    }
    for s in &matching {
        admin.kill(s).map_err(|e| e.0)?;
        println!(
            "killed {} ({} sub={} email={})",
            &s.digest[..s.digest.len().min(12)],
            s.session.provider,
            s.session.sub,
            s.claim("email")
        );
    }
    eprintln!(
        "sesame: {} session(s) killed; workers that cached them drop them within sesame_session_cache",
        matching.len()
    );
    Ok(ExitCode::SUCCESS)
}
