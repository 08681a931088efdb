//! Session settings: the cache lifetime bounded by the idle timeout.

use super::*;

struct Secret(std::path::PathBuf);

impl Secret {
    fn new() -> Secret {
        let path = std::env::temp_dir().join(format!(
            "sesame-session-config-{}-{}",
            std::process::id(),
            hex::encode(crate::session::random_bytes::<4>())
        ));
        std::fs::write(&path, "0123456789abcdef0123456789abcdef\n").unwrap();
        Secret(path)
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn settings(globals: &[(&str, &str)]) -> Result<SessionSettings, ConfigError> {
    let secret = Secret::new();
    let mut b = ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1:6379/0").unwrap();
    b.set_global("secret_file", &secret.0.to_string_lossy())
        .unwrap();
    for (k, v) in globals {
        b.set_global(k, v).unwrap();
    }
    b.validate().map(|(cfg, _)| cfg.session)
}

#[test]
fn session_cache_at_or_above_half_the_idle_timeout_is_refused() {
    for (cache, idle) in [
        ("15m", "30m"),
        ("16m", "30m"),
        ("1h", "30m"),
        ("5s", "10s"),
        ("1500ms", "3s"),
    ] {
        let err = settings(&[("session_cache", cache), ("session_idle_timeout", idle)])
            .expect_err("a cache as long as half the idle timeout is refused");
        assert!(
            err.to_string().contains("sesame_session_cache")
                && err
                    .to_string()
                    .contains("half of sesame_session_idle_timeout")
                && err.to_string().contains("logout"),
            "{cache} / {idle}: {}",
            err
        );
    }
    let err = settings(&[("session_cache", "900s")]).unwrap_err();
    assert!(
        err.to_string().contains("sesame_session_cache 15m") && err.to_string().contains("(30m)"),
        "the default idle timeout counts too: {}",
        err
    );
}

#[test]
fn session_cache_below_half_the_idle_timeout_or_zero_is_accepted() {
    let s = settings(&[("session_cache", "14m"), ("session_idle_timeout", "30m")]).unwrap();
    assert_eq!(s.cache_ttl, Duration::from_secs(14 * 60));
    let s = settings(&[("session_cache", "4999ms"), ("session_idle_timeout", "10s")]).unwrap();
    assert_eq!(s.cache_ttl, Duration::from_millis(4999));
    let s = settings(&[("session_cache", "0"), ("session_idle_timeout", "1s")]).unwrap();
    assert_eq!(s.cache_ttl, Duration::ZERO);
}

#[test]
fn default_session_cache_is_lowered_for_a_short_idle_timeout() {
    assert_eq!(settings(&[]).unwrap().cache_ttl, Duration::from_secs(5));
    let s = settings(&[("session_idle_timeout", "8s")]).unwrap();
    assert_eq!(s.cache_ttl, Duration::from_secs(2));
    assert!(s.cache_ttl * 2 < s.idle_timeout);
}

#[test]
fn redis_url_with_a_fragment_is_refused_at_config_time() {
    let mut b = ConfigBuilder::new();
    let err = b
        .set_global("redis", "rediss://sesame:pw@127.0.0.1:6380/0#insecure")
        .expect_err("#insecure would disable TLS certificate checks");
    assert!(
        err.to_string()
            .starts_with("sesame_redis \"rediss://sesame:***@")
            && err.to_string().contains("fragment")
            && !err.to_string().contains(":pw@"),
        "{}",
        err
    );
    assert!(b.set_global("redis", "rediss://127.0.0.1:6380/0").is_ok());
}
