//! The browser cookies Sesame reads on every request: the session cookie (id + MAC) and the
//! encrypted login and logout states.

use crate::session::{LoginState, LogoutState, PendingLogin, SessionId};

const NOW: u64 = 1_800_000_000;

/// Arbitrary bytes as a session cookie: refused unless they are the encoding of an id under
/// these keys; an accepted value re-encodes to itself (one encoding per id), and a fresh id
/// decodes back to itself.
pub fn session_cookie(data: &[u8]) {
    let keys = super::keys();
    let text = String::from_utf8_lossy(data);
    if let Some(id) = SessionId::from_cookie(&text, keys) {
        assert_eq!(
            id.to_cookie(keys),
            text,
            "an accepted session cookie must be the one encoding of its id"
        );
    }
    let fresh = SessionId::random();
    let cookie = fresh.to_cookie(keys);
    assert!(SessionId::from_cookie(&cookie, keys) == Some(fresh));
    // Values found in a Cookie header: each one is a substring of the header, never spans a ';'.
    for value in crate::session::cookie_value(&text, "__Host-sesame") {
        assert!(!value.contains(';') && text.contains(value));
    }
    // What the backend sees of the Cookie header: none of Sesame's cookies, never longer.
    if let Some(kept) = crate::session::without_own_cookies(data) {
        assert!(kept.len() <= data.len());
        for pair in kept.split(|&b| b == b';') {
            let name = pair.split(|&b| b == b'=').next().unwrap_or_default();
            assert!(
                !crate::session::cookie::is_own_cookie(name.trim_ascii()),
                "a Sesame cookie reached the backend: {:?}",
                String::from_utf8_lossy(pair)
            );
        }
    }
}

/// The pending login the fields describe (provider, state, nonce, verifier, return_to, an
/// ignored field, cross-site flag), the `nth` one pushed: each is newer than the one before,
/// as in a browser.
fn pending_from(data: &[u8], nth: u64) -> PendingLogin {
    let f = super::fields(data, 7);
    PendingLogin {
        provider: f[0].clone(),
        state: f[1].clone(),
        nonce: f[2].clone(),
        code_verifier: (!f[3].is_empty()).then(|| f[3].clone()),
        return_to: f[4].clone(),
        created: NOW - 100 + nth,
        cross_site: f[6].starts_with('1'),
        ..PendingLogin::default()
    }
}

/// The login-state cookie: arbitrary bytes read as nothing pending (never a panic), and a
/// sealed state (entries from the fuzzer) opens to exactly what was sealed, within the cookie
/// size browsers keep.
pub fn login_cookie(data: &[u8]) {
    let keys = super::keys();
    let text = String::from_utf8_lossy(data);
    let read = LoginState::from_cookies(&[&text], keys, NOW);
    assert!(read.is_empty(), "unsealed bytes opened as a login state");

    let mut state = LoginState::default();
    for (nth, part) in (0..8).zip(data.split(|&b| b == 0xFE)) {
        state.push(pending_from(part, nth));
    }
    let sealed = state.seal(keys);
    assert!(!super::breaks_a_header(&sealed));
    let opened = LoginState::from_cookies(&[&sealed], keys, NOW);
    if sealed.len() <= crate::session::login_state::MAX_COOKIE_VALUE {
        assert_eq!(opened, state, "decode of encode must be the identity");
    }
    // Another purpose's key material (the logout cookie) never opens it.
    assert!(LogoutState::open(&sealed, keys, NOW).is_none());
}

/// The logout-state cookie: arbitrary bytes never open; a sealed state opens to itself.
pub fn logout_cookie(data: &[u8]) {
    let keys = super::keys();
    let text = String::from_utf8_lossy(data);
    assert!(LogoutState::open(&text, keys, NOW).is_none());
    let f = super::fields(data, 2);
    let state = LogoutState {
        provider: f[0].clone(),
        state: f[1].clone(),
        created: NOW,
    };
    let sealed = state.seal(keys);
    assert!(!super::breaks_a_header(&sealed));
    assert_eq!(LogoutState::open(&sealed, keys, NOW), Some(state));
    assert!(LoginState::from_cookies(&[&sealed], keys, NOW).is_empty());
}
