//! `sesame sessions list|kill`.

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use sesame::escape_for_terminal as shown;
use sesame::ConfigBuilder;
use sesame::{now_unix, SessionAdmin, SessionFilter, StoredSession};

use super::args::Args;
use super::nginx_conf;
use super::time::utc;

/// A session store error as this command prints it: directives in nginx's spelling (it reads
/// nginx.conf).
fn store_message(e: sesame::StoreError) -> String {
    sesame::registry::render(&e.0, sesame::Syntax::Nginx)
}

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
sesame sessions kill --email agent@example.gouv.fr. The user must log in again. Each kill is
announced on the site's revocation channel (<namespace>revoked): every worker of every server
sharing the Redis drops the session from its cache at once, whatever sesame_session_cache says.

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
        let mut set = |k: &str, v: &str| b.set_global(k, v).map_err(|e| e.to_string());
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
        b.build_admin().map_err(|e| e.to_string())?
    } else {
        let path = opts.conf_path();
        let (builder, _, _) = nginx_conf::read(&path)
            .map_err(|e| format!("{e} (fix it, or give --redis and --secret-file)"))?;
        builder
            .build_admin()
            .map_err(|e| format!("{}: {e}", path.display()))?
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
        .map_err(store_message)?;
    if listing.skipped > 0 {
        eprintln!(
            "sesame: {} record(s) skipped (expired meanwhile, or not readable with this secret)",
            listing.skipped
        );
    }
    Ok(listing.sessions)
}

/// One JSON object. serde_json escapes C0 controls only; DEL, C1 and the invisible format
/// characters (bidi overrides...) a claim may hold are escaped too (`\u202e`), so that the line
/// prints as it reads and decodes to the same values.
fn json_line(s: &StoredSession) -> String {
    let line = serde_json::json!({
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
    .to_string();
    if !line.chars().any(sesame::is_unsafe_char) {
        return line;
    }
    let mut out = String::with_capacity(line.len() + 12);
    for c in line.chars() {
        if sesame::is_unsafe_char(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

const ROW: usize = 9;

/// One row of the table, every value from the session escaped (a claim is whatever the
/// provider sent: it must not move the cursor, recolour the terminal or reorder the line).
fn table_row(s: &StoredSession) -> [String; ROW] {
    [
        s.digest[..s.digest.len().min(12)].to_owned(),
        shown(&s.session.provider).into_owned(),
        shown(&s.session.sub).into_owned(),
        shown(&s.claim("email")).into_owned(),
        shown(&s.claim("siret")).into_owned(),
        utc(s.session.created),
        utc(s.session.refreshed),
        utc(s.session.expires),
        s.stored_bytes.to_string(),
    ]
}

fn format_row(cells: &[String; ROW]) -> String {
    let [id, provider, sub, email, siret, login, last, ends, bytes] = cells;
    format!(
        "{id:<12}  {provider:<10}  {sub:<28}  {email:<28}  {siret:<14}  {login:<20}  {last:<20}  {ends:<20}  {bytes:>5}"
    )
}

pub fn list(rest: &[&str]) -> Result<ExitCode, String> {
    let opts = Args::parse(rest, &["--json"], OPTIONS)?;
    if opts.help {
        say!("{HELP}");
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
        let cells = [
            "ID",
            "PROVIDER",
            "SUB",
            "EMAIL",
            "SIRET",
            "LOGIN",
            "LAST ACTIVITY",
            "ENDS",
            "BYTES",
        ]
        .map(str::to_owned);
        writeln!(out, "{}", format_row(&cells)).map_err(write_err)?;
        for s in &sessions {
            writeln!(out, "{}", format_row(&table_row(s))).map_err(write_err)?;
        }
    }
    eprintln!("sesame: {} session(s)", sessions.len());
    Ok(ExitCode::SUCCESS)
}

pub fn kill(rest: &[&str]) -> Result<ExitCode, String> {
    let opts = Args::parse(rest, &[], OPTIONS)?;
    if opts.help {
        say!("{HELP}");
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
    let mut unannounced = None;
    for s in &matching {
        admin.kill(s).map_err(store_message)?;
        if let Err(e) = admin.announce(s) {
            unannounced.get_or_insert(store_message(e));
        }
        say!(
            "killed {} ({} sub={} email={})",
            &s.digest[..s.digest.len().min(12)],
            shown(&s.session.provider),
            shown(&s.session.sub),
            shown(&s.claim("email"))
        );
    }
    match unannounced {
        None => eprintln!(
            "sesame: {} session(s) killed; every worker subscribed to {} drops them at once",
            matching.len(),
            admin.revocation_channel()
        ),
        Some(e) => eprintln!(
            "sesame: {} session(s) killed in Redis, but announcing it on channel {} failed ({e}): workers that cached them keep them until sesame_session_cache ends. The Redis user needs the channel permission: ACL SETUSER <user> &{}",
            matching.len(),
            admin.revocation_channel(),
            admin.revocation_channel()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesame::Session;

    fn stored(sub: &str, email: &str) -> StoredSession {
        let mut claims = serde_json::Map::new();
        claims.insert("email".into(), email.into());
        claims.insert("siret".into(), "1234\u{7f}\u{9b}2J".into());
        StoredSession {
            digest: "ab".repeat(32),
            key: String::new(),
            session: Session {
                provider: "fc".into(),
                issuer: "https://fc".into(),
                sub: sub.into(),
                acr: "eidas1\u{202e}".into(),
                claims,
                id_token: String::new(),
                created: 0,
                refreshed: 0,
                expires: 1,
                ..Session::default()
            },
            binding: sesame::SessionBinding::new("https://fc", "client"),
            stored_bytes: 10,
        }
    }

    const HOSTILE_SUB: &str = "s\u{1b}]0;pwned\u{7}\u{1b}[2J\r\nfake row";
    const HOSTILE_EMAIL: &str = "admin\u{202e}rf.vuog@\u{200b}x";

    fn assert_printable(text: &str) {
        assert!(!text.chars().any(sesame::is_unsafe_char), "{text:?}");
    }

    #[test]
    fn listed_values_with_escape_sequences_or_bidi_print_as_visible_escapes() {
        let row = format_row(&table_row(&stored(HOSTILE_SUB, HOSTILE_EMAIL)));
        assert_printable(&row);
        assert!(
            row.contains("s\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{d}\\u{a}fake row"),
            "{row}"
        );
        assert!(row.contains("admin\\u{202e}rf.vuog@\\u{200b}x"), "{row}");
        assert!(row.contains("1234\\u{7f}\\u{9b}2J"), "{row}");
    }

    #[test]
    fn json_lines_escape_hidden_characters_and_decode_to_the_same_values() {
        let s = stored(HOSTILE_SUB, HOSTILE_EMAIL);
        let line = json_line(&s);
        assert_printable(&line);
        assert!(line.contains("\\u202e"), "{line}");
        let back: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(back["sub"], HOSTILE_SUB);
        assert_eq!(back["email"], HOSTILE_EMAIL);
        assert_eq!(back["acr"], "eidas1\u{202e}");
        // Plain values are printed as they are.
        let plain = json_line(&stored("sub-1", "élodie@example.fr"));
        assert!(plain.contains("\"élodie@example.fr\""), "{plain}");
    }
}
