use super::*;
use std::sync::atomic::Ordering;

fn with_code(callback: &str, code: &str) -> String {
    let (path, query) = callback.split_once('?').unwrap();
    let rest: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with("code="))
        .collect();
    format!("{path}?code={code}&{}", rest.join("&"))
}

#[test]
fn callback_with_a_malformed_code_is_refused_in_begin_without_a_job() {
    let rig = rig("5s");
    let long = "a".repeat(callback::MAX_CODE_LEN + 1);
    for code in ["%3Cscript%3E", "a%20b", "%C3%A9t%C3%A9", long.as_str()] {
        let mut jar = Jar::default();
        let callback = rig.start_login("/private/", &mut jar);
        let before = rig.op.requests.load(Ordering::SeqCst);
        let step = rig.get(None, &with_code(&callback, code), &jar);
        let Step::Done(outcome) = step else {
            panic!("a job for the malformed code {code:?}");
        };
        let p = page(outcome);
        assert_eq!(p.status, 400, "{code:?}");
        assert_eq!(rig.op.requests.load(Ordering::SeqCst), before);
        assert!(rig.store.keys().iter().all(|k| !k.contains(":s:")));
    }
}

#[test]
fn codes_of_real_providers_are_plausible() {
    for code in [
        "Xy0-_aB9Xy0-_aB9Xy0-_aB9Xy0-_aB9Xy0-_aB9abc", // oidc-provider (FC, ProConnect)
        "4/0AX4XfWh-Abc_def",                          // Google
        "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl",          // JWT-like
        "f1e2d3c4-b5a6-4978-8899-aabbccddeeff.0a1b2c3d-4e5f",
    ] {
        assert!(callback::is_plausible_code(code), "{code}");
    }
    for code in ["", "a b", "<x>", "é", "a\u{0}b", "a%41"] {
        assert!(!callback::is_plausible_code(code), "{code:?}");
    }
}

#[test]
fn provider_jobs_beyond_the_concurrency_cap_get_a_busy_page_at_once() {
    let rig = rig_globals("5s", None, &[("provider_concurrency", "1")]);
    // Nothing cached yet: each login needs discovery, a provider job.
    let first = rig.get(Some(&rig.protect), "/private/", &Jar::default());
    let Step::Job(first) = first else {
        panic!("expected a provider job");
    };
    assert_eq!(first.kind(), JobKind::Provider);
    let second = rig.get(Some(&rig.protect), "/private/", &Jar::default());
    let Step::Done(outcome) = second else {
        panic!("a second provider job beyond provider_concurrency 1");
    };
    let p = page(outcome);
    assert_eq!(p.status, 503);
    assert!(p.headers.contains(&("Retry-After".into(), "5".into())));
    assert_eq!(rig.op.requests.load(Ordering::SeqCst), 0);
    // The slot comes back when the job has run.
    redirect(first.run());
    let mut jar = Jar::default();
    let callback = rig.start_login("/private/", &mut jar);
    let third = rig.get(None, &callback, &jar);
    assert!(matches!(&third, Step::Job(j) if j.kind() == JobKind::Provider));
}

#[test]
fn session_reads_take_no_provider_slot() {
    let rig = rig_globals("0", None, &[("provider_concurrency", "1")]);
    let mut jar = Jar::default();
    rig.login("/private/", &mut jar);
    let mut other = Jar::default();
    let callback = rig.start_login("/private/", &mut other);
    let Step::Job(held) = rig.get(None, &callback, &other) else {
        panic!("expected the callback's job");
    };
    // The only provider slot is taken by a login; a logged-in user's session read still runs.
    let read = rig.get(Some(&rig.protect), "/private/", &jar);
    let Step::Job(read) = read else {
        panic!("session_cache 0: a session read");
    };
    assert_eq!(read.kind(), JobKind::Session);
    assert!(matches!(read.run(), Outcome::Allow(_)));
    drop(held);
}

#[test]
fn a_provider_that_just_failed_is_answered_from_begin_without_io() {
    let rig = rig("5s");
    rig.op.down.store(true, Ordering::SeqCst);
    let first = page(finish(rig.get(
        Some(&rig.protect),
        "/private/",
        &Jar::default(),
    )));
    assert_eq!(first.status, 503);
    let asked = rig.op.requests.load(Ordering::SeqCst);
    assert_eq!(asked, 1, "one discovery attempt");
    let again = rig.get(Some(&rig.protect), "/private/", &Jar::default());
    let Step::Done(outcome) = again else {
        panic!("a job although the provider failed moments ago");
    };
    let p = page(outcome);
    assert_eq!(p.status, 503);
    assert!(p.body.contains("indisponible"));
    assert_eq!(rig.op.requests.load(Ordering::SeqCst), asked);
}
