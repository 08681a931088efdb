//! Engine behaviour, end to end inside the process: a real OIDC exchange with a loopback test
//! provider, an in-memory store standing in for Redis.

pub(crate) mod provider;

use super::*;
use crate::pages::Page;
use crate::session::{MemoryStore, SessionId};
use provider::{TestProvider, CLIENT_ID, SUB};
use std::collections::BTreeMap;
use std::path::PathBuf;

struct Rig {
    sesame: Sesame,
    store: Arc<MemoryStore>,
    op: TestProvider,
    protect: Location,
    logout: Location,
    dir: PathBuf,
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn configure(
    b: &mut crate::ConfigBuilder,
    dir: &std::path::Path,
    name: &str,
    issuer: &str,
    base: &str,
) {
    b.add_provider(name).unwrap();
    let secret = dir.join("client_secret").to_string_lossy().into_owned();
    for (k, v) in [
        ("issuer", issuer),
        ("client_id", CLIENT_ID),
        ("client_secret_file", &secret),
        (
            "redirect_uri",
            &format!("https://app.example{base}/callback"),
        ),
        (
            "post_logout_redirect_uri",
            &format!("https://app.example{base}/logged-out"),
        ),
        ("logout_redirect", "/bye"),
        ("id_token_alg", "ES256"),
        ("userinfo", "json"),
        ("remote_user_claim", "email"),
        ("http_timeout", "2s"),
    ] {
        b.set_provider(name, k, v).unwrap();
    }
}

fn rig_with(cache: &str, issuer: Option<&str>) -> Rig {
    rig_globals(cache, issuer, &[])
}

/// A rig with further global directives (`provider_concurrency`...).
fn rig_globals(cache: &str, issuer: Option<&str>, globals: &[(&str, &str)]) -> Rig {
    let op = TestProvider::start();
    let dir = std::env::temp_dir().join(format!(
        "sesame-engine-{}-{}",
        std::process::id(),
        hex::encode(crate::session::random_bytes::<4>())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("secret"), "an engine test secret of 32+ bytes!").unwrap();
    std::fs::write(dir.join("client_secret"), "client-secret").unwrap();
    let mut b = crate::ConfigBuilder::new();
    b.set_global("redis", "redis://127.0.0.1:1/0").unwrap();
    b.set_global("secret_file", &dir.join("secret").to_string_lossy())
        .unwrap();
    b.set_global("session_cache", cache).unwrap();
    for (k, v) in globals {
        b.set_global(k, v).unwrap();
    }
    configure(&mut b, &dir, "op", issuer.unwrap_or(&op.issuer), "/sesame");
    configure(&mut b, &dir, "other", &op.issuer, "/other");
    let (config, _) = b.validate().unwrap();
    let store = Arc::new(MemoryStore::new());
    let sesame = Sesame::new(config, Box::new(Arc::clone(&store))).unwrap();
    // A worker, as nginx and Apache start it: the revocation feed vouches for the cache.
    sesame.start_worker_and_wait();
    let spec = |mode| LocationSpec {
        mode,
        provider: "op".into(),
        options: vec![],
    };
    Rig {
        protect: sesame.location(&spec(LocationMode::Protect)).unwrap(),
        logout: sesame.location(&spec(LocationMode::Logout)).unwrap(),
        sesame,
        store,
        op,
        dir,
    }
}

fn rig(cache: &str) -> Rig {
    rig_with(cache, None)
}

/// A browser's cookie jar.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn apply(&mut self, set_cookies: &[String]) {
        for c in set_cookies {
            let first = c.split(';').next().unwrap();
            let (name, value) = first.split_once('=').unwrap();
            if c.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn request<'a>(method: &'a str, uri: &'a str, cookie: &'a str) -> Request<'a> {
    Request {
        method,
        scheme: "https",
        host: "app.example",
        uri,
        cookie,
        client_addr: "192.0.2.7",
        // A current browser following a link of this site.
        sec_fetch_site: "same-origin",
        ..Request::default()
    }
}

fn finish(step: Step) -> Outcome {
    match step {
        Step::Done(o) => o,
        Step::Job(j) => j.run(),
    }
}

fn is_done(step: &Step) -> bool {
    matches!(step, Step::Done(_))
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn redirect(o: Outcome) -> (String, Vec<String>) {
    match o {
        Outcome::Redirect {
            location,
            set_cookies,
        } => (location, set_cookies),
        other => panic!("expected a redirect, got {other:?}"),
    }
}

fn page(o: Outcome) -> Page {
    match o {
        Outcome::Page(p) => p,
        other => panic!("expected a page, got {other:?}"),
    }
}

impl Rig {
    fn get(&self, loc: Option<&Location>, uri: &str, jar: &Jar) -> Step {
        let cookie = jar.header();
        self.sesame.begin(loc, &request("GET", uri, &cookie))
    }

    /// Protected GET → authorize redirect; returns the callback URI the provider would send.
    fn start_login(&self, uri: &str, jar: &mut Jar) -> String {
        let (location, cookies) = redirect(finish(self.get(Some(&self.protect), uri, jar)));
        assert!(
            location.starts_with(&format!("{}/authorize?", self.op.issuer)),
            "{location}"
        );
        jar.apply(&cookies);
        let state = query_param(&location, "state").unwrap();
        let nonce = query_param(&location, "nonce").unwrap();
        // The test provider puts the nonce it must sign in the code.
        let iss: String = form_urlencoded::byte_serialize(self.op.issuer.as_bytes()).collect();
        format!("/sesame/callback?code={nonce}&state={state}&iss={iss}")
    }

    fn login(&self, uri: &str, jar: &mut Jar) -> String {
        let callback = self.start_login(uri, jar);
        let (location, cookies) = redirect(finish(self.get(None, &callback, jar)));
        jar.apply(&cookies);
        location
    }
}

#[test]
fn protected_get_without_session_redirects_to_authorize_with_login_cookie() {
    let rig = rig("5s");
    let jar = Jar::default();
    let first = rig.get(Some(&rig.protect), "/private/", &jar);
    assert!(
        !is_done(&first),
        "discovery is fetched in a job, not in begin"
    );
    let (location, cookies) = redirect(finish(first));
    assert!(location.starts_with(&format!("{}/authorize?", rig.op.issuer)));
    let state = query_param(&location, "state").unwrap();
    let nonce = query_param(&location, "nonce").unwrap();
    assert_eq!(state.len(), 64);
    assert!(state.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(nonce.len(), 64);
    assert_ne!(state, nonce);
    assert_eq!(cookies.len(), 1);
    assert!(cookies[0].starts_with("__Host-sesame-login="));
    assert!(cookies[0].ends_with("; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=600"));
    // Metadata is now cached: the next redirect needs no I/O at all.
    let second = rig.get(Some(&rig.protect), "/private/", &jar);
    assert!(is_done(&second));
    let (again, _) = redirect(finish(second));
    assert_ne!(
        query_param(&again, "state").unwrap(),
        state,
        "a fresh state per attempt"
    );
}

fn location_with(rig: &Rig, options: &[(&str, &str)]) -> Location {
    rig.sesame
        .location(&LocationSpec {
            mode: LocationMode::Protect,
            provider: "op".into(),
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
        .unwrap()
}

fn assert_401_json(p: &Page, error: &str, login_url: Option<&str>) {
    assert_eq!(p.status, 401, "{}", p.body);
    assert_eq!(p.content_type, "application/json");
    let body: serde_json::Value = serde_json::from_str(&p.body).unwrap();
    assert_eq!(body["error"], error);
    assert_eq!(body["login_url"].as_str(), login_url);
    assert!(p
        .headers
        .iter()
        .any(|(k, v)| k == "WWW-Authenticate" && v.starts_with("Sesame realm=\"op\"")));
    assert!(
        p.set_cookies.is_empty(),
        "no login state: {:?}",
        p.set_cookies
    );
}

#[test]
fn script_requests_without_session_get_401_json_and_no_login_state() {
    let rig = rig("5s");
    let xhr = Request {
        x_requested_with: "XMLHttpRequest",
        ..request("GET", "/private/api?x=1", "")
    };
    let json = Request {
        accept: "application/json",
        ..request("GET", "/private/api", "")
    };
    let cors = Request {
        sec_fetch_mode: "cors",
        ..request("GET", "/private/api", "")
    };
    for (req, url) in [
        (xhr, "/private/api?x=1"),
        (json, "/private/api"),
        (cors, "/private/api"),
        (request("POST", "/private/form", ""), "/private/form"),
    ] {
        let step = rig.sesame.begin(Some(&rig.protect), &req);
        assert!(is_done(&step));
        assert_401_json(&page(finish(step)), "login_required", Some(url));
    }
    // A forged or expired session cookie is no session: same answer, after the store is read.
    let stale = format!(
        "__Host-sesame={}",
        SessionId::random().to_cookie(rig.sesame.inner.keys())
    );
    let req = Request {
        sec_fetch_mode: "cors",
        ..request("GET", "/private/api", &stale)
    };
    assert_401_json(
        &page(finish(rig.sesame.begin(Some(&rig.protect), &req))),
        "login_required",
        Some("/private/api"),
    );
    assert_eq!(rig.op.requests.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn unauth_action_401_never_starts_a_login() {
    let rig = rig("5s");
    let deny = location_with(&rig, &[("unauth_action", "401")]);
    let nav = rig.get(Some(&deny), "/private/", &Jar::default());
    let p = page(finish(nav));
    assert_eq!(p.status, 401);
    assert!(p.content_type.starts_with("text/html"));
    assert!(p.headers.iter().any(|(k, _)| k == "WWW-Authenticate"));
    assert!(p.set_cookies.is_empty());
    let xhr = Request {
        sec_fetch_mode: "cors",
        ..request("GET", "/private/api", "")
    };
    assert_401_json(
        &page(finish(rig.sesame.begin(Some(&deny), &xhr))),
        "login_required",
        None,
    );
    // A session still opens it.
    let mut jar = Jar::default();
    rig.login("/private/", &mut jar);
    assert!(matches!(
        finish(rig.get(Some(&deny), "/private/", &jar)),
        Outcome::Allow(_)
    ));
}

#[test]
fn unauth_action_pass_lets_requests_through_with_identity_only_from_a_session() {
    let rig = rig("0");
    let pass = location_with(&rig, &[("unauth_action", "pass")]);
    assert!(matches!(
        finish(rig.get(Some(&pass), "/public/", &Jar::default())),
        Outcome::Decline
    ));
    let stale = format!(
        "__Host-sesame={}",
        SessionId::random().to_cookie(rig.sesame.inner.keys())
    );
    assert!(matches!(
        finish(
            rig.sesame
                .begin(Some(&pass), &request("GET", "/public/", &stale))
        ),
        Outcome::Decline
    ));
    let mut jar = Jar::default();
    rig.login("/private/", &mut jar);
    match finish(rig.get(Some(&pass), "/public/", &jar)) {
        Outcome::Allow(id) => assert_eq!(id.provider(), "op"),
        other => panic!("expected the identity, got {other:?}"),
    }
    // A session below the location's level is no identity here, and no step-up either.
    let strict = location_with(&rig, &[("unauth_action", "pass"), ("acr", "eidas3")]);
    assert!(matches!(
        finish(rig.get(Some(&strict), "/public/", &jar)),
        Outcome::Decline
    ));
}

fn cross_site<'a>(method: &'a str, uri: &'a str, cookie: &'a str) -> Request<'a> {
    Request {
        sec_fetch_site: "cross-site",
        ..request(method, uri, cookie)
    }
}

#[test]
fn logout_link_from_another_site_asks_for_confirmation_and_the_post_logs_out() {
    let rig = rig("5s");
    let mut jar = Jar::default();
    rig.login("/private/", &mut jar);
    let cookie = jar.header();
    for req in [
        cross_site("GET", "/logout", &cookie),
        // No Fetch Metadata (old browser) and no Referer of this site: another site, maybe.
        Request {
            sec_fetch_site: "",
            ..request("GET", "/logout", &cookie)
        },
        Request {
            sec_fetch_site: "",
            referer: "https://evil.example/",
            ..request("GET", "/logout", &cookie)
        },
    ] {
        let step = rig.sesame.begin(Some(&rig.logout), &req);
        assert!(is_done(&step), "no I/O before the user confirms");
        let p = page(finish(step));
        assert_eq!(p.status, 200);
        assert!(p.body.contains("Se déconnecter</button>"), "{}", p.body);
        assert!(p.set_cookies.is_empty());
    }
    // Still logged in.
    assert!(matches!(
        finish(rig.get(Some(&rig.protect), "/private/", &jar)),
        Outcome::Allow(_)
    ));
    let p = page(finish(
        rig.sesame
            .begin(Some(&rig.logout), &cross_site("GET", "/logout", &cookie)),
    ));
    let action = p
        .body
        .split("action=\"")
        .nth(1)
        .and_then(|a| a.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    assert!(action.starts_with("?sesame_confirm="), "{action}");
    let target = format!("/logout{action}");
    // The token is bound to this session and refused from another site.
    let forged = "/logout?sesame_confirm=AAAAAAAAAAAAAAAAAAAAAA";
    for req in [
        Request {
            sec_fetch_site: "",
            ..request("POST", forged, &cookie)
        },
        cross_site("POST", &target, &cookie),
    ] {
        assert_eq!(
            page(finish(rig.sesame.begin(Some(&rig.logout), &req))).status,
            200
        );
    }
    // The page's own button (an old browser: neither Sec-Fetch-Site nor Origin).
    let post = Request {
        sec_fetch_site: "",
        ..request("POST", &target, &cookie)
    };
    let (location, cookies) = redirect(finish(rig.sesame.begin(Some(&rig.logout), &post)));
    assert!(location.contains("/session/end?"), "{location}");
    jar.apply(&cookies);
    assert!(!matches!(
        finish(rig.get(Some(&rig.protect), "/private/", &jar)),
        Outcome::Allow(_)
    ));
}

#[test]
fn logout_links_of_this_site_log_out_at_once() {
    let rig = rig("5s");
    for (site, referer) in [
        ("same-origin", ""),
        ("same-site", ""),
        ("none", ""),
        ("", "https://app.example/page"),
    ] {
        let mut jar = Jar::default();
        rig.login("/private/", &mut jar);
        let cookie = jar.header();
        let req = Request {
            sec_fetch_site: site,
            referer,
            ..request("GET", "/logout", &cookie)
        };
        let (location, _) = redirect(finish(rig.sesame.begin(Some(&rig.logout), &req)));
        assert!(
            location.contains("/session/end?"),
            "{site} {referer}: {location}"
        );
    }
}

#[test]
fn post_without_session_gets_401_page() {
    let rig = rig("5s");
    let step = rig
        .sesame
        .begin(Some(&rig.protect), &request("POST", "/private/form", ""));
    assert!(is_done(&step));
    let p = page(finish(step));
    assert_eq!(p.status, 401);
    assert_eq!(rig.op.requests.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn login_creates_session_and_allows_with_claims() {
    let rig = rig("5s");
    let mut jar = Jar::default();
    let back_to = rig.login("/private/page.php?x=1&y=%C3%A9", &mut jar);
    assert_eq!(back_to, "/private/page.php?x=1&y=%C3%A9");
    assert!(jar.0.contains_key("__Host-sesame"));
    assert!(
        !jar.0.contains_key("__Host-sesame-login"),
        "the used pending login is removed"
    );
    // Served from the per-process cache: no job.
    let step = rig.get(Some(&rig.protect), "/private/", &jar);
    assert!(is_done(&step), "a cached session needs no I/O");
    let Outcome::Allow(id) = finish(step) else {
        panic!("expected Allow")
    };
    assert_eq!(id.provider(), "op");
    assert_eq!(id.acr(), "eidas1");
    assert_eq!(id.claim("given_name"), Some("Élodie"));
    assert_eq!(id.claim("family_name"), Some("Ñúñez-Œuvray"));
    assert_eq!(id.claim("given_name_array"), Some("[\"Élodie\"]"));
    assert_eq!(id.claim("sub"), Some(SUB));
    assert_eq!(id.claim("nonce"), None);
    assert_eq!(id.remote_user(), "elodie@example.fr");
    assert_eq!(id.user_key(), crate::claims::user_key(&rig.op.issuer, SUB));
    // Redis holds exactly one session key, under the namespace.
    let keys = rig.store.keys();
    let sessions: Vec<_> = keys.iter().filter(|k| k.contains(":s:")).collect();
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0].starts_with("sesame:"));
}

#[test]
fn session_is_read_from_store_when_cache_is_off() {
    let rig = rig("0");
    let mut jar = Jar::default();
    rig.login("/private/", &mut jar);
    let step = rig.get(Some(&rig.protect), "/private/", &jar);
    assert!(!is_done(&step), "cache off: the session is read in a job");
    assert!(matches!(finish(step), Outcome::Allow(_)));
}

#[test]
fn callback_with_replayed_state_is_rejected() {
    let rig = rig("5s");
    let mut jar = Jar::default();
    let callback = rig.start_login("/private/", &mut jar);
    let login_cookie_before = jar.header();
    let (_, cookies) = redirect(finish(rig.get(None, &callback, &jar)));
    assert!(cookies.iter().any(|c| c.starts_with("__Host-sesame=")));
    // The attacker (or the back button) replays the same URL with the same old cookie.
    let replay = rig
        .sesame
        .begin(None, &request("GET", &callback, &login_cookie_before));
    let p = page(finish(replay));
    assert_eq!(p.status, 400);
}

#[test]
fn callback_with_unknown_state_is_rejected_before_any_io() {
    let rig = rig("5s");
    let mut jar = Jar::default();
    let callback = rig.start_login("/private/", &mut jar);
    let requests = rig.op.requests.load(std::sync::atomic::Ordering::SeqCst);
    let tampered = callback.replace("state=", "state=0");
    let step = rig.get(None, &tampered, &jar);
    assert!(is_done(&step));
    let p = page(finish(step));
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Référence"));
    // Without the login cookie (another browser) the right state is refused too.
    let p = page(finish(rig.get(None, &callback, &Jar::default())));
    assert_eq!(p.status, 400);
    assert_eq!(
        rig.op.requests.load(std::sync::atomic::Ordering::SeqCst),
        requests,
        "no token call"
    );
}

#[test]
fn callback_without_iss_from_a_provider_that_does_not_advertise_it_logs_in() {
    // The test provider is generic and its discovery does not advertise RFC 9207.
    let rig = rig("5s");
    let mut jar = Jar::default();
    let callback = rig.start_login("/private/", &mut jar);
    let without = callback.split("&iss=").next().unwrap().to_owned();
    let (back_to, cookies) = redirect(finish(rig.get(None, &without, &jar)));
    assert_eq!(back_to, "/private/");
    assert!(cookies.iter().any(|c| c.starts_with("__Host-sesame=")));
}

#[test]
fn callback_with_foreign_iss_is_rejected() {
    let rig = rig("5s");
    let mut jar = Jar::default();
    let callback = rig.start_login("/private/", &mut jar);
    let evil =
        callback.split("&iss=").next().unwrap().to_owned() + "&iss=https%3A%2F%2Fevil.example";
    let p = page(finish(rig.get(None, &evil, &jar)));
    assert_eq!(p.status, 400);
}

#[test]
fn access_denied_shows_cancel_page_with_retry_link() {
    let rig = rig("5s");
    let mut jar = Jar::default();
    let callback = rig.start_login("/private/doc?id=3", &mut jar);
    let state = query_param(&callback, "state").unwrap();
    let iss: String = form_urlencoded::byte_serialize(rig.op.issuer.as_bytes()).collect();
    let uri = format!(
        "/sesame/callback?error=access_denied&error_description=%3Cscript%3E&state={state}&iss={iss}"
    );
    let p = page(finish(rig.get(None, &uri, &jar)));
    assert_eq!(p.status, 403);
    assert!(p.body.contains("Connexion annulée"));
    assert!(p.body.contains("href=\"/private/doc?id=3\""));
    assert!(!p.body.contains("<script>"));
    assert!(p
        .set_cookies
        .iter()
        .any(|c| c.starts_with("__Host-sesame-login=")));
}

#[test]
fn store_down_gives_503_page() {
    let rig = rig("0");
    let mut jar = Jar::default();
    rig.login("/private/", &mut jar);
    rig.store.set_down(true);
    let p = page(finish(rig.get(Some(&rig.protect), "/private/", &jar)));
    assert_eq!(p.status, 503);
    assert!(p
        .headers
        .contains(&("Cache-Control".into(), "no-store".into())));
    rig.store.set_down(false);
    assert!(matches!(
        finish(rig.get(Some(&rig.protect), "/private/", &jar)),
        Outcome::Allow(_)
    ));
}

#[test]
fn provider_unreachable_gives_unavailable_page() {
    let rig = rig_with("5s", Some("http://127.0.0.1:1"));
    let p = page(finish(rig.get(
        Some(&rig.protect),
        "/private/",
        &Jar::default(),
    )));
    assert_eq!(p.status, 503);
    assert!(p.body.contains("indisponible"));
}

#[test]
fn session_of_another_provider_is_no_session() {
    let rig = rig("5s");
    let mut jar = Jar::default();
    rig.login("/private/", &mut jar);
    let other = rig
        .sesame
        .location(&LocationSpec {
            mode: LocationMode::Protect,
            provider: "other".into(),
            options: vec![],
        })
        .unwrap();
    let (location, _) = redirect(finish(rig.get(Some(&other), "/other-app/", &jar)));
    assert!(location.contains("/authorize?"));
}

#[test]
fn forged_session_cookie_starts_a_login() {
    let rig = rig("5s");
    let mut jar = Jar::default();
    rig.login("/private/", &mut jar);
    let cookie = jar.0.get_mut("__Host-sesame").unwrap();
    let (id, tag) = cookie.split_once('.').unwrap();
    let flipped = if id.ends_with('A') { 'Q' } else { 'A' };
    *cookie = format!("{}{flipped}.{tag}", &id[..id.len() - 1]);
    let (location, _) = redirect(finish(rig.get(Some(&rig.protect), "/private/", &jar)));
    assert!(location.contains("/authorize?"));
}

#[test]
fn return_to_outside_the_site_becomes_root() {
    let rig = rig("5s");
    for evil in ["//evil.example/x", "/%2F%2Fevil.example", "/\\evil.example"] {
        let mut jar = Jar::default();
        assert_eq!(rig.login(evil, &mut jar), "/", "{evil}");
    }
}

#[test]
fn logout_ends_session_and_goes_through_end_session() {
    let rig = rig("5s");
    let mut jar = Jar::default();
    rig.login("/private/", &mut jar);
    let (location, cookies) = redirect(finish(rig.get(Some(&rig.logout), "/logout", &jar)));
    assert!(
        location.starts_with(&format!("{}/session/end?", rig.op.issuer)),
        "{location}"
    );
    assert!(query_param(&location, "id_token_hint").is_some());
    assert_eq!(
        query_param(&location, "post_logout_redirect_uri").as_deref(),
        Some("https://app.example/sesame/logged-out")
    );
    let state = query_param(&location, "state").unwrap();
    assert!(cookies
        .iter()
        .any(|c| c.starts_with("__Host-sesame=;") && c.contains("Max-Age=0")));
    assert!(cookies
        .iter()
        .any(|c| c.starts_with("__Host-sesame-logout=")));
    jar.apply(&cookies);
    // The session is gone, in this process's cache too.
    let (again, _) = redirect(finish(rig.get(Some(&rig.protect), "/private/", &jar)));
    assert!(again.contains("/authorize?"));
    assert!(rig.store.keys().iter().all(|k| !k.contains(":s:")));
    // Wrong state on return: refused, logout cookie cleared.
    let flipped = if state.starts_with('0') { '1' } else { '0' };
    let bad = format!("/sesame/logged-out?state={flipped}{}", &state[1..]);
    let p = page(finish(rig.get(None, &bad, &jar)));
    assert_eq!(p.status, 400);
    // Right state: back to the configured landing page.
    let (landing, cookies) = redirect(finish(rig.get(
        None,
        &format!("/sesame/logged-out?state={state}"),
        &jar,
    )));
    assert_eq!(landing, "/bye");
    assert!(cookies
        .iter()
        .any(|c| c.starts_with("__Host-sesame-logout=;")));
}

#[test]
fn logout_return_without_logout_cookie_is_the_apps_own_page() {
    let rig = rig("5s");
    let step = rig.get(None, "/sesame/logged-out?state=abc", &Jar::default());
    assert!(matches!(finish(step), Outcome::Decline));
    let step = rig.get(None, "/sesame/logged-out", &Jar::default());
    assert!(matches!(finish(step), Outcome::Decline));
}

#[test]
fn logout_without_session_lands_on_logout_redirect() {
    let rig = rig("5s");
    let step = rig.get(Some(&rig.logout), "/logout", &Jar::default());
    assert!(is_done(&step));
    let (location, _) = redirect(finish(step));
    assert_eq!(location, "/bye");
}

#[test]
fn local_logout_does_not_visit_the_provider() {
    let rig = rig("5s");
    let mut jar = Jar::default();
    rig.login("/private/", &mut jar);
    let local = rig
        .sesame
        .location(&LocationSpec {
            mode: LocationMode::LogoutLocal,
            provider: "op".into(),
            options: vec![],
        })
        .unwrap();
    let (location, _) = redirect(finish(rig.get(Some(&local), "/logout", &jar)));
    assert_eq!(location, "/bye");
}

#[test]
fn unprotected_location_declines() {
    let rig = rig("5s");
    assert!(matches!(
        finish(rig.get(None, "/public/", &Jar::default())),
        Outcome::Decline
    ));
}

#[test]
fn location_with_unknown_provider_is_a_config_error() {
    let rig = rig("5s");
    let err = rig
        .sesame
        .location(&LocationSpec {
            mode: LocationMode::Protect,
            provider: "nope".into(),
            options: vec![],
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "sesame nope: no sesame_provider named \"nope\" (declared: op, other)"
    );
}

#[test]
fn spoofable_headers_are_reported() {
    let rig = rig("5s");
    assert!(rig.sesame.is_spoofable_header("X-Sesame-Claim-Email"));
    assert!(!rig.sesame.is_spoofable_header("Accept"));
}

#[test]
fn provider_down_during_callback_gives_a_page_and_no_session() {
    let rig = rig("5s");
    let mut jar = Jar::default();
    let callback = rig.start_login("/private/", &mut jar);
    rig.op.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let p = page(finish(rig.get(None, &callback, &jar)));
    assert!(p.status >= 500, "status {}", p.status);
    assert!(p.body.contains("Réessayer"));
    assert!(p
        .set_cookies
        .iter()
        .all(|c| !c.starts_with("__Host-sesame=")));
    assert!(rig.store.keys().iter().all(|k| !k.contains(":s:")));
}

#[test]
fn page_reference_appears_in_an_actionable_log_line() {
    let _guard = crate::log::TEST_SINK_LOCK.lock();
    let lines: Arc<parking_lot::Mutex<Vec<String>>> = Arc::default();
    let sink_lines = Arc::clone(&lines);
    crate::log::set_sink(Box::new(move |_, msg| {
        sink_lines.lock().push(msg.to_owned())
    }));
    let rig = rig("5s");
    let iss: String = form_urlencoded::byte_serialize(rig.op.issuer.as_bytes()).collect();
    let p = page(finish(rig.get(
        None,
        &format!("/sesame/callback?code=c&state=forged&iss={iss}"),
        &Jar::default(),
    )));
    crate::log::reset_sink();
    let reference = p
        .body
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap();
    let lines = lines.lock();
    let line = lines
        .iter()
        .find(|l| l.contains(&format!("[ref {reference},")))
        .expect("a log line carries the page's reference");
    assert!(line.contains("provider \"op\""), "{line}");
    assert!(line.contains(
        "state does not match a login started in this browser (replayed, tampered or expired)"
    ));
    assert!(line.contains("192.0.2.7"));
    assert!(!line.contains("code=c"), "no codes in logs");
}

/// Location policy (`sesame_acr`, `sesame_require`, `sesame_prompt`) inside the process.
mod location_policy {
    use super::*;

    #[test]
    fn insufficient_level_steps_up_without_io_and_a_lower_answer_is_refused() {
        let rig = rig("5s");
        let mut jar = Jar::default();
        rig.login("/private/", &mut jar);
        let strong = location_with(&rig, &[("acr", "eidas2")]);
        // Metadata is cached since the first login: the step-up redirect needs no job.
        let step = rig.get(Some(&strong), "/strong/page?x=1", &jar);
        assert!(
            is_done(&step),
            "a cached session stepping up must not block"
        );
        let (url, cookies) = redirect(finish(step));
        assert_eq!(query_param(&url, "acr_values").as_deref(), Some("eidas2"));
        jar.apply(&cookies);
        let state = query_param(&url, "state").unwrap();
        let nonce = query_param(&url, "nonce").unwrap();
        let iss: String = form_urlencoded::byte_serialize(rig.op.issuer.as_bytes()).collect();
        let callback = format!("/sesame/callback?code={nonce}&state={state}&iss={iss}");
        // The test provider only ever answers eidas1: refused, the session kept as it was.
        let refused = page(finish(rig.get(None, &callback, &jar)));
        assert_eq!(refused.status, 403);
        assert!(refused.body.contains("Niveau de sécurité insuffisant"));
        match finish(rig.get(Some(&rig.protect), "/private/", &jar)) {
            Outcome::Allow(id) => assert_eq!(id.acr(), "eidas1"),
            other => panic!("the old session must still open its pages: {other:?}"),
        }
    }

    #[test]
    fn step_up_needed_by_a_script_answers_401_json_and_starts_no_login() {
        for cache in ["5s", "0"] {
            let rig = rig(cache);
            let mut jar = Jar::default();
            rig.login("/private/", &mut jar);
            let strong = location_with(&rig, &[("acr", "eidas2")]);
            let cookie = jar.header();
            let xhr = Request {
                sec_fetch_mode: "cors",
                ..request("GET", "/strong/data?x=1", &cookie)
            };
            let p = page(finish(rig.sesame.begin(Some(&strong), &xhr)));
            assert_401_json(&p, "step_up_required", Some("/strong/data?x=1"));
        }
    }

    #[test]
    fn required_claim_values_allow_or_refuse_with_a_403_page() {
        let rig = rig("5s");
        let mut jar = Jar::default();
        rig.login("/private/", &mut jar);
        let domain = location_with(&rig, &[("require", "email @example.fr")]);
        assert!(matches!(
            finish(rig.get(Some(&domain), "/a/", &jar)),
            Outcome::Allow(_)
        ));
        let other = location_with(
            &rig,
            &[("require", "email @example.fr"), ("require", "siret 1")],
        );
        let refused = page(finish(rig.get(Some(&other), "/b/", &jar)));
        assert_eq!(refused.status, 403);
        assert!(refused.body.contains("Accès refusé"));
    }

    #[test]
    fn silent_login_falls_back_once_to_an_interactive_login() {
        let rig = rig("5s");
        let mut jar = Jar::default();
        let silent = location_with(&rig, &[("prompt", "none")]);
        let (url, cookies) = redirect(finish(rig.get(Some(&silent), "/quiet/", &jar)));
        assert_eq!(query_param(&url, "prompt").as_deref(), Some("none"));
        jar.apply(&cookies);
        let state = query_param(&url, "state").unwrap();
        let iss: String = form_urlencoded::byte_serialize(rig.op.issuer.as_bytes()).collect();
        let back = format!("/sesame/callback?error=login_required&state={state}&iss={iss}");
        let (again, cookies) = redirect(finish(rig.get(None, &back, &jar)));
        assert!(again.starts_with(&format!("{}/authorize?", rig.op.issuer)));
        assert_eq!(query_param(&again, "prompt"), None, "no second prompt=none");
        jar.apply(&cookies);
        // The same error for the fallback attempt is a page, not another redirect.
        let state2 = query_param(&again, "state").unwrap();
        let back2 = format!("/sesame/callback?error=login_required&state={state2}&iss={iss}");
        assert!(matches!(
            finish(rig.get(None, &back2, &jar)),
            Outcome::Page(_)
        ));
    }

    /// The identity a first location of the request allowed, with the cache off: whatever
    /// `recheck` decides comes from the identity in hand, never from another session read.
    fn allowed_identity(rig: &Rig, jar: &Jar) -> Identity {
        match finish(rig.get(Some(&rig.protect), "/nope", jar)) {
            Outcome::Allow(id) => id,
            other => panic!("expected Allow, got {other:?}"),
        }
    }

    #[test]
    fn internal_redirect_to_a_stricter_location_applies_its_level_and_claims() {
        let rig = rig("0");
        let mut jar = Jar::default();
        rig.login("/private/", &mut jar);
        let id = allowed_identity(&rig, &jar);
        let cookie = jar.header();
        let req = request("GET", "/nope", &cookie);

        let strong = location_with(&rig, &[("acr", "eidas2")]);
        let step = rig.sesame.recheck(&strong, &id, &req);
        assert!(is_done(&step), "the identity is in hand: no job");
        let (url, _) = redirect(finish(step));
        assert!(url.starts_with(&format!("{}/authorize?", rig.op.issuer)));
        assert_eq!(query_param(&url, "acr_values").as_deref(), Some("eidas2"));

        let siret = location_with(&rig, &[("require", "siret 21750001600019")]);
        let step = rig.sesame.recheck(&siret, &id, &req);
        assert!(is_done(&step));
        assert_eq!(page(finish(step)).status, 403);

        let post = request("POST", "/nope", &cookie);
        let step = rig.sesame.recheck(&strong, &id, &post);
        assert_eq!(page(finish(step)).status, 401, "no redirect for a POST");
    }

    #[test]
    fn internal_redirect_to_an_equally_protected_location_is_allowed_without_io() {
        let rig = rig("0");
        let mut jar = Jar::default();
        rig.login("/private/", &mut jar);
        let id = allowed_identity(&rig, &jar);
        let cookie = jar.header();
        let req = request("GET", "/nope", &cookie);
        let same = location_with(&rig, &[("require", "email @example.fr")]);
        for loc in [&rig.protect, &same] {
            let step = rig.sesame.recheck(loc, &id, &req);
            assert!(is_done(&step), "cache off, yet no session read");
            match finish(step) {
                Outcome::Allow(again) => assert_eq!(again.user_key(), id.user_key()),
                other => panic!("expected Allow, got {other:?}"),
            }
        }
    }

    #[test]
    fn internal_redirect_to_another_providers_location_takes_its_normal_path() {
        let rig = rig("5s");
        let mut jar = Jar::default();
        rig.login("/private/", &mut jar);
        let id = allowed_identity(&rig, &jar);
        let other = rig
            .sesame
            .location(&LocationSpec {
                mode: LocationMode::Protect,
                provider: "other".into(),
                options: vec![],
            })
            .unwrap();
        let cookie = jar.header();
        let (url, _) = redirect(finish(rig.sesame.recheck(
            &other,
            &id,
            &request("GET", "/nope", &cookie),
        )));
        assert!(
            url.contains("redirect_uri=https%3A%2F%2Fapp.example%2Fother%2Fcallback"),
            "{url}"
        );
    }

    #[test]
    fn options_are_refused_on_logout_locations() {
        let rig = rig("5s");
        let err = rig
            .sesame
            .location(&LocationSpec {
                mode: LocationMode::Logout,
                provider: "op".into(),
                options: vec![("acr".into(), "eidas1".into())],
            })
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("only applies to a protected location"));
    }
}

mod sessions;

/// Provider outages and forged callbacks: answered in `begin`, bounded work.
mod jwks;
mod outages;

/// The login page's button: `POST URL?...&sesame_login=TOKEN` starts the login of URL, and
/// nothing else does.
mod login_page_post {
    use super::*;

    fn post<'a>(uri: &'a str, site: &'a str) -> Request<'a> {
        Request {
            sec_fetch_site: site,
            ..request("POST", uri, "")
        }
    }

    #[test]
    fn the_buttons_post_with_the_pages_token_starts_the_login_of_that_url() {
        let rig = rig("5s");
        let token =
            super::super::login_page::token(rig.sesame.inner.keys(), "op", "/private/a?x=1");
        let uri = format!("/private/a?x=1&sesame_login={token}");
        let step = rig
            .sesame
            .begin(Some(&rig.protect), &post(&uri, "same-origin"));
        let (location, cookies) = redirect(finish(step));
        assert!(
            location.starts_with(&format!("{}/authorize?", rig.op.issuer)),
            "{location}"
        );
        assert!(cookies[0].starts_with("__Host-sesame-login="));
        // It comes back to the URL without the token.
        let mut jar = Jar::default();
        jar.apply(&cookies);
        let state = query_param(&location, "state").unwrap();
        let nonce = query_param(&location, "nonce").unwrap();
        let iss: String = form_urlencoded::byte_serialize(rig.op.issuer.as_bytes()).collect();
        let callback = format!("/sesame/callback?code={nonce}&state={state}&iss={iss}");
        let (back, _) = redirect(finish(rig.get(None, &callback, &jar)));
        assert_eq!(back, "/private/a?x=1");
    }

    #[test]
    fn other_posts_start_nothing() {
        let rig = rig("5s");
        let keys = rig.sesame.inner.keys();
        let for_a = super::super::login_page::token(keys, "op", "/private/a");
        let other_provider = super::super::login_page::token(keys, "other", "/private/b");
        for (uri, site) in [
            // Another URL's token, another provider's, a forged one, the token not last.
            (format!("/private/b?sesame_login={for_a}"), "same-origin"),
            (
                format!("/private/b?sesame_login={other_provider}"),
                "same-origin",
            ),
            (
                "/private/a?sesame_login=AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
                "same-origin",
            ),
            (
                format!("/private/a?sesame_login={for_a}&x=1"),
                "same-origin",
            ),
            // The right token, from another site.
            (format!("/private/a?sesame_login={for_a}"), "cross-site"),
        ] {
            let p = page(finish(
                rig.sesame.begin(Some(&rig.protect), &post(&uri, site)),
            ));
            assert_eq!(p.status, 401, "{uri} {site}");
            assert!(p.set_cookies.is_empty(), "{uri} {site}");
        }
        assert_eq!(rig.op.requests.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
}
/// The access token handed to backends, and revoked at logout.
mod tokens;
