//! The access token handed to the backend (`sesame_pass_access_token`): kept only where a
//! location asks for it, handed over once, revoked at logout.

use super::*;

fn allowed(o: Outcome) -> Identity {
    match o {
        Outcome::Allow(id) => id,
        other => panic!("expected Allow, got {other:?}"),
    }
}

fn token_keys(rig: &Rig) -> usize {
    rig.store
        .keys()
        .iter()
        .filter(|k| k.contains(":t:"))
        .count()
}

#[test]
fn no_token_is_kept_when_no_location_passes_it() {
    let rig = rig("5s");
    let mut jar = Jar::default();
    rig.login("/private/", &mut jar);
    assert_eq!(token_keys(&rig), 0);
    let id = allowed(finish(rig.get(Some(&rig.protect), "/private/", &jar)));
    assert!(id.access().is_none());
}

#[test]
fn the_token_is_handed_over_once_then_gone_with_the_cache_on_or_off() {
    for cache in ["5s", "0"] {
        let rig = rig(cache);
        let passing = location_with(&rig, &[("pass_access_token", "on")]);
        let mut jar = Jar::default();
        rig.login("/private/", &mut jar);
        assert_eq!(token_keys(&rig), 1, "kept encrypted beside the session");
        let raw = rig
            .store
            .keys()
            .into_iter()
            .find(|k| k.contains(":t:"))
            .unwrap();
        let stored = rig.store.get(&raw).unwrap().unwrap();
        assert!(
            !String::from_utf8_lossy(&stored).contains("at-"),
            "never stored in clear"
        );
        // A location without the option neither gets nor consumes it.
        let plain = allowed(finish(rig.get(Some(&rig.protect), "/private/", &jar)));
        assert!(plain.access().is_none());
        let first = rig.get(Some(&passing), "/private/", &jar);
        assert!(!is_done(&first), "taking the token is I/O: a job");
        let id = allowed(finish(first));
        let handed = id.access().expect("the first request gets the token");
        assert!(handed.token.starts_with("at-"), "{cache}");
        let expires: u64 = handed.expires.parse().unwrap();
        let now = crate::session::now_unix();
        assert!(expires > now && expires <= now + 60);
        assert_eq!(handed.scope, "openid email");
        assert_eq!(token_keys(&rig), 0, "taken away from the store");
        let again = rig.get(Some(&passing), "/private/", &jar);
        let second = allowed(finish(again));
        assert!(second.access().is_none(), "never a second time");
        assert_eq!(second.user_key(), id.user_key());
    }
}

#[test]
fn requests_racing_for_the_token_get_it_once() {
    let rig = rig("5s");
    let passing = location_with(&rig, &[("pass_access_token", "on")]);
    let mut jar = Jar::default();
    rig.login("/private/", &mut jar);
    // Both requests start before either job runs (two workers, or two threads of one).
    let a = rig.get(Some(&passing), "/private/", &jar);
    let b = rig.get(Some(&passing), "/private/", &jar);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(move || allowed(finish(a)));
        let b = s.spawn(move || allowed(finish(b)));
        (a.join().unwrap(), b.join().unwrap())
    });
    let handed = [a.access().is_some(), b.access().is_some()];
    assert_eq!(handed.iter().filter(|h| **h).count(), 1, "{handed:?}");
}

#[test]
fn logout_revokes_the_kept_token_and_removes_it() {
    let rig = rig("5s");
    let _passing = location_with(&rig, &[("pass_access_token", "on")]);
    let mut jar = Jar::default();
    rig.login("/private/", &mut jar);
    assert_eq!(token_keys(&rig), 1);
    let (location, _) = redirect(finish(rig.get(Some(&rig.logout), "/logout", &jar)));
    assert!(location.contains("/session/end?"), "{location}");
    assert_eq!(token_keys(&rig), 0);
    let revoked = rig.op.revoked.lock().unwrap().clone();
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert!(revoked[0].0.starts_with("at-"));
    assert_eq!(revoked[0].1, "access_token");
}

#[test]
fn a_token_already_handed_over_is_not_revoked_at_logout() {
    let rig = rig("5s");
    let passing = location_with(&rig, &[("pass_access_token", "on")]);
    let mut jar = Jar::default();
    rig.login("/private/", &mut jar);
    assert!(allowed(finish(rig.get(Some(&passing), "/private/", &jar)))
        .access()
        .is_some());
    redirect(finish(rig.get(Some(&rig.logout), "/logout", &jar)));
    assert!(rig.op.revoked.lock().unwrap().is_empty());
}

#[test]
fn pass_access_token_takes_on_or_off() {
    let rig = rig("5s");
    let err = rig
        .sesame
        .location(&LocationSpec {
            mode: LocationMode::Protect,
            provider: "op".into(),
            options: vec![("pass_access_token".into(), "yes".into())],
        })
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("sesame_pass_access_token \"yes\" is not valid (expected on or off)"),
        "{err}"
    );
}
