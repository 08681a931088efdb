//! `make cost` (bench/cost.py): Sesame's own CPU per login and per request on a session-cache
//! hit, with the core driven exactly as the nginx module drives it (`Sesame::begin`, `Job::run`,
//! the identity's variables); the Apache module's C ABI path is `bench/cost_c_abi.c`.
//!
//! Usage: `bench_cost PLAN_JSON` (written by bench/cost.py). Logins go through the real
//! provider emulator over HTTPS and a real Redis: this program is the web server's module, the
//! driver (bench/cost.py) is the browser. For each login it prints `AUTHORIZE <url>` on stdout
//! and reads `CALLBACK <url>` back on stdin (the browser's trip to the provider). At the end it
//! prints one `RESULT <json>` line: counts, the native CPU time of each step (process CPU
//! time, so that the provider's own time is never counted: it is another process), and the
//! last session's cookie (for the C ABI harness).
//!
//! Each measured step is a function of its own (`cost_*`, never inlined), so that callgrind's
//! inclusive cost of that function is the step's instruction count (bench/cost.py reads them).

use std::borrow::Cow;
use std::hint::black_box;
use std::io::{BufRead, Write};
use std::process::ExitCode;

use serde_json::{json, Value};
use sesame::{
    ConfigBuilder, Fixed, Handed, Identity, Job, Location, LocationMode, LocationSpec, Outcome,
    Request, Sesame, Step, UNIFORM_CLAIMS,
};

// The nginx module's own lookup of `$sesame_claim_<suffix>` and `$sesame_oidc_claim_<suffix>`
// (pure Rust over the core's public API), compiled in as it is.
#[path = "../nginx/src/claim_name.rs"]
#[allow(dead_code)]
mod claim_name;
// The nginx module's choice of the request headers the core reads.
#[path = "../nginx/src/fetch_headers.rs"]
mod fetch_headers;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [plan] = args.as_slice() else {
        eprintln!("usage: bench_cost PLAN_JSON");
        return ExitCode::from(2);
    };
    match run(plan) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench_cost: {message}");
            ExitCode::from(1)
        }
    }
}

/// What bench/cost.py asks for.
struct Plan {
    host: String,
    protected_uri: String,
    logins: usize,
    hits: usize,
    /// Native timing: rounds of `native_hits` requests each; the fastest round is reported.
    native_rounds: usize,
    native_hits: usize,
    /// nginx include files whose variables a request reads (`fastcgi_param NAME $var`).
    fastcgi_params: String,
    fastcgi_params_oidc: String,
}

fn pairs(v: &Value, what: &str) -> Result<Vec<(String, String)>, String> {
    v.as_array()
        .ok_or(format!("{what}: a list of [key, value]"))?
        .iter()
        .map(|p| match p.as_array().map(Vec::as_slice) {
            Some([k, v]) => Ok((
                k.as_str().unwrap_or_default().to_owned(),
                v.as_str().unwrap_or_default().to_owned(),
            )),
            _ => Err(format!("{what}: {p} is not [key, value]")),
        })
        .collect()
}

fn run(plan_path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(plan_path).map_err(|e| format!("{plan_path}: {e}"))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{plan_path}: {e}"))?;
    let num = |k: &str| {
        v[k].as_u64()
            .map(|n| n as usize)
            .ok_or(format!("plan: {k}"))
    };
    let string = |k: &str| v[k].as_str().map(str::to_owned).ok_or(format!("plan: {k}"));
    let plan = Plan {
        host: string("host")?,
        protected_uri: string("protected_uri")?,
        logins: num("logins")?,
        hits: num("hits")?,
        native_rounds: num("native_rounds")?,
        native_hits: num("native_hits")?,
        fastcgi_params: string("fastcgi_params")?,
        fastcgi_params_oidc: string("fastcgi_params_oidc")?,
    };
    let mut b = ConfigBuilder::new();
    for (k, val) in pairs(&v["globals"], "globals")? {
        b.set_global(&k, &val).map_err(|e| format!("{k}: {e}"))?;
    }
    b.add_provider("fc").map_err(|e| e.to_string())?;
    for (k, val) in pairs(&v["provider"], "provider")? {
        b.set_provider("fc", &k, &val)
            .map_err(|e| format!("{k}: {e}"))?;
    }
    let sesame = b.build().map_err(|e| e.to_string())?;
    let location = sesame
        .location(&LocationSpec {
            mode: LocationMode::Protect,
            provider: "fc".into(),
            options: vec![],
        })
        .map_err(|e| e.to_string())?;
    let vars = Variables::parse(&plan.fastcgi_params)?;
    let vars_oidc = Variables::parse(&plan.fastcgi_params_oidc)?;

    let mut input = std::io::stdin().lock();
    let mut clock = Clock::default();
    // The first login also fetches the provider's metadata and keys (a job of its own) and
    // opens the connections: counted apart.
    let first = login(&sesame, &location, &plan, &mut input, &mut clock, true)?;
    let first_cpu = clock.take();
    let cookie =
        measured_logins(&sesame, &location, &plan, &mut input, &mut clock)?.unwrap_or(first);
    let login_cpu = clock.take();

    let browser = Browser::new(&plan, &cookie);
    // Sanity first: every variant must be a cache hit that allows the request.
    for check in [cost_hit_begin, cost_hit_nginx] {
        if check(&sesame, &location, &browser, 1) != 1 {
            return Err("a request with the fresh session was not allowed from the cache".into());
        }
    }
    let allowed = measured_hits(&sesame, &location, &browser, [&vars, &vars_oidc], plan.hits);
    if allowed != 4 * plan.hits {
        return Err(format!(
            "{} of {} requests were not allowed from the cache (session cache expired?)",
            4 * plan.hits - allowed,
            4 * plan.hits
        ));
    }

    let native = |f: &dyn Fn(usize) -> usize| -> f64 {
        let mut best = f64::MAX;
        for _ in 0..plan.native_rounds {
            let start = cpu_now();
            black_box(f(plan.native_hits));
            best = best.min((cpu_now() - start) / plan.native_hits as f64);
        }
        best * 1e9
    };
    let ns = json!({
        "hit_begin": native(&|n| cost_hit_begin(&sesame, &location, &browser, n)),
        "hit_nginx": native(&|n| cost_hit_nginx(&sesame, &location, &browser, n)),
        "hit_nginx_vars": native(&|n| cost_hit_nginx_vars(&sesame, &location, &browser, &vars, n)),
        "hit_nginx_oidc": native(&|n| cost_hit_nginx_oidc(&sesame, &location, &browser, &vars_oidc, n)),
    });
    let per_login = |c: &Clock, n: usize| {
        json!({
            "start": c.start * 1e9 / n as f64,
            "callback_begin": c.callback_begin * 1e9 / n as f64,
            "callback_job": c.callback_job * 1e9 / n as f64,
            "first_page": c.first_page * 1e9 / n as f64,
        })
    };
    let result = json!({
        "logins": plan.logins,
        "hits": plan.hits,
        "variables": vars.readers.len(),
        "variables_oidc": vars_oidc.readers.len(),
        "native_ns": ns,
        "native_first_login_ns": per_login(&first_cpu, 1),
        "native_login_ns": per_login(&login_cpu, plan.logins.max(1)),
        "cookie": cookie,
    });
    println!("RESULT {result}");
    Ok(())
}

/// The logins callgrind counts (`--toggle-collect=*measured_*`): the first one, which also
/// fetches the provider's metadata and keys, is left out. The last session's cookie.
#[inline(never)]
fn measured_logins(
    sesame: &Sesame,
    loc: &Location,
    plan: &Plan,
    input: &mut impl BufRead,
    clock: &mut Clock,
) -> Result<Option<String>, String> {
    let mut cookie = None;
    for _ in 0..plan.logins {
        cookie = Some(login(sesame, loc, plan, input, clock, false)?);
    }
    Ok(cookie)
}

/// The cache hits callgrind counts: `hits` of each variant; how many were allowed.
#[inline(never)]
fn measured_hits(
    sesame: &Sesame,
    loc: &Location,
    b: &Browser,
    [vars, vars_oidc]: [&Variables; 2],
    hits: usize,
) -> usize {
    cost_hit_begin(sesame, loc, b, hits)
        + cost_hit_nginx(sesame, loc, b, hits)
        + cost_hit_nginx_vars(sesame, loc, b, vars, hits)
        + cost_hit_nginx_oidc(sesame, loc, b, vars_oidc, hits)
}

/// Process CPU time in seconds (every thread; waiting for the provider or Redis is not CPU).
fn cpu_now() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the valid, writable `ts`.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// CPU seconds spent in each step of the logins since the last `take`.
#[derive(Default, Clone, Copy)]
struct Clock {
    start: f64,
    callback_begin: f64,
    callback_job: f64,
    first_page: f64,
}

impl Clock {
    fn take(&mut self) -> Clock {
        std::mem::take(self)
    }
}

fn timed<T>(slot: &mut f64, f: impl FnOnce() -> T) -> T {
    let start = cpu_now();
    let out = f();
    *slot += cpu_now() - start;
    out
}

/// The request headers a browser sends, in its order, and what the adapter reads of them.
struct Browser {
    method: String,
    uri: String,
    client_addr: String,
    headers: Vec<(String, String)>,
}

impl Browser {
    /// Chromium's navigation to a page of this site, with a few cookies of the application's
    /// own beside Sesame's (`cookie` empty: none of Sesame's).
    fn navigation(plan: &Plan, uri: &str, cookies: &str) -> Browser {
        let origin = format!("https://{}", plan.host);
        let mut headers: Vec<(String, String)> = [
            ("Host", plan.host.as_str()),
            ("Connection", "keep-alive"),
            ("sec-ch-ua", "\"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\""),
            ("sec-ch-ua-mobile", "?0"),
            ("sec-ch-ua-platform", "\"Linux\""),
            ("Upgrade-Insecure-Requests", "1"),
            ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
            ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"),
            ("Sec-Fetch-Site", "same-origin"),
            ("Sec-Fetch-Mode", "navigate"),
            ("Sec-Fetch-User", "?1"),
            ("Sec-Fetch-Dest", "document"),
            ("Referer", &format!("{origin}/")),
            ("Accept-Encoding", "gzip, deflate, br, zstd"),
            ("Accept-Language", "fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        if !cookies.is_empty() {
            headers.push(("Cookie".into(), cookies.to_owned()));
        }
        Browser {
            method: "GET".into(),
            uri: uri.to_owned(),
            client_addr: "203.0.113.7".into(),
            headers,
        }
    }

    fn new(plan: &Plan, session_cookie: &str) -> Browser {
        let cookies = format!(
            "_pk_id.1.1fff=2d5a1b6c7e8f9a0b.1733000000.; PHPSESSID=q0v8n5u2k7h1e4c9b3a6d0f2g5; \
             __Host-sesame={session_cookie}"
        );
        Browser::navigation(plan, &format!("{}page.php", plan.protected_uri), &cookies)
    }
}

/// What the nginx module's access handler does around `Sesame::begin` (nginx/src/access.rs and
/// headers.rs): Sesame's cookies out of what the backend sees, spoofable headers out, one pass
/// over the headers for the fields the core reads, borrowed.
#[inline(always)]
fn nginx_view<'a>(sesame: &Sesame, b: &'a Browser) -> (Request<'a>, Cow<'a, str>, bool) {
    let mut cookie: Option<Cow<'a, str>> = None;
    let mut stripped = false;
    let mut spoofed = false;
    let mut fetch: [&'a str; 9] = [""; 9];
    let mut seen = [false; 9];
    let mut host = "";
    for (k, v) in &b.headers {
        spoofed |= sesame.is_spoofable_header(k);
        if k.eq_ignore_ascii_case("cookie") {
            // strip_own_cookies: one scan, then the rewritten value written straight into the
            // request pool (here a buffer of nginx's large header buffer size).
            if sesame.has_own_cookies(v.as_bytes()) {
                let mut pool = [0u8; 8192];
                if let Some(out) = pool.get_mut(..v.len()) {
                    stripped = sesame
                        .write_without_own_cookies(v.as_bytes(), out)
                        .is_some();
                    black_box(&pool);
                }
            }
            cookie = Some(match cookie {
                None => Cow::Borrowed(v.as_str()),
                Some(prev) => Cow::Owned(format!("{prev}; {v}")),
            });
        }
        if k.eq_ignore_ascii_case("host") {
            host = v;
        }
        if let Some(i) = fetch_headers::fetch_header_index(k.as_bytes()) {
            if !seen[i] {
                seen[i] = true;
                fetch[i] = v;
            }
        }
    }
    let cookie = cookie.unwrap_or(Cow::Borrowed(""));
    let request = Request {
        method: &b.method,
        scheme: "https",
        host,
        uri: &b.uri,
        cookie: "",
        client_addr: &b.client_addr,
        accept: fetch[0],
        x_requested_with: fetch[1],
        sec_fetch_mode: fetch[2],
        sec_fetch_site: fetch[3],
        sec_fetch_dest: fetch[4],
        origin: fetch[5],
        referer: fetch[6],
        accept_language: fetch[7],
        if_none_match: fetch[8],
    };
    (request, cookie, stripped && !spoofed)
}

fn allowed(step: Step) -> Option<Identity> {
    match step {
        Step::Done(Outcome::Allow(id)) => Some(id),
        _ => None,
    }
}

/// `Sesame::begin` alone on a cache hit (the cookie's MAC, the cache lookup, the verdict), the
/// request view already built.
#[inline(never)]
fn cost_hit_begin(sesame: &Sesame, loc: &Location, b: &Browser, n: usize) -> usize {
    let (view, cookie, _) = nginx_view(sesame, b);
    let request = Request {
        cookie: &cookie,
        ..view
    };
    (0..n)
        .filter(|_| allowed(sesame.begin(Some(loc), black_box(&request))).is_some())
        .count()
}

/// One request as the nginx module's access handler serves it from the cache: the view, the
/// header scrubbing, `begin`, the identity kept for the request and dropped at its end.
#[inline(never)]
fn cost_hit_nginx(sesame: &Sesame, loc: &Location, b: &Browser, n: usize) -> usize {
    (0..n)
        .filter(|_| {
            let (view, cookie, _) = nginx_view(sesame, black_box(b));
            let request = Request {
                cookie: &cookie,
                ..view
            };
            allowed(sesame.begin(Some(loc), &request)).is_some()
        })
        .count()
}

/// As [`cost_hit_nginx`], then every variable of an include file read once (the FastCGI
/// parameters nginx evaluates for the backend).
#[inline(never)]
fn cost_hit_nginx_vars(
    sesame: &Sesame,
    loc: &Location,
    b: &Browser,
    vars: &Variables,
    n: usize,
) -> usize {
    black_box(3u8);
    cost_hit_nginx_vars_inline(sesame, loc, b, vars, n)
}

#[inline(always)]
fn cost_hit_nginx_vars_inline(
    sesame: &Sesame,
    loc: &Location,
    b: &Browser,
    vars: &Variables,
    n: usize,
) -> usize {
    (0..n)
        .filter(|_| {
            let (view, cookie, _) = nginx_view(sesame, black_box(b));
            let request = Request {
                cookie: &cookie,
                ..view
            };
            match allowed(sesame.begin(Some(loc), &request)) {
                Some(id) => {
                    black_box(vars.read_all(&id));
                    true
                }
                None => false,
            }
        })
        .count()
}

/// As [`cost_hit_nginx_vars`], with the mod_auth_openidc include file (a function of its own
/// for callgrind).
#[inline(never)]
fn cost_hit_nginx_oidc(
    sesame: &Sesame,
    loc: &Location,
    b: &Browser,
    vars: &Variables,
    n: usize,
) -> usize {
    black_box(4u8);
    cost_hit_nginx_vars_inline(sesame, loc, b, vars, n)
}

/// One nginx variable of the include files, as the module's getters read it
/// (nginx/src/variables.rs).
enum Reader {
    Fixed(Fixed),
    Handed(Handed),
    Uniform(usize),
    UniformHeader(usize),
    Claim(String),
    ClaimHeader(String),
    OidcClaim(String),
    OidcRemoteUser,
    Data(String),
}

struct Variables {
    readers: Vec<Reader>,
}

impl Variables {
    /// The `$sesame_*` variables of an include file (`fastcgi_param NAME $var [if_not_empty];`).
    fn parse(path: &str) -> Result<Variables, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let mut readers = Vec::new();
        for var in text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .flat_map(str::split_whitespace)
            .filter_map(|w| w.strip_prefix('$'))
            .map(|w| w.trim_end_matches(';'))
        {
            readers.push(Reader::of(var).ok_or(format!("{path}: unknown variable ${var}"))?);
        }
        Ok(Variables { readers })
    }

    #[inline(always)]
    fn read_all(&self, id: &Identity) -> usize {
        self.readers.iter().map(|r| r.read(id)).sum()
    }
}

impl Reader {
    fn of(var: &str) -> Option<Reader> {
        if let Some(f) = Fixed::ALL.into_iter().find(|f| f.nginx_variable() == var) {
            return Some(Reader::Fixed(f));
        }
        if let Some(h) = Handed::ALL.into_iter().find(|h| h.nginx_variable() == var) {
            return Some(Reader::Handed(h));
        }
        if var == sesame::OIDC_REMOTE_USER_VARIABLE {
            return Some(Reader::OidcRemoteUser);
        }
        let uniform = UNIFORM_CLAIMS.iter().position(|u| {
            sesame::uniform_nginx_variable(u) == var
                || sesame::uniform_nginx_header_variable(u) == var
        });
        if let Some(i) = uniform {
            return Some(
                if sesame::uniform_nginx_variable(UNIFORM_CLAIMS[i]) == var {
                    Reader::Uniform(i)
                } else {
                    Reader::UniformHeader(i)
                },
            );
        }
        let suffix = |p: &str| var.strip_prefix(p).map(str::to_owned);
        if let Some(s) = suffix(sesame::OIDC_CLAIM_VARIABLE_PREFIX) {
            return Some(Reader::OidcClaim(s));
        }
        if let Some(s) = suffix(sesame::CLAIM_VARIABLE_PREFIX) {
            return Some(Reader::Claim(s));
        }
        if let Some(s) = suffix(sesame::CLAIM_HEADER_VARIABLE_PREFIX) {
            return Some(Reader::ClaimHeader(s));
        }
        suffix(sesame::DATA_VARIABLE_PREFIX).map(Reader::Data)
    }

    /// The value's length (what nginx copies), 0 when not found.
    fn read(&self, id: &Identity) -> usize {
        match self {
            Reader::Fixed(f) => f.value(id).len(),
            Reader::Handed(h) => h.value(id).map_or(0, str::len),
            Reader::Uniform(i) => id.uniform_at(*i).map_or(0, |(_, v)| v.len()),
            Reader::UniformHeader(i) => {
                let v = id.uniform_at(*i).map_or("", |(_, v)| v);
                sesame::encode_header_value(v).len()
            }
            Reader::Claim(s) => claim_name::claim(id, s).map_or(0, str::len),
            Reader::ClaimHeader(s) => {
                claim_name::claim(id, s).map_or(0, |v| sesame::encode_header_value(v).len())
            }
            Reader::OidcClaim(s) => claim_name::oidc_claim(id, s).map_or(0, str::len),
            Reader::OidcRemoteUser => id
                .mod_auth_openidc()
                .iter()
                .find(|(n, _)| n == sesame::REMOTE_USER)
                .map_or(0, |(_, v)| v.len()),
            Reader::Data(s) => sesame::data_for_nginx_suffix(id, s).map_or(0, str::len),
        }
    }
}

/// The value of cookie `name` in Set-Cookie lines.
fn set_cookie_value(cookies: &[String], name: &str) -> Option<String> {
    cookies.iter().find_map(|c| {
        let pair = c.split(';').next()?;
        let (k, v) = pair.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_owned())
    })
}

fn run_job(step: Step) -> Outcome {
    match step {
        Step::Done(o) => o,
        Step::Job(j) => j.run(),
    }
}

/// The access handler's view of `b`, then `begin` (inlined into each measured step, so that
/// the steps' inclusive costs do not include each other).
#[inline(always)]
fn begin_as_nginx(sesame: &Sesame, loc: &Location, b: &Browser) -> Step {
    let (view, cookie, _) = nginx_view(sesame, b);
    sesame.begin(
        Some(loc),
        &Request {
            cookie: &cookie,
            ..view
        },
    )
}

/// The protected page without a session: 303 to the provider with the login cookie set.
#[inline(never)]
fn cost_login_start(sesame: &Sesame, loc: &Location, b: &Browser) -> Step {
    // Distinct bodies: the linker must not fold two measured functions into one symbol.
    black_box(1u8);
    begin_as_nginx(sesame, loc, b)
}

/// The callback's browser-side checks (state, login cookie): a job.
#[inline(never)]
fn cost_callback_begin(sesame: &Sesame, loc: &Location, b: &Browser) -> Step {
    black_box(2u8);
    begin_as_nginx(sesame, loc, b)
}

/// The callback's job: code for tokens, signature checks, userinfo, the session written.
#[inline(never)]
fn cost_callback_job(job: Job) -> Outcome {
    job.run()
}

/// The page the callback sends the browser back to, with its new session.
#[inline(never)]
fn cost_first_page(sesame: &Sesame, loc: &Location, b: &Browser) -> Outcome {
    run_job(begin_as_nginx(sesame, loc, b))
}

/// One complete login (the provider's part is the driver's); returns the session cookie.
fn login(
    sesame: &Sesame,
    loc: &Location,
    plan: &Plan,
    input: &mut impl BufRead,
    clock: &mut Clock,
    first: bool,
) -> Result<String, String> {
    let page = Browser::navigation(plan, &plan.protected_uri, "_pk_id.1.1fff=2d5a1b6c7e8f9a0b");
    // The very first login finds no provider metadata: `begin` hands a job (discovery).
    let step = timed(&mut clock.start, || {
        let step = cost_login_start(sesame, loc, &page);
        if first {
            Step::Done(run_job(step))
        } else {
            step
        }
    });
    let (authorize, cookies) = match step {
        Step::Done(Outcome::Redirect {
            location,
            set_cookies,
        }) => (location, set_cookies),
        Step::Done(o) => return Err(format!("protected page without session: {o:?}")),
        Step::Job(_) => {
            return Err("protected page without session: a job (metadata not cached?)".into())
        }
    };
    let login_cookie = set_cookie_value(&cookies, "__Host-sesame-login")
        .ok_or("no login cookie on the redirect to the provider")?;
    println!("AUTHORIZE {authorize}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut line = String::new();
    input.read_line(&mut line).map_err(|e| e.to_string())?;
    let callback = line
        .trim()
        .strip_prefix("CALLBACK ")
        .ok_or(format!("expected CALLBACK <url>, got {line:?}"))?;
    let target = callback
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
        .ok_or(format!("callback URL {callback:?}"))?;
    let mut back = Browser::navigation(
        plan,
        &target,
        &format!("_pk_id.1.1fff=2d5a1b6c7e8f9a0b; __Host-sesame-login={login_cookie}"),
    );
    // The provider's redirect: a cross-site navigation.
    for (k, v) in &mut back.headers {
        if k == "Sec-Fetch-Site" {
            *v = "cross-site".into();
        }
        if k == "Referer" {
            *v = "https://provider.example/".into();
        }
    }
    let job = match timed(&mut clock.callback_begin, || {
        cost_callback_begin(sesame, loc, &back)
    }) {
        Step::Job(job) => job,
        Step::Done(o) => return Err(format!("callback answered at once: {o:?}")),
    };
    let outcome = timed(&mut clock.callback_job, || cost_callback_job(job));
    let Outcome::Redirect { set_cookies, .. } = outcome else {
        return Err(format!("callback: {outcome:?}"));
    };
    let session = set_cookie_value(&set_cookies, "__Host-sesame")
        .ok_or("no session cookie after the callback")?;
    let landing = Browser::new(plan, &session);
    match timed(&mut clock.first_page, || {
        cost_first_page(sesame, loc, &landing)
    }) {
        Outcome::Allow(_) => Ok(session),
        o => Err(format!("first page after the login: {o:?}")),
    }
}
