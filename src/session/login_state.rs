//! The short-lived encrypted cookies that bind a login (or a logout) to the browser that
//! started it: `__Host-sesame-login` (a few pending logins, for parallel tabs) and
//! `__Host-sesame-logout`. Tampered, foreign or expired content reads as "nothing pending".

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{aead, Keys};

/// Lifetime of a pending login or logout, and the cookies' Max-Age.
pub const LOGIN_STATE_MAX_AGE: u64 = 600;
/// Pending logins kept per browser (several tabs may start a login at once): up to
/// `MAX_SAME_SITE` started on this site (or from a typed URL) plus `MAX_CROSS_SITE` started by
/// a navigation from another site.
#[cfg(test)]
const MAX_PENDING: usize = MAX_SAME_SITE + MAX_CROSS_SITE;
/// Logins started from this site's own pages, a bookmark or a typed URL.
pub const MAX_SAME_SITE: usize = 4;
/// Logins started by another site's navigation (a link in a webmail, or a page trying to evict
/// the others): one slot, so they only ever replace each other.
pub const MAX_CROSS_SITE: usize = 1;

const LOGIN_AAD: &[u8] = b"sesame-login";
/// Browsers drop cookies over 4096 bytes (name + value + attributes): stay well below.
pub const MAX_COOKIE_VALUE: usize = 3800;
const LOGOUT_AAD: &[u8] = b"sesame-logout";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub provider: String,
    pub state: String,
    pub nonce: String,
    #[serde(default)]
    pub code_verifier: Option<String>,
    pub return_to: String,
    pub created: u64,
    /// What this login asked beyond the provider's defaults (acr, prompt, hints).
    #[serde(default, skip_serializing_if = "is_default_options")]
    pub options: crate::federation::LoginOptions,
    /// Step-up: the login must come back with the same `sub` as the session it upgrades.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_sub: Option<String>,
    /// Started by a navigation from another site (`Sec-Fetch-Site: cross-site`...): such
    /// entries only ever take the cross-site slot (see `LoginState::push`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub cross_site: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_default_options(o: &crate::federation::LoginOptions) -> bool {
    *o == crate::federation::LoginOptions::default()
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginState {
    /// Newest first.
    pub entries: Vec<PendingLogin>,
}

fn fresh(created: u64, now: u64) -> bool {
    // A little tolerance for a clock that stepped back between two worker processes.
    created <= now + 60 && now < created.saturating_add(LOGIN_STATE_MAX_AGE)
}

fn seal_json<T: Serialize>(keys: &Keys, aad: &[u8], value: &T) -> String {
    // Serialising plain structs of strings and integers cannot fail.
    let json = serde_json::to_vec(value).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(aead::seal(&keys.enc, aad, &json))
}

fn open_json<T: for<'de> Deserialize<'de>>(keys: &Keys, aad: &[u8], value: &str) -> Option<T> {
    let sealed = URL_SAFE_NO_PAD.decode(value.trim()).ok()?;
    let json = aead::open(&keys.enc, aad, &sealed)?;
    serde_json::from_slice(&json).ok()
}

/// Constant-time string equality (length is not secret).
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl LoginState {
    /// Reads the cookie values (all of them, if the browser sent several); drops expired entries.
    pub fn from_cookies(values: &[&str], keys: &Keys, now: u64) -> LoginState {
        let mut entries: Vec<PendingLogin> = Vec::new();
        for value in values {
            if let Some(list) = open_json::<Vec<PendingLogin>>(keys, LOGIN_AAD, value) {
                entries.extend(list.into_iter().filter(|e| fresh(e.created, now)));
            }
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.created));
        let mut state = LoginState { entries };
        state.keep_newest();
        state
    }

    /// Adds a login attempt, newest first.
    ///
    /// Why two quotas: the list is bounded (it lives in a cookie), so a new entry must push an
    /// old one out. Any site can make the browser navigate top-level to a protected URL (a
    /// pop-up, a redirect chain), and each such navigation starts a login; with one shared
    /// list, a few of them would evict the login the user is completing in another tab, whose
    /// callback would then fail. So an entry started by another site's navigation (whose
    /// initiator we cannot tell from an attacker) only competes with entries of its own kind,
    /// in a slot of its own, and never evicts a login started on this site. The price: two
    /// logins started at the same time from other sites' links keep only the newer one.
    pub fn push(&mut self, entry: PendingLogin) {
        self.entries.insert(0, entry);
        self.keep_newest();
    }

    /// Keeps the newest `MAX_SAME_SITE` same-site and `MAX_CROSS_SITE` cross-site entries.
    fn keep_newest(&mut self) {
        let (mut same, mut cross) = (0usize, 0usize);
        self.entries.retain(|e| {
            let count = if e.cross_site { &mut cross } else { &mut same };
            *count += 1;
            *count
                <= if e.cross_site {
                    MAX_CROSS_SITE
                } else {
                    MAX_SAME_SITE
                }
        });
    }

    /// Removes and returns the pending login of `provider` whose state equals `state`.
    pub fn take(&mut self, provider: &str, state: &str) -> Option<PendingLogin> {
        let mut found = None;
        // Compare against every entry so timing does not reveal which one matched.
        for (i, e) in self.entries.iter().enumerate() {
            if ct_eq(&e.state, state) && e.provider == provider && found.is_none() {
                found = Some(i);
            }
        }
        found.map(|i| self.entries.remove(i))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The cookie value; when the entries would not fit in a cookie, a cross-site entry's
    /// return path is shortened to `/` first (another site chooses that URL, and must not push
    /// this site's logins out with a long one), then the oldest are dropped, then the newest
    /// return path is shortened to `/`.
    pub fn seal(&mut self, keys: &Keys) -> String {
        loop {
            let sealed = seal_json(keys, LOGIN_AAD, &self.entries);
            if sealed.len() <= MAX_COOKIE_VALUE {
                return sealed;
            }
            if let Some(foreign) = self
                .entries
                .iter_mut()
                .find(|e| e.cross_site && e.return_to != "/")
            {
                foreign.return_to = "/".into();
            } else if self.entries.len() > 1 {
                self.entries.pop();
            } else if let Some(only) = self.entries.first_mut().filter(|e| e.return_to != "/") {
                only.return_to = "/".into();
            } else {
                return sealed;
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutState {
    pub provider: String,
    pub state: String,
    pub created: u64,
}

impl LogoutState {
    pub fn seal(&self, keys: &Keys) -> String {
        seal_json(keys, LOGOUT_AAD, self)
    }

    /// `None` when tampered, foreign or expired.
    pub fn open(value: &str, keys: &Keys, now: u64) -> Option<LogoutState> {
        let state: LogoutState = open_json(keys, LOGOUT_AAD, value)?;
        fresh(state.created, now).then_some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::derive(&[3u8; 32])
    }

    fn entry(state: &str, created: u64) -> PendingLogin {
        PendingLogin {
            provider: "fc".into(),
            state: state.into(),
            nonce: "n".into(),
            code_verifier: None,
            return_to: "/".into(),
            created,
            ..PendingLogin::default()
        }
    }

    #[test]
    fn pending_login_round_trips_through_the_cookie() {
        let mut st = LoginState::default();
        st.push(entry("s1", 1000));
        let cookie = st.seal(&keys());
        let back = LoginState::from_cookies(&[&cookie], &keys(), 1001);
        assert_eq!(back, st);
    }

    #[test]
    fn expired_login_state_is_rejected() {
        let mut st = LoginState::default();
        st.push(entry("s1", 1000));
        let cookie = st.seal(&keys());
        let later = 1000 + LOGIN_STATE_MAX_AGE;
        assert!(LoginState::from_cookies(&[&cookie], &keys(), later).is_empty());
        let logout = LogoutState {
            provider: "fc".into(),
            state: "x".into(),
            created: 1000,
        }
        .seal(&keys());
        assert!(LogoutState::open(&logout, &keys(), 1001).is_some());
        assert!(LogoutState::open(&logout, &keys(), later).is_none());
    }

    #[test]
    fn login_state_sealed_with_another_secret_reads_as_empty() {
        let mut st = LoginState::default();
        st.push(entry("s1", 1000));
        let cookie = st.seal(&Keys::derive(&[4u8; 32]));
        assert!(LoginState::from_cookies(&[&cookie], &keys(), 1001).is_empty());
        assert!(LoginState::from_cookies(&["garbage"], &keys(), 1001).is_empty());
    }

    #[test]
    fn login_cookie_stays_below_browser_limit_with_long_return_paths() {
        let mut st = LoginState::default();
        for i in 0..MAX_SAME_SITE {
            let mut e = entry(&format!("s{i}"), 1000 + i as u64);
            e.return_to = format!("/{}", "x".repeat(2000));
            st.push(e);
        }
        let cookie = st.seal(&keys());
        assert!(cookie.len() <= MAX_COOKIE_VALUE);
        let back = LoginState::from_cookies(&[&cookie], &keys(), 1005);
        assert_eq!(back.entries[0].state, "s3", "the newest login survives");
    }

    fn foreign(state: &str, created: u64) -> PendingLogin {
        PendingLogin {
            cross_site: true,
            ..entry(state, created)
        }
    }

    #[test]
    fn cross_site_navigations_cannot_evict_a_login_started_on_this_site() {
        let mut st = LoginState::default();
        st.push(entry("mine", 1000));
        for i in 0..20 {
            st.push(foreign(&format!("evil{i}"), 1001 + i));
        }
        let cookie = st.seal(&keys());
        let mut back = LoginState::from_cookies(&[&cookie], &keys(), 1030);
        assert_eq!(back.entries.len(), 2, "{:?}", back.entries);
        assert_eq!(
            back.entries[0].state, "evil19",
            "the newest cross-site one is kept"
        );
        assert!(
            back.take("fc", "mine").is_some(),
            "the user's own login survives"
        );
    }

    #[test]
    fn a_long_cross_site_return_path_does_not_push_this_sites_logins_out_of_the_cookie() {
        let mut st = LoginState::default();
        for i in 0..MAX_SAME_SITE {
            let mut e = entry(&format!("s{i}"), 1000 + i as u64);
            e.return_to = format!("/{}", "x".repeat(400));
            st.push(e);
        }
        let mut evil = foreign("evil", 1010);
        evil.return_to = format!("/{}", "y".repeat(2040));
        st.push(evil);
        let cookie = st.seal(&keys());
        assert!(cookie.len() <= MAX_COOKIE_VALUE);
        let back = LoginState::from_cookies(&[&cookie], &keys(), 1011);
        assert_eq!(back.entries.len(), MAX_PENDING);
        assert!(back
            .entries
            .iter()
            .all(|e| e.cross_site || e.return_to.len() > 400));
    }

    #[test]
    fn a_login_started_on_this_site_may_replace_the_oldest_one() {
        let mut st = LoginState::default();
        st.push(foreign("linked", 999));
        for i in 0..MAX_SAME_SITE + 1 {
            st.push(entry(&format!("s{i}"), 1000 + i as u64));
        }
        assert_eq!(st.entries.len(), MAX_PENDING);
        assert!(
            st.take("fc", "s0").is_none(),
            "the oldest same-site one went"
        );
        assert!(
            st.take("fc", "linked").is_some(),
            "the cross-site slot is its own"
        );
    }

    #[test]
    fn at_most_four_pending_logins_are_kept_newest_first() {
        let mut st = LoginState::default();
        for i in 0..6 {
            st.push(entry(&format!("s{i}"), 1000 + i));
        }
        assert_eq!(st.entries.len(), MAX_SAME_SITE);
        assert_eq!(st.entries[0].state, "s5");
        assert!(st.take("fc", "s1").is_none());
        assert_eq!(st.take("fc", "s3").map(|e| e.state), Some("s3".into()));
        assert!(st.take("fc", "s3").is_none(), "a state is taken once");
        assert!(
            st.take("pc", "s4").is_none(),
            "another provider's state does not match"
        );
    }
}
