//! The redirect_uri endpoint: match the state against the browser's pending logins, handle
//! provider errors, then (in the job) burn the state, redeem the code, create the session.

use std::sync::Arc;

use crate::claims::user_key;
use crate::engine::{Outcome, Request, Step};
use crate::log::emit;
use crate::log::LogLevel;
use crate::oidc::{AuthParams, OidcClient, OidcError};
use crate::session::{
    cookie_value, now_unix, LoginState, PendingLogin, Session, SessionId, LOGIN_STATE_MAX_AGE,
};

use super::failures::{self, with_cookies};
use super::{make_job, Inner, Provider};

/// Longest authorization code accepted. FranceConnect and ProConnect (oidc-provider) hand out
/// 43 characters of base64url; other providers' codes reach a few hundred characters (JWT-like
/// codes with dots, Google's `4/...`); 2048 leaves room for all of them.
pub(crate) const MAX_CODE_LEN: usize = 2048;

/// A code some provider could have issued: 1 to [`MAX_CODE_LEN`] characters of base64url,
/// base64 or the URL-unreserved set (RFC 3986 §2.3). Anything else is refused in `begin`.
pub(crate) fn is_plausible_code(code: &str) -> bool {
    (1..=MAX_CODE_LEN).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
}

pub(crate) struct CallbackTask {
    provider: usize,
    code: String,
    pending: Box<PendingLogin>,
    /// Set-Cookie for the login cookie without the entry just used.
    login_cookie: String,
    client_addr: String,
    /// The session cookie this browser already holds (a step-up, or a second login): that
    /// session ends when the new one is created.
    previous: Option<SessionId>,
    /// The callback carried RFC 9207's `iss` (already checked); when not, the job checks that
    /// the provider does not advertise it.
    iss_sent: bool,
}

impl CallbackTask {
    pub(crate) fn provider(&self) -> usize {
        self.provider
    }

    pub(crate) fn client_addr(&self) -> &str {
        &self.client_addr
    }
}

fn login_cookie_after(inner: &Inner, provider: &Provider, login: &mut LoginState) -> String {
    if login.is_empty() {
        provider.cookies.clear(&provider.cookies.login)
    } else {
        provider.cookies.set(
            &provider.cookies.login,
            &login.seal(inner.keys()),
            Some(LOGIN_STATE_MAX_AGE),
        )
    }
}

pub(crate) fn begin(inner: &Arc<Inner>, index: usize, req: &Request<'_>, query: &str) -> Step {
    let step = begin_callback(inner, index, req, query);
    if let Step::Done(outcome) = &step {
        super::audit::failed(&inner.providers[index], req.client_addr, outcome);
    }
    step
}

fn begin_callback(inner: &Arc<Inner>, index: usize, req: &Request<'_>, query: &str) -> Step {
    let provider = &inner.providers[index];
    let cb = OidcClient::parse_callback(query);
    let now = now_unix();
    let values = cookie_value(req.cookie, &provider.cookies.login);
    let mut login = LoginState::from_cookies(&values, inner.keys(), now);
    let pending = cb
        .state
        .as_deref()
        .and_then(|state| login.take(provider.name(), state));
    let Some(pending) = pending else {
        let detail = match (&cb.error, values.is_empty()) {
            (Some(e), _) => format!(" (the callback carried error={})", failures::log_safe(e)),
            (None, true) => " (no login cookie in this request)".to_owned(),
            (None, false) => String::new(),
        };
        return Step::Done(Outcome::Page(failures::state_mismatch(
            provider,
            req.client_addr,
            &detail,
        )));
    };
    let login_cookie = login_cookie_after(inner, provider, &mut login);
    match provider.client.check_callback(&cb) {
        Ok(code) if !is_plausible_code(code) => {
            // Refused before any job: no Redis write, no token request with the site's
            // credentials for a code no provider could have issued.
            let e = OidcError::BadCallback(format!(
                "malformed code ({} characters; expected 1 to {MAX_CODE_LEN} of A-Z a-z 0-9 - . _ ~ + / =)",
                code.chars().count()
            ));
            let page = failures::bad_callback(provider, req.client_addr, &e);
            Step::Done(with_cookies(page, vec![login_cookie]))
        }
        Ok(code) => make_job(
            inner,
            super::Task::Callback(CallbackTask {
                provider: index,
                code: code.to_owned(),
                pending: Box::new(pending),
                login_cookie,
                client_addr: req.client_addr.to_owned(),
                previous: cookie_value(req.cookie, &provider.cookies.session)
                    .into_iter()
                    .find_map(|v| SessionId::from_cookie(v, inner.keys())),
                iss_sent: cb.iss.is_some(),
            }),
        ),
        Err(OidcError::ProviderError { error, .. })
            if error == "login_required" && pending.options.prompt.as_deref() == Some("none") =>
        {
            // Silent SSO found no ProConnect session: fall back to an interactive login, once
            // (the new attempt carries no prompt=none, so it cannot loop).
            emit(
                LogLevel::Info,
                &format!(
                    "sesame: provider \"{}\": silent login found no provider session (login_required); falling back to an interactive login [client {}]",
                    provider.name(),
                    failures::log_safe(req.client_addr)
                ),
            );
            let mut options = pending.options.clone();
            options.prompt = None;
            let task = super::protect::StartLoginWith {
                provider: index,
                login,
                return_to: pending.return_to.clone(),
                client_addr: req.client_addr.to_owned(),
                options,
                expect_sub: pending.expect_sub.clone(),
                cross_site: pending.cross_site,
            };
            match provider.client.cached_metadata() {
                Some(meta) => {
                    Step::Done(super::protect::redirect_with(inner, provider, &meta, task))
                }
                None => make_job(inner, super::Task::StartLoginWith(Box::new(task))),
            }
        }
        Err(OidcError::ProviderError { error, description }) => {
            let page = failures::provider_error(
                provider,
                req.client_addr,
                &error,
                description.as_deref(),
                &pending.return_to,
            );
            Step::Done(with_cookies(page, vec![login_cookie]))
        }
        Err(e) => {
            let page = failures::bad_callback(provider, req.client_addr, &e);
            Step::Done(with_cookies(page, vec![login_cookie]))
        }
    }
}

pub(crate) fn run(inner: &Inner, task: CallbackTask) -> Outcome {
    let provider = &inner.providers[task.provider];
    let client = task.client_addr.clone();
    let outcome = complete(inner, task);
    super::audit::failed(provider, &client, &outcome);
    outcome
}

fn complete(inner: &Inner, task: CallbackTask) -> Outcome {
    let provider = &inner.providers[task.provider];
    let client = task.client_addr.as_str();
    let cookies = vec![task.login_cookie.clone()];
    // Single use across every worker and server sharing this Redis: a replayed callback URL
    // (browser history, leaked referrer) fails here even if its cookie were copied too.
    match inner.sessions.mark_state_used(&task.pending.state) {
        Err(e) => return with_cookies(failures::store_down(provider, client, &e), cookies),
        Ok(false) => {
            let page = failures::state_mismatch(provider, client, " (this state was already used)");
            return with_cookies(page, cookies);
        }
        Ok(true) => {}
    }
    if !task.iss_sent {
        if let Err(e) = provider.client.check_iss_absence() {
            let page = match e {
                OidcError::BadCallback(_) => failures::bad_callback(provider, client, &e),
                other => failures::provider_unavailable(provider, client, &other),
            };
            return with_cookies(page, cookies);
        }
    }
    let params = AuthParams {
        state: task.pending.state.clone(),
        nonce: task.pending.nonce.clone(),
        code_verifier: task.pending.code_verifier.clone(),
    };
    let mut result = match provider.client.complete_login(&task.code, &params) {
        Ok(r) => r,
        Err(e) => {
            let page = failures::login_failed(provider, client, &e, &task.pending.return_to);
            return with_cookies(page, cookies);
        }
    };
    // Before any rule reads them: the policy and the backend then see the same strings.
    let scrubbed = crate::claims::scrub_controls(&mut result.claims);
    if !scrubbed.is_empty() {
        emit(
            LogLevel::Warn,
            &format!(
                "sesame: provider \"{}\": control characters replaced by U+FFFD in claim(s) {} of user {} [client {}]",
                provider.name(),
                failures::log_safe(&scrubbed.join(", ")),
                user_key(&provider.cfg.settings.issuer, &result.sub),
                failures::log_safe(client)
            ),
        );
    }
    if let Some(expected) = &task.pending.expect_sub {
        if *expected != result.sub {
            let page = failures::identity_changed(provider, client, &task.pending.return_to);
            return with_cookies(page, cookies);
        }
    }
    let federation = provider.cfg.settings.federation;
    // What this login asked: the location's sesame_acr, else the provider's acr_values.
    let asked = crate::federation::login_asked_acr(
        federation,
        &task.pending.options.acr,
        &provider.cfg.settings.acr_values,
    );
    if !crate::federation::acr_satisfies(federation, asked, &result.acr) {
        let page = failures::level_refused(
            provider,
            client,
            &format!(
                "acr {} is not among the values this location asked for ({})",
                failures::log_safe(&result.acr),
                asked.join(" ")
            ),
            &task.pending.return_to,
        );
        return with_cookies(page, cookies);
    }
    if crate::federation::asks_mfa(asked)
        && crate::federation::amr_has_second_factor(result.claims.get("amr")) == Some(false)
    {
        let page = failures::level_refused(
            provider,
            client,
            &format!(
                "acr {} claims multi-factor but amr {} shows a single factor",
                failures::log_safe(&result.acr),
                failures::log_safe(
                    &result
                        .claims
                        .get("amr")
                        .map(|v| v.to_string())
                        .unwrap_or_default()
                )
            ),
            &task.pending.return_to,
        );
        return with_cookies(page, cookies);
    }
    // Stored whatever this login asked: a later location that requires MFA checks it
    // (federation::level_met), so an MFA acr with a single-factor amr obtained elsewhere never
    // opens it.
    let mfa = crate::federation::proves_mfa(&result.acr, result.claims.get("amr"));
    let now = now_unix();
    // OIDC Core §2: auth_time is when the user authenticated; never later than now, the login
    // time when the provider does not send it.
    let provider_auth_time = crate::oidc::auth_time(&result.claims);
    let auth_time = provider_auth_time.map_or(now, |t| t.min(now));
    if task.pending.options.prompt.as_deref() == Some("login") {
        let leeway = provider.cfg.settings.leeway.as_secs();
        if let Some(t) = provider_auth_time {
            if t.saturating_add(leeway) < task.pending.created {
                // Asked to re-authenticate, the provider answered with an older authentication:
                // taking it would send the browser back again and again.
                let page = failures::level_refused(
                    provider,
                    client,
                    &format!(
                        "asked prompt=login, but auth_time is {}s before this login started: the provider did not re-authenticate the user",
                        task.pending.created.saturating_sub(t)
                    ),
                    &task.pending.return_to,
                );
                return with_cookies(page, cookies);
            }
        }
    }
    // While the access token lives (60 s at FranceConnect): the data calls, in parallel.
    // Their failures never fail the login; the backend reads why.
    let data = super::data::fetch(provider, &result, client);
    let settings = inner.sessions.settings();
    let expires = now + settings.lifetime.as_secs();
    // Kept only where a location hands it to its backend (`tokens`).
    let kept = result
        .access
        .take()
        .filter(|_| provider.keeps_tokens())
        .and_then(|grant| {
            super::tokens::kept_until(provider, &grant, expires, now).map(|until| (grant, until))
        });
    let session = Session {
        provider: provider.name().to_owned(),
        issuer: provider.cfg.settings.issuer.clone(),
        sub: result.sub,
        acr: result.acr,
        claims: result.claims,
        id_token: result.id_token,
        created: now,
        refreshed: now,
        expires,
        mfa,
        auth_time,
        token_until: kept.as_ref().map_or(0, |(_, until)| *until),
        data,
    };
    let key = user_key(&session.issuer, &session.sub);
    let acr = session.acr.clone();
    // The session this browser held until now (lower level before a step-up, or another login)
    // ends here, in Redis and in this process's cache: its cookie is replaced, and a copy of
    // the old cookie must not keep opening anything.
    if let Some(previous) = &task.previous {
        if let Err(e) = inner.sessions.delete(previous) {
            return with_cookies(failures::store_down(provider, client, &e), cookies);
        }
    }
    let ticket = inner.sessions.cache_ticket();
    match inner.sessions.create(&session, &provider.binding, now) {
        Err(e) => with_cookies(failures::store_down(provider, client, &e), cookies),
        Ok(id) => {
            if let Some((grant, until)) = &kept {
                super::tokens::keep(inner, provider, &id, grant, *until, &key, client);
            }
            // The browser comes straight back with this session: serve it from the cache.
            let identity = super::protect::identity_of(provider, &session);
            // One reference for the error log's line and the audit log's record.
            let reference = crate::pages::new_reference();
            super::audit::succeeded(provider, client, &session, &key, &reference);
            inner
                .sessions
                .remember(ticket, &id, &session, &provider.binding, identity);
            provider.metrics.login_completed(
                provider.index,
                &acr,
                session.claims.get("idp_id").and_then(|v| v.as_str()),
            );
            emit(
                LogLevel::Info,
                &format!(
                    "sesame: provider \"{}\": login of user {key} (acr {}) [ref {reference}, client {}]",
                    provider.name(),
                    failures::log_safe(&acr),
                    failures::log_safe(client)
                ),
            );
            let session_cookie =
                provider
                    .cookies
                    .set(&provider.cookies.session, &id.to_cookie(inner.keys()), None);
            Outcome::Redirect {
                location: task.pending.return_to,
                set_cookies: vec![session_cookie, task.login_cookie],
            }
        }
    }
}
