//! Protected locations: serve from the cache, read the session, or start a login.

use std::sync::Arc;

use crate::api::{Identity, Outcome, Request, Step};
use crate::claims;
use crate::oidc::{AuthParams, LoginOptions, ProviderMetadata};
use crate::policy::LocationRules;
use crate::session::{
    cookie_value, now_unix, random_bytes, random_token, LoginState, PendingLogin, Session,
    SessionId, LOGIN_STATE_MAX_AGE,
};

use super::failures;
use super::{make_job, sanitize_return_to, Inner, Provider, RequestInfo, Task};

pub(crate) struct ProtectTask {
    provider: usize,
    session: SessionId,
    req: RequestInfo,
    method: String,
    rules: Arc<LocationRules>,
    query: String,
}

impl ProtectTask {
    pub(crate) fn provider(&self) -> usize {
        self.provider
    }

    pub(crate) fn client_addr(&self) -> &str {
        &self.req.client_addr
    }
}

/// A login started with explicit options and pending state (step-up, silent SSO fallback).
pub(crate) struct StartLoginWith {
    pub provider: usize,
    pub login: LoginState,
    pub return_to: String,
    pub client_addr: String,
    pub options: LoginOptions,
    pub expect_sub: Option<String>,
}

/// What a live session of the right provider gets at a location with rules.
enum Verdict {
    Allow,
    /// The level is not enough: log in again asking for it, keeping the identity.
    StepUp,
    Forbidden(String),
}

fn judge(provider: &Provider, rules: &LocationRules, id: &Identity) -> Verdict {
    let federation = provider.cfg.settings.federation;
    if !crate::policy::acr_satisfies(federation, &rules.acr, id.acr()) {
        return Verdict::StepUp;
    }
    match rules.unmet_requirement(id) {
        Some(rule) => Verdict::Forbidden(format!(
            "claim {} does not hold any of the values required here ({})",
            rule.claim,
            rule.values.join(" ")
        )),
        None => Verdict::Allow,
    }
}

fn decide(
    inner: &Arc<Inner>,
    index: usize,
    rules: &Arc<LocationRules>,
    id: Identity,
    req: &RequestInfo,
    method: &str,
    query: &str,
) -> Step {
    let provider = &inner.providers[index];
    let outcome = match judge(provider, rules, &id) {
        Verdict::Allow => Outcome::Allow(id),
        Verdict::Forbidden(why) => Outcome::Page(failures::claim_refused(
            provider,
            &req.client_addr,
            id.user_key(),
            &why,
        )),
        Verdict::StepUp if !req.navigable => {
            Outcome::Page(failures::login_required(provider, &req.client_addr, method))
        }
        Verdict::StepUp => {
            emit_step_up(provider, &id, rules, &req.client_addr);
            let task = StartLoginWith {
                provider: index,
                login: login_state_of(inner, req),
                return_to: req.return_to.clone(),
                client_addr: req.client_addr.clone(),
                options: rules.login_options(query),
                expect_sub: Some(id.sub().to_owned()),
            };
            match provider.client.cached_metadata() {
                Some(meta) => redirect_with(inner, provider, &meta, task),
                // Discovery needs I/O: never from `begin`, always in a job.
                None => return make_job(inner, Task::StartLoginWith(Box::new(task))),
            }
        }
    };
    Step::Done(outcome)
}

fn emit_step_up(provider: &Provider, id: &Identity, rules: &LocationRules, client: &str) {
    crate::log::emit(
        crate::api::LogLevel::Info,
        &format!(
            "sesame: provider \"{}\": step-up of user {} from acr {} to one of [{}] [client {}]",
            provider.name(),
            id.user_key(),
            failures::log_safe(id.acr()),
            rules.acr.join(" "),
            failures::log_safe(client)
        ),
    );
}

fn login_state_of(inner: &Inner, req: &RequestInfo) -> LoginState {
    let cookie_refs: Vec<&str> = req.login_cookies.iter().map(String::as_str).collect();
    LoginState::from_cookies(&cookie_refs, inner.keys(), now_unix())
}

pub(crate) fn request_info(provider: &Provider, req: &Request<'_>) -> RequestInfo {
    RequestInfo {
        navigable: req.method == "GET" || req.method == "HEAD",
        return_to: sanitize_return_to(req.uri),
        login_cookies: cookie_value(req.cookie, &provider.cookies.login)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        client_addr: req.client_addr.to_owned(),
    }
}

/// The identity a live session of `provider` grants.
pub(crate) fn identity_of(provider: &Provider, session: &Session) -> Identity {
    claims::identity(
        provider.name(),
        &session.issuer,
        &session.sub,
        &session.acr,
        &session.claims,
        &provider.cfg.remote_user_claim,
    )
}

pub(crate) fn begin_with(
    inner: &Arc<Inner>,
    index: usize,
    rules: &Arc<LocationRules>,
    req: &Request<'_>,
) -> Step {
    let provider = &inner.providers[index];
    let query = super::split_uri(req.uri).1;
    let keys = inner.keys();
    let session = cookie_value(req.cookie, &provider.cookies.session)
        .into_iter()
        .find_map(|v| SessionId::from_cookie(v, keys));
    if let Some(id) = &session {
        // The hot path: a valid cookie and a cached session cost no I/O and no copies (the
        // identity is shared with the cache).
        if let Some(s) = inner.sessions.cached(id, now_unix()) {
            if s.identity.provider() == provider.name() {
                if matches!(judge(provider, rules, &s.identity), Verdict::Allow) {
                    return Step::Done(Outcome::Allow(s.identity));
                }
                let info = request_info(provider, req);
                return decide(inner, index, rules, s.identity, &info, req.method, query);
            }
        }
    }
    let info = request_info(provider, req);
    if let Some(id) = session {
        return make_job(
            inner,
            Task::Protect(ProtectTask {
                provider: index,
                session: id,
                req: info,
                method: req.method.to_owned(),
                rules: Arc::clone(rules),
                query: query.to_owned(),
            }),
        );
    }
    if !info.navigable {
        return Step::Done(Outcome::Page(failures::login_required(
            provider,
            req.client_addr,
            req.method,
        )));
    }
    let options = rules.login_options(query);
    if options == LoginOptions::default() {
        return match provider.client.cached_metadata() {
            Some(meta) => Step::Done(redirect_to_provider(inner, provider, &meta, &info)),
            None => make_job(
                inner,
                Task::StartLogin {
                    provider: index,
                    req: info,
                },
            ),
        };
    }
    let task = StartLoginWith {
        provider: index,
        login: login_state_of(inner, &info),
        return_to: info.return_to.clone(),
        client_addr: info.client_addr.clone(),
        options,
        expect_sub: None,
    };
    match provider.client.cached_metadata() {
        Some(meta) => Step::Done(redirect_with(inner, provider, &meta, task)),
        None => make_job(inner, Task::StartLoginWith(Box::new(task))),
    }
}

/// 303 to the authorize endpoint with a location's options, the attempt pushed onto `login`.
pub(crate) fn redirect_with(
    inner: &Inner,
    provider: &Provider,
    meta: &ProviderMetadata,
    task: StartLoginWith,
) -> Outcome {
    let keys = inner.keys();
    let params = new_auth_params(provider);
    let mut login = task.login;
    login.push(PendingLogin {
        provider: provider.name().to_owned(),
        state: params.state.clone(),
        nonce: params.nonce.clone(),
        code_verifier: params.code_verifier.clone(),
        return_to: task.return_to,
        created: now_unix(),
        options: task.options.clone(),
        expect_sub: task.expect_sub,
    });
    let cookie = provider.cookies.set(
        &provider.cookies.login,
        &login.seal(keys),
        Some(LOGIN_STATE_MAX_AGE),
    );
    Outcome::Redirect {
        location: provider
            .client
            .authorize_url_with(meta, &params, &task.options),
        set_cookies: vec![cookie],
    }
}

fn new_auth_params(provider: &Provider) -> AuthParams {
    AuthParams {
        state: random_token(),
        nonce: random_token(),
        code_verifier: provider.cfg.settings.pkce.then(|| {
            use base64::Engine;
            // 32 random bytes → 43 base64url chars (RFC 7636 §4.1).
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
        }),
    }
}

pub(crate) fn run_start_login_with(inner: &Inner, task: StartLoginWith) -> Outcome {
    let provider = &inner.providers[task.provider];
    match provider.client.metadata() {
        Ok(meta) => redirect_with(inner, provider, &meta, task),
        Err(e) => Outcome::Page(failures::provider_unavailable(
            provider,
            &task.client_addr,
            &e,
        )),
    }
}

/// 303 to the provider's authorize endpoint, remembering the attempt in the login cookie.
pub(crate) fn redirect_to_provider(
    inner: &Inner,
    provider: &Provider,
    meta: &ProviderMetadata,
    req: &RequestInfo,
) -> Outcome {
    let keys = inner.keys();
    let now = now_unix();
    let params = AuthParams {
        state: random_token(),
        nonce: random_token(),
        code_verifier: provider.cfg.settings.pkce.then(|| {
            use base64::Engine;
            // 32 random bytes → 43 base64url chars (RFC 7636 §4.1).
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
        }),
    };
    let cookie_refs: Vec<&str> = req.login_cookies.iter().map(String::as_str).collect();
    let mut login = LoginState::from_cookies(&cookie_refs, keys, now);
    login.push(PendingLogin {
        provider: provider.name().to_owned(),
        state: params.state.clone(),
        nonce: params.nonce.clone(),
        code_verifier: params.code_verifier.clone(),
        return_to: req.return_to.clone(),
        created: now,
        ..PendingLogin::default()
    });
    let cookie = provider.cookies.set(
        &provider.cookies.login,
        &login.seal(keys),
        Some(LOGIN_STATE_MAX_AGE),
    );
    Outcome::Redirect {
        location: provider.client.authorize_url(meta, &params),
        set_cookies: vec![cookie],
    }
}

pub(crate) fn run(inner: &Arc<Inner>, task: ProtectTask) -> Outcome {
    let provider = &inner.providers[task.provider];
    let now = now_unix();
    match inner.sessions.load(&task.session, now) {
        Err(e) => Outcome::Page(failures::store_down(provider, &task.req.client_addr, &e)),
        Ok(Some(s)) if s.provider == provider.name() => {
            let identity = identity_of(provider, &s);
            inner.sessions.remember(&task.session, &s, identity.clone());
            let step = decide(
                inner,
                task.provider,
                &task.rules,
                identity,
                &task.req,
                &task.method,
                &task.query,
            );
            match step {
                Step::Done(outcome) => outcome,
                // Already in a job: do the I/O now.
                Step::Job(job) => job.run(),
            }
        }
        // Expired, unknown, or a session of another provider: log in with this one. Without
        // cached metadata that is a provider exchange: it takes a provider slot like any
        // other (or answers "busy" / "unavailable" at once).
        Ok(_) => {
            if task.req.navigable {
                let options = task.rules.login_options(&task.query);
                let cached = provider.client.cached_metadata();
                let step = if options == LoginOptions::default() {
                    match cached {
                        Some(meta) => {
                            return redirect_to_provider(inner, provider, &meta, &task.req)
                        }
                        None => make_job(
                            inner,
                            Task::StartLogin {
                                provider: task.provider,
                                req: task.req,
                            },
                        ),
                    }
                } else {
                    let login = StartLoginWith {
                        provider: task.provider,
                        login: login_state_of(inner, &task.req),
                        return_to: task.req.return_to.clone(),
                        client_addr: task.req.client_addr.clone(),
                        options,
                        expect_sub: None,
                    };
                    match cached {
                        Some(meta) => return redirect_with(inner, provider, &meta, login),
                        None => make_job(inner, Task::StartLoginWith(Box::new(login))),
                    }
                };
                match step {
                    Step::Done(outcome) => outcome,
                    Step::Job(job) => job.run(),
                }
            } else {
                Outcome::Page(failures::login_required(
                    provider,
                    &task.req.client_addr,
                    &task.method,
                ))
            }
        }
    }
}

pub(crate) fn run_start_login(inner: &Inner, index: usize, req: &RequestInfo) -> Outcome {
    let provider = &inner.providers[index];
    match provider.client.metadata() {
        Ok(meta) => redirect_to_provider(inner, provider, &meta, req),
        Err(e) => {
            let page = failures::provider_unavailable(provider, &req.client_addr, &e);
            Outcome::Page(page)
        }
    }
}
