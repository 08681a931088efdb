//! The request state machine: `begin` (pure CPU) and `Job::run` (blocking I/O).
//!
//! `begin` answers what it can without I/O (cached session, redirect to the provider when its
//! metadata is cached, the callback's browser-side checks, the logout return) and otherwise
//! packs what the job needs — owned copies, the request is borrowed — into a `Work`.

mod audit;
mod callback;
mod data;
mod failures;
mod fetch;
mod login_page;
mod logout;
mod protect;
mod return_to;
mod slots;
mod step;
mod tokens;

use std::sync::Arc;

pub(crate) use failures::internal_error;
pub use return_to::sanitize_return_to;
pub use step::{Job, JobKind, Location, Outcome, Request, Step};

use crate::config::{ConfigBuilder, EngineConfig, ProviderConfig};
use crate::directives::ConfigError;
use crate::directives::{LocationMode, LocationSpec, Syntax};
use crate::identity::Identity;
use crate::oidc::OidcClient;
use crate::session::{CookieNames, Keys, SessionBinding, Sessions, Store};

/// One configured provider at run time.
pub(crate) struct Provider {
    pub cfg: ProviderConfig,
    pub client: OidcClient,
    /// Path of redirect_uri: the callback endpoint.
    pub callback_path: String,
    /// Path of post_logout_redirect_uri: the logout return endpoint.
    pub logout_return_path: Option<String>,
    /// Path of jwks_uri and the JWKS it answers, built once (answered without I/O).
    pub jwks: Option<(String, String)>,
    pub cookies: CookieNames,
    /// Issuer and client_id: the sessions this provider creates open only here.
    pub binding: SessionBinding,
    /// Failure lines per client address (a flood of forged callbacks must not fill the log).
    pub log_limiter: crate::log::Limiter,
    /// The server whose spelling this provider's log lines use for directive names.
    pub syntax: Syntax,
    /// `sesame_support_contact`, on this provider's error pages.
    pub support_contact: Option<String>,
    /// `sesame_audit_log`: where this provider's login outcomes are recorded.
    pub audit: Option<Arc<crate::log::audit::AuditLog>>,
    /// A location of this provider hands the access token to its backend
    /// (`sesame_pass_access_token on`): logins keep it (`tokens`). Set when locations are
    /// resolved, at configuration time.
    pub keeps_tokens: std::sync::atomic::AtomicBool,
    /// This provider's place in the metrics table, and the table.
    pub index: usize,
    pub metrics: crate::metrics::Metrics,
}

impl Provider {
    pub fn name(&self) -> &str {
        &self.cfg.settings.name
    }

    pub fn keeps_tokens(&self) -> bool {
        self.keeps_tokens.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts a failed login or refused request of this provider.
    pub fn count_failure(&self, failure: crate::metrics::Failure<'_>) {
        self.metrics.failed(self.index, failure);
    }
}

pub(crate) struct Inner {
    pub providers: Vec<Provider>,
    pub sessions: Sessions,
    /// The per-process cap on provider exchanges.
    pub slots: Arc<slots::Slots>,
    /// The counters shared by every process of the server (`sesame_metrics`).
    pub metrics: crate::metrics::Metrics,
}

impl Inner {
    pub fn keys(&self) -> &Keys {
        self.sessions.keys()
    }

    pub fn provider_index(&self, name: &str) -> Option<usize> {
        self.providers.iter().position(|p| p.name() == name)
    }

    /// The provider of this configuration that creates sessions bound to `binding`.
    pub fn provider_of_binding(&self, binding: &SessionBinding) -> Option<&Provider> {
        self.providers.iter().find(|p| p.binding == *binding)
    }
}

/// The configured core. Cheap to share between threads (`Send + Sync`).
pub struct Sesame {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sesame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.inner.providers.iter().map(|p| p.name()).collect();
        f.debug_struct("Sesame")
            .field("providers", &names)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub(crate) struct LocationPolicy {
    mode: LocationMode,
    provider: usize,
    /// Checked against `provider` on use: a location resolved by another configuration
    /// (an adapter mixing generations across a reload) must not pick a random provider.
    provider_name: String,
    /// Level, required claims and login options of this location (`sesame_acr`...).
    rules: Arc<crate::policy::LocationRules>,
    /// `sesame_login_page`: the page a navigation without a session gets.
    login_page: Option<Arc<crate::pages::LoginPage>>,
}

/// The site's public keys at `jwks_uri` (what the provider fetches to encrypt to the site and
/// to check its client assertions): GET and HEAD only.
fn jwks_page(jwks: &str, method: &str) -> crate::pages::Page {
    let readable = method == "GET" || method == "HEAD";
    crate::pages::Page {
        status: if readable { 200 } else { 405 },
        content_type: if readable {
            "application/json".into()
        } else {
            "text/plain; charset=utf-8".into()
        },
        body: if readable {
            jwks.to_owned()
        } else {
            "GET only\n".into()
        },
        set_cookies: Vec::new(),
        headers: if readable {
            // Short enough that a new key is seen soon after it is published (rotation).
            vec![("Cache-Control".into(), "public, max-age=300".into())]
        } else {
            vec![("Allow".into(), "GET, HEAD".into())]
        },
        failure: None,
    }
}

/// Blocking work, owning everything it needs.
pub(crate) struct Work {
    inner: Arc<Inner>,
    task: Task,
    /// Held while a provider job exists (`JobKind::Provider`); none for session reads.
    _slot: Option<slots::Slot>,
    /// Counts the job as queued, then running (`sesame_jobs_queued` / `_running`).
    ticket: crate::metrics::JobTicket,
}

/// The owned part of a request that jobs need.
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    /// A top-level page navigation (`fetch::is_navigation`): we may redirect it to the provider.
    pub navigable: bool,
    /// Started by this site or a typed URL (`fetch::started_here`), not by another site.
    pub started_here: bool,
    pub return_to: String,
    /// Values of this provider's login cookie as received.
    pub login_cookies: Vec<String>,
    pub client_addr: String,
    /// The language of a login page (`Accept-Language`).
    pub lang: crate::pages::Lang,
    /// `If-None-Match`, for the login page's ETag.
    pub if_none_match: String,
}

pub(crate) enum Task {
    Protect(protect::ProtectTask),
    StartLogin {
        provider: usize,
        req: RequestInfo,
    },
    Callback(callback::CallbackTask),
    Logout(logout::LogoutTask),
    /// A login with a location's options (step-up, silent SSO fallback) once metadata is known.
    StartLoginWith(Box<protect::StartLoginWith>),
    /// An allowed request that receives the session's kept access token.
    HandOff(Box<tokens::HandOffTask>),
}

impl Task {
    fn provider(&self) -> usize {
        match self {
            Task::Protect(t) => t.provider(),
            Task::StartLogin { provider, .. } => *provider,
            Task::Callback(t) => t.provider(),
            Task::Logout(t) => t.provider(),
            Task::StartLoginWith(t) => t.provider,
            Task::HandOff(t) => t.provider,
        }
    }

    fn client_addr(&self) -> &str {
        match self {
            Task::Protect(t) => t.client_addr(),
            Task::StartLogin { req, .. } => &req.client_addr,
            Task::Callback(t) => t.client_addr(),
            Task::Logout(t) => t.client_addr(),
            Task::StartLoginWith(t) => &t.client_addr,
            Task::HandOff(t) => &t.client_addr,
        }
    }

    /// Session reads and logouts are Redis work; everything else waits on a provider. (A
    /// session read that finds no session and no cached metadata asks for a provider job,
    /// which takes its own slot.)
    fn kind(&self) -> JobKind {
        match self {
            Task::Protect(_) => JobKind::Session,
            // Revoking the session's kept tokens at logout is a provider exchange.
            Task::Logout(t) if t.revokes() => JobKind::Provider,
            Task::Logout(_) => JobKind::Session,
            // A refresh, when one is due, takes a provider slot of its own (`tokens`).
            Task::HandOff(_) => JobKind::Session,
            Task::StartLogin { .. } | Task::Callback(_) | Task::StartLoginWith(_) => {
                JobKind::Provider
            }
        }
    }
}

/// The metrics table of `config`: its providers, in order, and every level they may grant (the
/// federations' values and the configured ones).
fn metrics_for(config: &EngineConfig) -> std::io::Result<crate::metrics::Metrics> {
    let names = config
        .providers
        .iter()
        .map(|(cfg, _)| cfg.settings.name.clone())
        .collect();
    let mut levels: Vec<String> = ["eidas1", "eidas2", "eidas3"]
        .iter()
        .chain(crate::federation::PC_ACR_VALUES)
        .map(|a| (*a).to_owned())
        .collect();
    for (cfg, _) in &config.providers {
        levels.extend(cfg.settings.acr_values.iter().cloned());
        levels.extend(cfg.settings.required_acr.iter().cloned());
    }
    crate::metrics::Metrics::new(names, levels)
}

fn path_of(url: &str) -> Option<String> {
    url::Url::parse(url).ok().map(|u| u.path().to_owned())
}

/// Splits a raw request target into path and query.
pub(crate) fn split_uri(uri: &str) -> (&str, &str) {
    match uri.split_once('?') {
        Some((path, query)) => (path, query),
        None => (uri, ""),
    }
}

// Jobs move to other threads; the shared core is used from all of them.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    const fn assert_send<T: Send>() {}
    assert_send_sync::<Sesame>();
    assert_send::<Job>();
};

impl ConfigBuilder {
    /// Validates every directive value received, reads the files they name and builds the
    /// configured core. Opens no socket and starts no thread: the server forks its workers
    /// afterwards.
    pub fn build(self) -> Result<Sesame, ConfigError> {
        let (mut config, store) = self.validate_with_store()?;
        config.audit = open_audit_log(config.audit_log.take())?;
        Sesame::new(config, Box::new(store))
    }
}

/// `sesame_audit_log`: opened now (configuration time, the master or parent, as root) unless
/// the server writes it itself.
fn open_audit_log(
    audit_log: Option<(String, Option<Box<crate::log::audit::AuditWriter>>)>,
) -> Result<Option<Arc<crate::log::audit::AuditLog>>, ConfigError> {
    use crate::log::audit::AuditLog;
    let Some((path, writer)) = audit_log else {
        return Ok(None);
    };
    let audit = match writer {
        Some(writer) => AuditLog::through_server(&path, writer),
        None => AuditLog::open(&path).map_err(|e| {
            ConfigError::global(
                "audit_log",
                format!(
                    "cannot open {} \"{path}\": {e} (its directory must exist and be writable by the user that starts the server)",
                    crate::directives::registry::http_name("audit_log")
                ),
            )
        })?,
    };
    Ok(Some(Arc::new(audit)))
}

impl Sesame {
    pub(crate) fn new(config: EngineConfig, store: Box<dyn Store>) -> Result<Sesame, ConfigError> {
        let metrics = metrics_for(&config).map_err(|e| {
            ConfigError::new(format!(
                "cannot map the shared memory of the metrics ({e}); check the memory limits of the server"
            ))
        })?;
        let providers = config
            .providers
            .into_iter()
            .enumerate()
            .map(|(index, (cfg, client))| {
                let meter = |m: &crate::metrics::Metrics| {
                    Box::new(crate::metrics::ProviderMeter {
                        metrics: m.clone(),
                        provider: index,
                    })
                };
                client.observe_exchanges(meter(&metrics));
                if let Some(http) = &cfg.data_http {
                    http.observe_with(meter(&metrics));
                }
                let secure = cfg.settings.redirect_uri.starts_with("https://");
                Provider {
                    callback_path: path_of(&cfg.settings.redirect_uri).unwrap_or_default(),
                    logout_return_path: cfg
                        .settings
                        .post_logout_redirect_uri
                        .as_deref()
                        .and_then(path_of),
                    jwks: cfg
                        .settings
                        .jwks_uri
                        .as_deref()
                        .and_then(path_of)
                        .map(|path| (path, cfg.settings.site_keys.jwks_json())),
                    cookies: CookieNames::new(secure),
                    binding: SessionBinding::new(&cfg.settings.issuer, &cfg.settings.client_id),
                    log_limiter: crate::log::Limiter::default(),
                    syntax: config.syntax,
                    support_contact: config.support_contact.clone(),
                    audit: config.audit.clone(),
                    keeps_tokens: Default::default(),
                    index,
                    metrics: metrics.clone(),
                    cfg,
                    client,
                }
            })
            .collect();
        let store = Box::new(crate::session::MeteredStore::new(store, metrics.clone()));
        Ok(Sesame {
            inner: Arc::new(Inner {
                providers,
                sessions: Sessions::new(store, config.keys, config.session),
                slots: slots::Slots::new(config.provider_concurrency),
                metrics,
            }),
        })
    }

    /// The metrics page (`sesame_metrics`, Apache `SetHandler sesame-metrics`): the counts of
    /// every process of this server in the Prometheus text format; GET and HEAD only.
    pub fn metrics_page(&self, method: &str) -> crate::pages::Page {
        let readable = method == "GET" || method == "HEAD";
        crate::pages::Page {
            status: if readable { 200 } else { 405 },
            content_type: if readable {
                crate::metrics::CONTENT_TYPE.into()
            } else {
                "text/plain; charset=utf-8".into()
            },
            body: if readable {
                self.inner.metrics.render()
            } else {
                "GET only\n".into()
            },
            set_cookies: Vec::new(),
            failure: None,
            headers: if readable {
                vec![("Cache-Control".into(), "no-store".into())]
            } else {
                vec![("Allow".into(), "GET, HEAD".into())]
            },
        }
    }

    /// Worker / child start (after the fork): starts this process's revocation feed, one
    /// thread subscribed to the namespace's revocation channel, so that sessions ended in any
    /// worker of any server sharing the Redis leave this process's session cache within a
    /// second. Until it is subscribed, the cache is bypassed. Nothing without a cache or a
    /// provider. Idempotent.
    pub fn start_worker(&self) {
        if !self.inner.providers.is_empty() {
            self.inner.sessions.start_revocation_feed();
        }
    }

    /// Worker / child exit: stops the feed thread (within a quarter of a second).
    pub fn stop_worker(&self) {
        self.inner.sessions.stop_revocation_feed();
    }

    /// For tests: `start_worker`, then wait until the feed is subscribed (at most 5 s).
    #[cfg(test)]
    pub(crate) fn start_worker_and_wait(&self) {
        self.start_worker();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !self.inner.sessions.cache_trusted() && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// Config time: resolve a location's settings against the configured providers.
    pub fn location(&self, spec: &LocationSpec) -> Result<Location, ConfigError> {
        use crate::directives::registry::{http_name, location_name};
        let directive = match spec.mode {
            LocationMode::Protect => location_name("protect"),
            LocationMode::Logout | LocationMode::LogoutLocal => location_name("logout"),
        };
        let provider = self.inner.provider_index(&spec.provider).ok_or_else(|| {
            let declared: Vec<&str> = self.inner.providers.iter().map(|p| p.name()).collect();
            ConfigError::location(
                None,
                format!(
                    "{directive} {}: no {} named \"{}\" (declared: {})",
                    spec.provider,
                    http_name("provider"),
                    spec.provider,
                    if declared.is_empty() {
                        format!("none; add a {} block at http level", http_name("provider"))
                    } else {
                        declared.join(", ")
                    }
                ),
            )
        })?;
        if spec.mode != LocationMode::Protect {
            if let Some((key, _)) = spec.options.first() {
                return Err(ConfigError::location(
                    Some(key),
                    format!(
                        "{directive} {}: option \"{key}\" only applies to a protected location ({} {})",
                        spec.provider,
                        location_name("protect"),
                        spec.provider
                    ),
                ));
            }
        }
        let federation = self.inner.providers[provider].cfg.settings.federation;
        let rules =
            crate::policy::LocationRules::parse(federation, &spec.options).map_err(|f| {
                ConfigError::location(
                    Some(&f.key),
                    format!(
                        "{} {} (provider \"{}\"): {}",
                        location_name("protect"),
                        spec.provider,
                        spec.provider,
                        f.message
                    ),
                )
            })?;
        let login_page = self.login_page(federation, spec)?;
        if rules.pass_access_token {
            self.inner.providers[provider]
                .keeps_tokens
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if rules.data_refresh && self.inner.providers[provider].cfg.data.is_empty() {
            return Err(ConfigError::location(
                Some("data_refresh"),
                format!(
                    "{} on: provider \"{}\" has no {} line, so there is nothing to fetch again",
                    location_name("data_refresh"),
                    spec.provider,
                    crate::directives::registry::provider_name("data")
                ),
            ));
        }
        Ok(Location {
            inner: Arc::new(LocationPolicy {
                mode: spec.mode.clone(),
                provider,
                provider_name: spec.provider.clone(),
                rules: Arc::new(rules),
                login_page,
            }),
        })
    }

    /// Config time: a protected location's login page (`sesame_login_page` and its blocks).
    fn login_page(
        &self,
        federation: crate::identity::Federation,
        spec: &LocationSpec,
    ) -> Result<Option<Arc<crate::pages::LoginPage>>, ConfigError> {
        use crate::directives::registry::{http_name, location_name};
        let button_of = |name: &str| {
            let index = self
                .inner
                .provider_index(name)
                .ok_or_else(|| format!("no {} named \"{name}\"", http_name("provider")))?;
            crate::pages::Button::of(self.inner.providers[index].cfg.settings.federation)
                .ok_or_else(|| {
                    format!("provider \"{name}\" has no official button (it needs a FranceConnect or ProConnect preset)")
                })
        };
        crate::pages::LoginPage::parse(federation, &spec.options, button_of)
            .map(|page| page.map(Arc::new))
            .map_err(|f| {
                ConfigError::location(
                    Some(&f.key),
                    format!(
                        "{} {} (provider \"{}\"): {}",
                        location_name("protect"),
                        spec.provider,
                        spec.provider,
                        f.message
                    ),
                )
            })
    }

    /// Pure CPU, never blocks. `location` is None for locations without a sesame directive:
    /// then only Sesame's own endpoints (callback, logout return) are answered, else Decline.
    pub fn begin(&self, location: Option<&Location>, req: &Request<'_>) -> Step {
        let (path, query) = split_uri(req.uri);
        let inner = &self.inner;
        if let Some(i) = inner.providers.iter().position(|p| p.callback_path == path) {
            return callback::begin(inner, i, req, query);
        }
        if let Some((_, jwks)) = inner
            .providers
            .iter()
            .filter_map(|p| p.jwks.as_ref())
            .find(|(jwks_path, _)| jwks_path == path)
        {
            return Step::Done(Outcome::Page(jwks_page(jwks, req.method)));
        }
        if let Some(i) = inner
            .providers
            .iter()
            .position(|p| p.logout_return_path.as_deref() == Some(path))
        {
            if let Some(step) = logout::begin_return(inner, i, req, query) {
                return step;
            }
        }
        let Some(location) = location else {
            return Step::Done(Outcome::Decline);
        };
        let policy = &location.inner;
        if let Some(step) = self.foreign(policy, "begin") {
            return step;
        }
        match policy.mode {
            LocationMode::Protect => protect::begin_with(
                inner,
                policy.provider,
                &policy.rules,
                policy.login_page.as_ref(),
                req,
            ),
            LocationMode::Logout => logout::begin(inner, policy.provider, req, false),
            LocationMode::LogoutLocal => logout::begin(inner, policy.provider, req, true),
        }
    }

    /// Pure CPU. The verdict of `location` for `identity`, established earlier in this same
    /// request (before an internal redirect: nginx's `try_files`, `index`, `error_page`, a named
    /// location, `X-Accel-Redirect`). A protected location of the identity's provider applies
    /// its own rules to it with no I/O — its level (step-up), its required claims (403 page) —
    /// exactly as for a session read from the cache; any other location (another provider, a
    /// logout endpoint) takes its normal path, as `begin`.
    pub fn recheck(&self, location: &Location, identity: &Identity, req: &Request<'_>) -> Step {
        let policy = &location.inner;
        if policy.mode != LocationMode::Protect || identity.provider() != policy.provider_name {
            return self.begin(Some(location), req);
        }
        if let Some(step) = self.foreign(policy, "recheck") {
            return step;
        }
        protect::admit(
            &self.inner,
            policy.provider,
            &policy.rules,
            identity.clone(),
            req,
        )
    }

    /// An error page when `policy` was resolved by another configuration (an adapter mixing
    /// generations across a reload must not pick a random provider).
    fn foreign(&self, policy: &LocationPolicy, what: &str) -> Option<Step> {
        let matches = self
            .inner
            .providers
            .get(policy.provider)
            .is_some_and(|p| p.name() == policy.provider_name);
        (!matches).then(|| {
            Step::Done(Outcome::Page(internal_error(&format!(
                "{what}: location for provider \"{}\" was resolved by another configuration",
                policy.provider_name
            ))))
        })
    }

    /// A server-side acr rule (Apache's `Require sesame-acr`) on an allowed identity: exactly
    /// what `sesame_acr` / `SesameAcr` decide (`federation::level_met`: the federation's ordering or
    /// set, ProConnect's `mfa` shortcut, and the second factor verified at login). False for an
    /// unknown provider or an empty rule.
    pub fn acr_satisfies(&self, id: &Identity, wanted: &[String]) -> bool {
        !wanted.is_empty()
            && self.inner.providers.iter().any(|p| {
                let federation = p.cfg.settings.federation;
                p.name() == id.provider()
                    && crate::federation::level_met(
                        federation,
                        &crate::federation::expand_acr(
                            federation,
                            wanted.iter().map(String::as_str),
                        ),
                        id,
                    )
            })
    }

    /// Config time: do both cores use one secret? Then they share one Redis namespace and one
    /// set of keys, and only their providers' issuer and client_id keep their sessions apart
    /// (Apache warns about two virtual hosts configured so). Cores without providers use none.
    pub fn shares_secret_with(&self, other: &Sesame) -> bool {
        let (a, b) = (&self.inner, &other.inner);
        !a.providers.is_empty() && !b.providers.is_empty() && a.keys().enc == b.keys().enc
    }

    /// True for incoming request headers that could spoof what Sesame passes to the backend.
    pub fn is_spoofable_header(&self, name: &str) -> bool {
        crate::claims::is_spoofable_header(name)
    }

    /// Whether a Cookie header holds one of Sesame's cookies (no allocation): the adapters
    /// rewrite the header only then, with [`Sesame::write_without_own_cookies`], in every
    /// location of a server using Sesame, after reading what they need.
    pub fn has_own_cookies(&self, header: &[u8]) -> bool {
        crate::session::has_own_cookies(header)
    }

    /// The Cookie header the backend may see, without Sesame's own cookies (session, login,
    /// logout), written into `out` (at least `header.len()` bytes): the length written (0: drop
    /// the header), None when `out` is too short.
    pub fn write_without_own_cookies(&self, header: &[u8], out: &mut [u8]) -> Option<usize> {
        crate::session::write_without_own_cookies(header, out)
    }
}

/// The job for `task`, or at once: a provider job needs a free provider slot (else the 503
/// "provider busy" page) and a provider that did not fail moments ago with nothing usable
/// cached (else the provider-unavailable page, without I/O).
pub(crate) fn make_job(inner: &Arc<Inner>, mut task: Task) -> Step {
    let mut kind = task.kind();
    if let Task::Logout(t) = &mut task {
        // A logout never waits for a provider slot nor fails for want of one: without a free
        // slot (or against a failing provider) it ends the session and skips the revocation.
        let provider = &inner.providers[t.provider()];
        let slot = (kind == JobKind::Provider && provider.client.recent_failure().is_none())
            .then(|| inner.slots.try_take())
            .flatten();
        if slot.is_none() {
            t.skip_revocation();
            kind = JobKind::Session;
        }
        return Step::Job(Job {
            work: Work {
                inner: Arc::clone(inner),
                task,
                _slot: slot,
                ticket: inner.metrics.job_queued(gauge_of(kind)),
            },
            kind,
        });
    }
    let slot = match kind {
        JobKind::Session => None,
        JobKind::Provider => {
            let provider = &inner.providers[task.provider()];
            if let Some(e) = provider.client.recent_failure() {
                let page = failures::provider_unavailable(provider, task.client_addr(), &e);
                return Step::Done(Outcome::Page(page));
            }
            match inner.slots.try_take() {
                Some(slot) => Some(slot),
                None => {
                    let page =
                        failures::provider_busy(provider, task.client_addr(), inner.slots.limit());
                    return Step::Done(Outcome::Page(page));
                }
            }
        }
    };
    Step::Job(Job {
        work: Work {
            inner: Arc::clone(inner),
            task,
            _slot: slot,
            ticket: inner.metrics.job_queued(gauge_of(kind)),
        },
        kind,
    })
}

fn gauge_of(kind: JobKind) -> crate::metrics::JobGauge {
    match kind {
        JobKind::Session => crate::metrics::JobGauge::Session,
        JobKind::Provider => crate::metrics::JobGauge::Provider,
    }
}

impl Job {
    /// What the job waits on, so that an adapter can keep session reads apart from provider
    /// exchanges (nginx: `sesame_provider_thread_pool`).
    pub fn kind(&self) -> JobKind {
        self.kind
    }

    /// Blocking: Redis and/or HTTPS. Runs on any thread, exactly once.
    pub fn run(self) -> Outcome {
        // The slot, if any, is released when `work` is dropped at the end of this call.
        let Work {
            inner,
            task,
            _slot,
            ticket,
        } = self.work;
        let _running = ticket.start();
        match task {
            Task::Protect(t) => protect::run(&inner, t),
            Task::StartLogin { provider, req } => protect::run_start_login(&inner, provider, &req),
            Task::Callback(t) => callback::run(&inner, t),
            Task::Logout(t) => logout::run(&inner, t),
            Task::StartLoginWith(t) => protect::run_start_login_with(&inner, *t),
            Task::HandOff(t) => tokens::run_hand_off(&inner, *t),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
