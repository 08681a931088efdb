//! Benchmark helper (`make bench`, row f): clones one real session N times into Redis.
//!
//! Usage: `bench_seed_sessions REDIS_URL SECRET_FILE COUNT OUT_FILE [STORE_URL]`
//!
//! It reads the single session a real login through the emulator left in this secret's
//! namespace (same keys as the web server modules: HKDF of the trimmed secret file), then stores
//! COUNT copies under fresh random ids through the core's own `Sessions::create` (same encryption,
//! key layout, TTL and provider binding as a login), each with its own `sub`, and writes one cookie value per line
//! to OUT_FILE. Logging in 10 000 times through the emulator would take minutes; the records and
//! cookies made here are byte-for-byte what a login makes.
//!
//! With STORE_URL (another Redis database), the copies are stored there instead: their cookies
//! are then valid but unknown to a server using REDIS_URL (row f's thread-pool warm-up).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use sesame::{now_unix, Keys, RedisStore, SessionAdmin, SessionSettings, Sessions};

fn main() -> ExitCode {
    match run(&std::env::args().skip(1).collect::<Vec<_>>()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench_seed_sessions: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let (url, secret_file, count, out, store_url) = match args {
        [url, secret_file, count, out] => (url, secret_file, count, out, url),
        [url, secret_file, count, out, store_url] => (url, secret_file, count, out, store_url),
        _ => {
            return Err(
                "usage: bench_seed_sessions REDIS_URL SECRET_FILE COUNT OUT_FILE [STORE_URL]"
                    .into(),
            )
        }
    };
    let count: usize = count
        .parse()
        .map_err(|_| format!("COUNT {count:?} is not a number"))?;
    let secret = std::fs::read(secret_file).map_err(|e| format!("{secret_file}: {e}"))?;
    let keys = Keys::derive(secret.trim_ascii_end());
    let timeout = Duration::from_secs(5);
    let store = |url: &str, what: &str| {
        RedisStore::new(url, timeout).map_err(|e| format!("redis {what}: {e}"))
    };

    let admin = SessionAdmin::new(store(url, "admin")?, keys.clone());
    let listing = admin
        .list(&mut |_, _| {})
        .map_err(|e| format!("listing sessions: {}", e.0))?;
    let Some(template) = listing.sessions.first() else {
        return Err("no session in Redis for this secret: log in once first".into());
    };

    let json = serde_json::to_vec(&template.session).map_err(|e| e.to_string())?;
    eprintln!(
        "template session: {} bytes of JSON, id_token {} bytes, {} claims",
        json.len(),
        template.session.id_token.len(),
        template.session.claims.len()
    );
    let settings = SessionSettings {
        redis_timeout: timeout,
        cache_ttl: Duration::ZERO,
        idle_timeout: Duration::from_secs(1800),
        lifetime: Duration::from_secs(43_200),
    };
    let sessions = Sessions::new(
        Box::new(store(store_url, "sessions")?),
        keys.clone(),
        settings,
    );
    let now = now_unix();
    let mut file =
        std::io::BufWriter::new(std::fs::File::create(out).map_err(|e| format!("{out}: {e}"))?);
    for i in 0..count {
        let mut session = template.session.clone();
        session.sub = format!("{}-bench{i}", template.session.sub);
        session
            .claims
            .insert("sub".into(), serde_json::Value::String(session.sub.clone()));
        session.created = now;
        session.refreshed = now;
        let id = sessions
            .create(&session, &template.binding, now)
            .map_err(|e| format!("storing session {i}: {}", e.0))?;
        writeln!(file, "{}", id.to_cookie(&keys)).map_err(|e| format!("{out}: {e}"))?;
    }
    file.flush().map_err(|e| format!("{out}: {e}"))?;
    Ok(())
}
