use std::time::Duration;

use super::exposition::escape_label;
use super::*;

fn metrics() -> Metrics {
    Metrics::new(
        vec!["fc".into(), "pc".into()],
        vec!["eidas1".into(), "eidas2".into(), "eidas1".into()],
    )
    .unwrap()
}

fn line<'a>(text: &'a str, series: &str) -> Option<&'a str> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .map(|l| &l[series.len() + 1..])
}

#[test]
fn every_family_has_help_and_type_before_its_samples() {
    let text = metrics().render();
    let mut declared = std::collections::BTreeSet::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let mut words = rest.split(' ');
            let name = words.next().unwrap();
            assert!(
                matches!(words.next(), Some("counter" | "gauge" | "histogram")),
                "{l}"
            );
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} has no HELP"
            );
            declared.insert(name.to_owned());
        } else if !l.starts_with('#') {
            let name = l.split(['{', ' ']).next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| declared.contains(*f)))
                .unwrap_or(name);
            assert!(declared.contains(family), "sample before its TYPE: {l}");
            assert!(l.rsplit(' ').next().unwrap().parse::<f64>().is_ok(), "{l}");
        }
    }
    assert!(declared.len() >= 12, "{declared:?}");
}

#[test]
fn counters_count_per_provider_and_label() {
    let m = metrics();
    m.login_started(0);
    m.login_started(0);
    m.login_completed(1, "eidas2", Some("fia1v2"));
    m.login_completed(1, "eidas9", None);
    m.failed(0, Failure::StateMismatch);
    m.step_up(1);
    m.logout(0);
    m.session_cache(true);
    m.session_cache(false);
    m.session_cache(false);
    let t = m.render();
    assert_eq!(
        line(&t, r#"sesame_logins_started_total{provider="fc"}"#),
        Some("2")
    );
    assert_eq!(
        line(&t, r#"sesame_logins_started_total{provider="pc"}"#),
        Some("0")
    );
    assert_eq!(
        line(
            &t,
            r#"sesame_logins_completed_total{provider="pc",acr="eidas2"}"#
        ),
        Some("1")
    );
    assert_eq!(
        line(
            &t,
            r#"sesame_logins_completed_total{provider="pc",acr="other"}"#
        ),
        Some("1"),
        "a level outside the known ones is other"
    );
    assert_eq!(
        t.matches(r#"sesame_logins_completed_total{provider="fc",acr="eidas1"}"#)
            .count(),
        1,
        "a level listed twice has one series"
    );
    assert_eq!(
        line(
            &t,
            r#"sesame_logins_by_idp_total{provider="pc",idp_id="fia1v2"}"#
        ),
        Some("1")
    );
    assert_eq!(
        line(
            &t,
            r#"sesame_logins_failed_total{provider="fc",cause="state_mismatch",code=""}"#
        ),
        Some("1")
    );
    assert_eq!(
        line(&t, r#"sesame_step_ups_total{provider="pc"}"#),
        Some("1")
    );
    assert_eq!(
        line(&t, r#"sesame_logouts_total{provider="fc"}"#),
        Some("1")
    );
    assert_eq!(
        line(&t, r#"sesame_session_cache_total{result="hit"}"#),
        Some("1")
    );
    assert_eq!(
        line(&t, r#"sesame_session_cache_total{result="miss"}"#),
        Some("2")
    );
}

#[test]
fn provider_codes_are_known_ones_or_other() {
    let m = metrics();
    m.failed(
        0,
        Failure::ProviderError {
            error: "access_denied",
            description: Some("Code d'erreur : Y030031"),
        },
    );
    m.failed(
        0,
        Failure::ProviderError {
            error: "access_denied",
            description: None,
        },
    );
    m.failed(
        0,
        Failure::ProviderError {
            error: "made_up\"\n{x=\"1\"}",
            description: Some("Y999999"),
        },
    );
    let t = m.render();
    for (code, n) in [("Y030031", "1"), ("access_denied", "1"), ("other", "1")] {
        let series = format!(
            r#"sesame_logins_failed_total{{provider="fc",cause="provider_error",code="{code}"}}"#
        );
        assert_eq!(line(&t, &series), Some(n), "{series}\n{t}");
    }
    assert!(!t.contains("made_up") && !t.contains("Y999999"));
}

#[test]
fn token_rejections_are_classified_by_reason() {
    let cases = [
        (
            "id_token: signature does not verify with the provider's key",
            "token_rejected",
            "signature",
        ),
        (
            "id_token: expired 40s ago (leeway 30s)",
            "token_rejected",
            "time",
        ),
        ("id_token: nonce does not match", "token_rejected", "nonce"),
        (
            "id_token: iss \"x\" is not the configured issuer",
            "token_rejected",
            "issuer",
        ),
        ("userinfo JWT is not UTF-8", "userinfo_rejected", "format"),
        ("id_token: something new", "token_rejected", "other"),
    ];
    for (message, cause, reason) in cases {
        assert_eq!(
            Failure::TokenRejected(message).labels(),
            (cause, reason),
            "{message}"
        );
        assert!(failure_labels().contains(&(cause, reason)));
    }
}

#[test]
fn every_failure_label_pair_has_a_cell() {
    let all = failure_labels();
    for f in [
        Failure::StateMismatch,
        Failure::LogoutStateMismatch,
        Failure::BadCallback,
        Failure::ProviderUnavailable,
        Failure::ProviderBusy,
        Failure::TokenRefused,
        Failure::Protocol,
        Failure::InsufficientAcr,
        Failure::LevelRefused,
        Failure::IdentityChanged,
        Failure::ClaimRefused,
        Failure::StoreDown,
    ] {
        assert!(all.contains(&f.labels()), "{f:?}");
    }
    let unique: std::collections::BTreeSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a pair is listed twice");
}

#[test]
fn label_values_are_escaped_per_the_format() {
    assert_eq!(escape_label(r#"a\b"c"#), r#"a\\b\"c"#);
    assert_eq!(escape_label("line\nnext"), "line\\nnext");
    let m = Metrics::new(vec!["we\"ird\\name\n".into()], vec![]).unwrap();
    let t = m.render();
    assert!(
        t.contains(r#"sesame_logins_started_total{provider="we\"ird\\name\n"} 0"#),
        "{t}"
    );
    assert!(t.lines().all(|l| !l.is_empty()));
}

#[test]
fn identity_providers_beyond_the_slots_or_not_identifiers_are_other() {
    let m = metrics();
    for i in 0..IDP_SLOTS + 5 {
        m.login_completed(1, "eidas1", Some(&format!("idp-{i}")));
    }
    m.login_completed(1, "eidas1", Some("idp-0"));
    m.login_completed(1, "eidas1", Some("jean.dupont@example.fr"));
    m.login_completed(1, "eidas1", Some(&"x".repeat(65)));
    let t = m.render();
    assert_eq!(
        line(
            &t,
            r#"sesame_logins_by_idp_total{provider="pc",idp_id="idp-0"}"#
        ),
        Some("2")
    );
    assert_eq!(
        line(
            &t,
            r#"sesame_logins_by_idp_total{provider="pc",idp_id="other"}"#
        ),
        Some("7")
    );
    assert!(!t.contains("example.fr") && !t.contains(&format!("idp-{IDP_SLOTS}\"")));
}

#[test]
fn histograms_are_cumulative_with_sum_and_count() {
    let m = metrics();
    m.redis(RedisOp::Read, Duration::from_micros(800), false);
    m.redis(RedisOp::Read, Duration::from_millis(30), false);
    m.redis(RedisOp::Read, Duration::from_secs(20), true);
    m.exchange(1, Exchange::Token, Duration::from_millis(120), false);
    let t = m.render();
    let h = "sesame_redis_duration_seconds";
    assert_eq!(
        line(&t, &format!(r#"{h}_bucket{{op="read",le="0.001"}}"#)),
        Some("1")
    );
    assert_eq!(
        line(&t, &format!(r#"{h}_bucket{{op="read",le="0.05"}}"#)),
        Some("2")
    );
    assert_eq!(
        line(&t, &format!(r#"{h}_bucket{{op="read",le="10"}}"#)),
        Some("2")
    );
    assert_eq!(
        line(&t, &format!(r#"{h}_bucket{{op="read",le="+Inf"}}"#)),
        Some("3")
    );
    assert_eq!(line(&t, &format!(r#"{h}_count{{op="read"}}"#)), Some("3"));
    assert_eq!(
        line(&t, &format!(r#"{h}_sum{{op="read"}}"#)),
        Some("20.0308")
    );
    assert_eq!(
        line(&t, r#"sesame_redis_errors_total{op="read"}"#),
        Some("1")
    );
    assert_eq!(
        line(
            &t,
            r#"sesame_provider_exchange_duration_seconds_count{provider="pc",exchange="token"}"#
        ),
        Some("1")
    );
}

#[test]
fn job_gauges_follow_a_job_from_queue_to_end() {
    let m = metrics();
    let queued = m.job_queued(JobGauge::Provider);
    let t = m.render();
    assert_eq!(
        line(&t, r#"sesame_jobs_queued{kind="provider"}"#),
        Some("1")
    );
    let running = queued.start();
    let t = m.render();
    assert_eq!(
        line(&t, r#"sesame_jobs_queued{kind="provider"}"#),
        Some("0")
    );
    assert_eq!(
        line(&t, r#"sesame_jobs_running{kind="provider"}"#),
        Some("1")
    );
    drop(running);
    drop(m.job_queued(JobGauge::Session));
    let t = m.render();
    assert_eq!(
        line(&t, r#"sesame_jobs_running{kind="provider"}"#),
        Some("0")
    );
    assert_eq!(line(&t, r#"sesame_jobs_queued{kind="session"}"#), Some("0"));
}

#[test]
fn a_process_forked_after_the_table_adds_to_the_same_counts() {
    let m = metrics();
    // SAFETY (test): the child only does atomic adds and _exit; no lock is held across fork
    // by this thread's code.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        for _ in 0..1000 {
            m.login_started(1);
        }
        m.login_completed(1, "eidas1", Some("fia1v2"));
        // SAFETY (test): leave the child at once, without running the parent's test harness.
        unsafe { libc::_exit(0) };
    }
    for _ in 0..500 {
        m.login_started(1);
    }
    let mut status = 0;
    // SAFETY (test): waits for the child forked above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let t = m.render();
    assert_eq!(
        line(&t, r#"sesame_logins_started_total{provider="pc"}"#),
        Some("1500")
    );
    assert_eq!(
        line(
            &t,
            r#"sesame_logins_by_idp_total{provider="pc",idp_id="fia1v2"}"#
        ),
        Some("1"),
        "a slot claimed in the child is seen by the parent"
    );
}

/// The cost of one event, measured: `cargo test --release --lib metrics::tests::cost_of_an_event
/// -- --ignored --nocapture` (docs/metrics.md quotes its figures).
#[test]
#[ignore = "a measurement, run by hand in release"]
fn cost_of_an_event() {
    let m = metrics();
    let n = 20_000_000u32;
    let t = std::time::Instant::now();
    for _ in 0..n {
        m.session_cache(std::hint::black_box(true));
    }
    let counter = t.elapsed().as_nanos() as f64 / f64::from(n);
    let t = std::time::Instant::now();
    for i in 0..n {
        m.redis(
            RedisOp::Read,
            Duration::from_micros(u64::from(std::hint::black_box(i) % 3000)),
            false,
        );
    }
    let histogram = t.elapsed().as_nanos() as f64 / f64::from(n);
    println!(
        "one counter increment: {counter:.2} ns; one histogram observation: {histogram:.2} ns"
    );
    let t = std::time::Instant::now();
    let page = m.render();
    println!(
        "the page (2 providers): {} bytes, rendered in {:?}",
        page.len(),
        t.elapsed()
    );
    assert!(m
        .render()
        .contains("sesame_session_cache_total{result=\"hit\"} 20000000"));
}
