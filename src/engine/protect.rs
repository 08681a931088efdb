//! Protected locations: serve from the cache, read the session, or start a login.

use std::sync::Arc;

use crate::claims;
use crate::engine::{Outcome, Request, Step};
use crate::federation::LoginOptions;
use crate::identity::Identity;
use crate::oidc::{AuthParams, ProviderMetadata};
use crate::pages::{Lang, LoginPage};
use crate::policy::{LocationRules, UnauthAction};
use crate::session::{
    cookie_value, cookie_values, now_unix, random_bytes, random_token, LoginState, PendingLogin,
    Session, SessionData, SessionId, LOGIN_STATE_MAX_AGE,
};

use super::failures::{self, Unauthenticated};
use super::{fetch, make_job, sanitize_return_to, Inner, Provider, RequestInfo, Task};

pub(crate) struct ProtectTask {
    provider: usize,
    session: SessionId,
    req: RequestInfo,
    method: String,
    rules: Arc<LocationRules>,
    login_page: Option<Arc<LoginPage>>,
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
    /// Started by another site's navigation (see `LoginState::push`).
    pub cross_site: bool,
}

/// What a live session of the right provider gets at a location with rules.
enum Verdict {
    Allow,
    /// The level is not enough: log in again asking for it, keeping the identity.
    StepUp,
    Forbidden(String),
}

fn judge(provider: &Provider, rules: &LocationRules, id: &Identity) -> Verdict {
    if !crate::federation::level_met(provider.cfg.settings.federation, &rules.acr, id) {
        return Verdict::StepUp;
    }
    if rules.authentication_too_old(id, now_unix()) {
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
    let verdict = judge(provider, rules, &id);
    // Asked by this site's own page, as a navigation: log in again as the same user so that
    // the data calls run again, then land on the page without the parameter. Anything else
    // (another site's link, a script) is served as if the parameter were not there.
    if rules.asks_data_refresh(query)
        && req.navigable
        && req.started_here
        && !matches!(verdict, Verdict::Forbidden(_))
    {
        crate::log::emit(
            crate::log::LogLevel::Info,
            &format!(
                "sesame: provider \"{}\": data refresh of user {} [client {}]",
                provider.name(),
                id.user_key(),
                failures::log_safe(&req.client_addr)
            ),
        );
        let task = StartLoginWith {
            provider: index,
            login: login_state_of(inner, req),
            return_to: crate::policy::without_data_refresh(&req.return_to),
            client_addr: req.client_addr.clone(),
            options: rules.login_options(query),
            expect_sub: Some(id.sub().to_owned()),
            cross_site: false,
        };
        return match provider.client.cached_metadata() {
            Some(meta) => Step::Done(redirect_with(inner, provider, &meta, task)),
            None => make_job(inner, Task::StartLoginWith(Box::new(task))),
        };
    }
    let outcome = match verdict {
        Verdict::Allow => Outcome::Allow(id),
        // Optional login: a session that does not satisfy this location is no identity here.
        Verdict::Forbidden(_) | Verdict::StepUp if rules.unauth == UnauthAction::Pass => {
            Outcome::Decline
        }
        Verdict::Forbidden(why) => Outcome::Page(failures::claim_refused(
            provider,
            &req.client_addr,
            id.user_key(),
            &why,
        )),
        Verdict::StepUp if !req.navigable || rules.unauth == UnauthAction::Deny => {
            Outcome::Page(unauthenticated(
                provider,
                rules,
                req,
                method,
                Unauthenticated::StepUpRequired,
            ))
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
                cross_site: !req.started_here,
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
    provider.metrics.step_up(provider.index);
    let why = if rules.authentication_too_old(id, now_unix()) {
        format!(
            "re-authentication (prompt=login) of user {}: authenticated {}s ago, this location accepts at most {}s",
            id.user_key(),
            now_unix().saturating_sub(id.auth_time()),
            rules.max_auth_age.unwrap_or_default()
        )
    } else {
        format!(
            "step-up of user {} from acr {} to one of [{}]",
            id.user_key(),
            failures::log_safe(id.acr()),
            rules.acr.join(" ")
        )
    };
    crate::log::emit(
        crate::log::LogLevel::Info,
        &format!(
            "sesame: provider \"{}\": {why} [client {}]",
            provider.name(),
            failures::log_safe(client)
        ),
    );
}

fn login_state_of(inner: &Inner, req: &RequestInfo) -> LoginState {
    let cookie_refs: Vec<&str> = req.login_cookies.iter().map(String::as_str).collect();
    LoginState::from_cookies(&cookie_refs, inner.keys(), now_unix())
}

/// The 401 of a request that may not start a login here (see `failures::unauthenticated`).
fn unauthenticated(
    provider: &Provider,
    rules: &LocationRules,
    req: &RequestInfo,
    method: &str,
    why: Unauthenticated,
) -> crate::pages::Page {
    // A page navigation to this URL starts the login (and comes back to it), unless this
    // location never starts one.
    let login_url = (rules.unauth == UnauthAction::Login).then_some(req.return_to.as_str());
    failures::unauthenticated(
        provider,
        &req.client_addr,
        method,
        why,
        login_url,
        !req.navigable,
    )
}

pub(crate) fn request_info(provider: &Provider, req: &Request<'_>) -> RequestInfo {
    RequestInfo {
        navigable: fetch::is_navigation(req),
        started_here: fetch::started_here(req),
        return_to: sanitize_return_to(req.uri),
        login_cookies: cookie_value(req.cookie, &provider.cookies.login)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        client_addr: req.client_addr.to_owned(),
        lang: Lang::negotiate(req.accept_language),
        if_none_match: req.if_none_match.to_owned(),
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
    .with_login_facts(session.mfa, provider.cfg.settings.federation)
    .with_auth_time(session.auth_time)
    .with_data(session.data.iter().map(|(name, d)| {
        let result = match d {
            SessionData::Json(json) => Ok(json.as_str()),
            SessionData::Error(reason) => Err(reason.as_str()),
        };
        (name.as_str(), result)
    }))
}

/// The location's verdict for an identity of its provider already in hand (a cached session,
/// or one allowed earlier in this request): allow, step up, or refuse. No I/O unless a step-up
/// needs the provider's metadata first.
pub(crate) fn admit(
    inner: &Arc<Inner>,
    index: usize,
    rules: &Arc<LocationRules>,
    identity: Identity,
    req: &Request<'_>,
) -> Step {
    let provider = &inner.providers[index];
    let query = super::split_uri(req.uri).1;
    if matches!(judge(provider, rules, &identity), Verdict::Allow)
        && !rules.asks_data_refresh(query)
    {
        return Step::Done(Outcome::Allow(identity));
    }
    let info = request_info(provider, req);
    decide(inner, index, rules, identity, &info, req.method, query)
}

pub(crate) fn begin_with(
    inner: &Arc<Inner>,
    index: usize,
    rules: &Arc<LocationRules>,
    login_page: Option<&Arc<LoginPage>>,
    req: &Request<'_>,
) -> Step {
    let provider = &inner.providers[index];
    let keys = inner.keys();
    // The login page's button: start this location's login (the page was shown because
    // there was no session; a session that appeared meanwhile is replaced by the new login).
    if let Some(return_to) = super::login_page::login_post(keys, provider, req) {
        let mut info = request_info(provider, req);
        info.navigable = true;
        info.return_to = return_to;
        let query = super::split_uri(&info.return_to).1.to_owned();
        return start_login(inner, index, rules, &info, &query);
    }
    let query = super::split_uri(req.uri).1;
    let session = cookie_values(req.cookie, &provider.cookies.session)
        .find_map(|v| SessionId::from_cookie(v, keys));
    if let Some(id) = &session {
        // The hot path: a valid cookie and a cached session cost no I/O and no copies (the
        // identity is shared with the cache).
        if let Some(s) = inner.sessions.cached(id, now_unix()) {
            // Bound to this provider's issuer and client_id, not only to its name.
            if s.is_bound_to(&provider.binding) && s.identity.provider() == provider.name() {
                inner.metrics.session_cache(true);
                let step = admit(inner, index, rules, s.identity, req);
                if rules.pass_access_token {
                    return super::tokens::hand_off(inner, index, id, s.token_until, step, req);
                }
                return step;
            }
        }
    }
    let info = request_info(provider, req);
    if let Some(id) = session {
        inner.metrics.session_cache(false);
        return make_job(
            inner,
            Task::Protect(ProtectTask {
                provider: index,
                session: id,
                req: info,
                method: req.method.to_owned(),
                rules: Arc::clone(rules),
                login_page: login_page.cloned(),
                query: query.to_owned(),
            }),
        );
    }
    without_session(inner, index, rules, login_page, &info, req.method, query)
}

/// No usable session (none, expired, invalid, another provider's): what `sesame_unauth_action`
/// says. Only a page navigation at a `login` location creates a login state.
fn without_session(
    inner: &Arc<Inner>,
    index: usize,
    rules: &Arc<LocationRules>,
    login_page: Option<&Arc<LoginPage>>,
    info: &RequestInfo,
    method: &str,
    query: &str,
) -> Step {
    let provider = &inner.providers[index];
    match rules.unauth {
        UnauthAction::Pass => return Step::Done(Outcome::Decline),
        // The page, not the provider: only its button's POST starts the login.
        UnauthAction::Login if info.navigable => {
            if let Some(page) = login_page {
                return Step::Done(super::login_page::page(inner, provider, page, info));
            }
        }
        UnauthAction::Login | UnauthAction::Deny => {
            return Step::Done(Outcome::Page(unauthenticated(
                provider,
                rules,
                info,
                method,
                Unauthenticated::LoginRequired,
            )));
        }
    }
    start_login(inner, index, rules, info, query)
}

/// A navigation's login: 303 to the provider (with the location's options), or a job when
/// the provider's metadata is not cached yet.
fn start_login(
    inner: &Arc<Inner>,
    index: usize,
    rules: &Arc<LocationRules>,
    info: &RequestInfo,
    query: &str,
) -> Step {
    let provider = &inner.providers[index];
    let options = rules.login_options(query);
    if options == LoginOptions::default() {
        return match provider.client.cached_metadata() {
            Some(meta) => Step::Done(redirect_to_provider(inner, provider, &meta, info)),
            None => make_job(
                inner,
                Task::StartLogin {
                    provider: index,
                    req: info.clone(),
                },
            ),
        };
    }
    let task = StartLoginWith {
        provider: index,
        login: login_state_of(inner, info),
        return_to: info.return_to.clone(),
        client_addr: info.client_addr.clone(),
        options,
        expect_sub: None,
        cross_site: !info.started_here,
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
        cross_site: task.cross_site,
    });
    let cookie = provider.cookies.set(
        &provider.cookies.login,
        &login.seal(keys),
        Some(LOGIN_STATE_MAX_AGE),
    );
    provider.metrics.login_started(provider.index);
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
        cross_site: !req.started_here,
        ..PendingLogin::default()
    });
    let cookie = provider.cookies.set(
        &provider.cookies.login,
        &login.seal(keys),
        Some(LOGIN_STATE_MAX_AGE),
    );
    provider.metrics.login_started(provider.index);
    Outcome::Redirect {
        location: provider.client.authorize_url(meta, &params),
        set_cookies: vec![cookie],
    }
}

pub(crate) fn run(inner: &Arc<Inner>, task: ProtectTask) -> Outcome {
    let provider = &inner.providers[task.provider];
    let now = now_unix();
    // Only a session bound to this provider's issuer and client_id loads at all.
    let ticket = inner.sessions.cache_ticket();
    match inner.sessions.load(&provider.binding, &task.session, now) {
        Err(e) => Outcome::Page(failures::store_down(provider, &task.req.client_addr, &e)),
        Ok(Some(s))
            if s.provider == provider.name() && s.issuer == provider.cfg.settings.issuer =>
        {
            let identity = identity_of(provider, &s);
            inner.sessions.remember(
                ticket,
                &task.session,
                &s,
                &provider.binding,
                identity.clone(),
            );
            let step = decide(
                inner,
                task.provider,
                &task.rules,
                identity,
                &task.req,
                &task.method,
                &task.query,
            );
            if task.rules.pass_access_token {
                return finish_here(super::tokens::hand_off_here(
                    inner,
                    task.provider,
                    &task.session,
                    s.token_until,
                    step,
                    &task.req.client_addr,
                ));
            }
            finish_here(step)
        }
        // Expired, unknown, or a session of another provider: log in with this one. Without
        // cached metadata that is a provider exchange: it takes a provider slot like any
        // other (or answers "busy" / "unavailable" at once).
        Ok(_) => finish_here(without_session(
            inner,
            task.provider,
            &task.rules,
            task.login_page.as_ref(),
            &task.req,
            &task.method,
            &task.query,
        )),
    }
}

/// The outcome of `step` from inside a job: a further job's I/O is done now, on this thread.
fn finish_here(step: Step) -> Outcome {
    match step {
        Step::Done(outcome) => outcome,
        Step::Job(job) => job.run(),
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
