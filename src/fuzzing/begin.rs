//! The request path's first step on arbitrary requests: the callback query parser, then the
//! whole no-I/O `begin` against a realistic configuration (a FranceConnect and a ProConnect
//! provider, protected and logout locations), with the browser's cookies either arbitrary or
//! genuine (a sealed login state the fuzzer can point its callback at).

use std::sync::OnceLock;

use crate::directives::{LocationMode, LocationSpec};
use crate::engine::{Location, Outcome, Request, Sesame, Step};
use crate::oidc::OidcClient;
use crate::pages::Page;
use crate::session::{Keys, LoginState, PendingLogin, SessionId};

/// The callback query parser: every parameter it keeps appeared in the query, decoded; a
/// parameter listed as duplicated did appear twice; the first value is the one kept.
pub fn callback_query(data: &[u8]) {
    let query = String::from_utf8_lossy(data);
    let cb = OidcClient::parse_callback(&query);
    let raw = query.strip_prefix('?').unwrap_or(&query);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for (name, kept) in [
        ("code", &cb.code),
        ("state", &cb.state),
        ("iss", &cb.iss),
        ("error", &cb.error),
        ("error_description", &cb.error_description),
    ] {
        let mut seen = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        assert_eq!(
            kept.as_ref(),
            seen.next(),
            "{name}: the first value is kept"
        );
        assert_eq!(
            seen.next().is_some(),
            cb.duplicated.iter().any(|d| d == name),
            "{name}: duplicated exactly when it appears twice"
        );
    }
}

struct Rig {
    sesame: Sesame,
    keys: Keys,
    locations: Vec<Location>,
}

const PENDING_STATE: &str = "0123456789abcdef0123456789abcdef";

fn rig() -> &'static Rig {
    static RIG: OnceLock<Rig> = OnceLock::new();
    RIG.get_or_init(|| {
        // Log lines are one line each, whatever the request held; then discarded.
        crate::log::set_sink(Box::new(|_, line| {
            assert!(
                !line.contains(['\r', '\n']),
                "a log line was split: {line:?}"
            );
        }));
        let dir = std::env::temp_dir().join(format!("sesame-fuzz-{}", std::process::id()));
        let secret_file = dir.join("secret");
        let client_secret = dir.join("client_secret");
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&secret_file, "a fuzzing secret of at least 32 bytes"))
            .and_then(|()| std::fs::write(&client_secret, "client-secret-for-fuzzing"));
        assert!(written.is_ok(), "cannot write the fuzzing rig's files");
        let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
        let mut b = crate::ConfigBuilder::new();
        let globals = [
            ("redis", "redis://127.0.0.1:1/0".to_owned()),
            ("secret_file", path(&secret_file)),
            ("session_cache", "30s".to_owned()),
        ];
        let mut steps: Vec<Result<(), crate::ConfigError>> =
            globals.iter().map(|(k, v)| b.set_global(k, v)).collect();
        for (name, preset, base) in [
            ("fc", "franceconnect-integration", "/sesame"),
            ("pc", "proconnect-integration", "/sesame/pc"),
        ] {
            steps.push(b.add_provider(name));
            for (k, v) in [
                ("preset", preset.to_owned()),
                ("client_id", format!("{name}-client")),
                ("client_secret_file", path(&client_secret)),
                (
                    "redirect_uri",
                    format!("https://app.example{base}/callback"),
                ),
                (
                    "post_logout_redirect_uri",
                    format!("https://app.example{base}/logged-out"),
                ),
                ("logout_redirect", "/bye".to_owned()),
            ] {
                steps.push(b.set_provider(name, k, &v));
            }
        }
        assert!(steps.iter().all(Result::is_ok), "fuzzing rig: {steps:?}");
        let sesame = match b.build() {
            Ok(s) => s,
            Err(e) => panic!("fuzzing rig: {}", e.render(crate::Syntax::Nginx)),
        };
        let spec = |mode, provider: &str, options: &[(&str, &str)]| LocationSpec {
            mode,
            provider: provider.to_owned(),
            options: options
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        let specs = [
            spec(LocationMode::Protect, "fc", &[]),
            spec(
                LocationMode::Protect,
                "fc",
                &[("acr", "eidas1"), ("unauth_action", "pass")],
            ),
            spec(
                LocationMode::Protect,
                "pc",
                &[("require", "email @example.gouv.fr")],
            ),
            spec(
                LocationMode::Protect,
                "pc",
                &[("prompt", "none"), ("unauth_action", "401")],
            ),
            spec(LocationMode::Logout, "fc", &[]),
            spec(LocationMode::LogoutLocal, "pc", &[]),
        ];
        let locations = specs
            .iter()
            .map(|s| match sesame.location(s) {
                Ok(l) => l,
                Err(e) => panic!("fuzzing rig: {}", e.render(crate::Syntax::Nginx)),
            })
            .collect();
        Rig {
            sesame,
            keys: Keys::derive(b"a fuzzing secret of at least 32 bytes"),
            locations,
        }
    })
}

/// A genuine login cookie of this rig: one pending FranceConnect login with [`PENDING_STATE`].
fn login_cookie(keys: &Keys) -> String {
    let mut state = LoginState::default();
    state.push(PendingLogin {
        provider: "fc".into(),
        state: PENDING_STATE.into(),
        nonce: "fedcba9876543210fedcba9876543210".into(),
        return_to: "/demarches/".into(),
        created: crate::session::now_unix(),
        ..PendingLogin::default()
    });
    state.seal(keys)
}

/// `begin` on a request made of the fields (location, method, scheme, host, URI, cookie,
/// Sec-Fetch-Site, Sec-Fetch-Mode, Accept, Origin, Referer). In the cookie, `{login}` stands
/// for a genuine login cookie and `{session}` for a genuine session cookie value.
pub fn begin_request(data: &[u8]) {
    let rig = rig();
    let f = super::fields(data, 11);
    let location = f[0].bytes().next().and_then(|b| {
        rig.locations
            .get(usize::from(b) % (rig.locations.len() + 1))
    });
    let mut cookie = f[5].clone();
    if cookie.contains("{login}") {
        cookie = cookie.replace("{login}", &login_cookie(&rig.keys));
    }
    if cookie.contains("{session}") {
        cookie = cookie.replace("{session}", &SessionId::random().to_cookie(&rig.keys));
    }
    let req = Request {
        method: &f[1],
        scheme: &f[2],
        host: &f[3],
        uri: &f[4],
        cookie: &cookie,
        client_addr: "192.0.2.7",
        sec_fetch_site: &f[6],
        sec_fetch_mode: &f[7],
        accept: &f[8],
        origin: &f[9],
        referer: &f[10],
        ..Request::default()
    };
    match rig.sesame.begin(location, &req) {
        // Never run: a job does the I/O (Redis, the provider), which no fuzz target does.
        Step::Job(_) => {}
        Step::Done(outcome) => check_outcome(&outcome),
    }
}

/// What an adapter writes into a response: headers that stay one header each, redirects that
/// go to this site or to a provider over https.
fn check_outcome(outcome: &Outcome) {
    match outcome {
        Outcome::Decline | Outcome::Allow(_) => {}
        Outcome::Redirect {
            location,
            set_cookies,
        } => {
            assert!(!super::breaks_a_header(location), "Location: {location:?}");
            assert!(
                crate::directives::local_path::is_safe_local_path(location)
                    || location.starts_with("https://"),
                "redirect out of the site: {location:?}"
            );
            check_cookies(set_cookies);
        }
        Outcome::Page(Page {
            status,
            content_type,
            set_cookies,
            headers,
            ..
        }) => {
            assert!((200..600).contains(status), "status {status}");
            assert!(!super::breaks_a_header(content_type));
            check_cookies(set_cookies);
            for (name, value) in headers {
                assert!(!super::breaks_a_header(name) && !super::breaks_a_header(value));
            }
        }
    }
}

fn check_cookies(set_cookies: &[String]) {
    for c in set_cookies {
        assert!(!super::breaks_a_header(c), "Set-Cookie: {c:?}");
        assert!(c.contains("HttpOnly"), "Set-Cookie without HttpOnly: {c:?}");
    }
}
