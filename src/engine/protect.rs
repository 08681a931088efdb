//! Protected locations: serve from the cache, read the session, or start a login.

use std::sync::Arc;

use crate::api::{Outcome, Request, Step};
use crate::claims;
use crate::oidc::{AuthParams, ProviderMetadata};
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
pub(crate) fn identity_of(provider: &Provider, session: &Session) -> crate::api::Identity {
    claims::identity(
        provider.name(),
        &session.issuer,
        &session.sub,
        &session.acr,
        &session.claims,
        &provider.cfg.remote_user_claim,
    )
}

pub(crate) fn begin(inner: &Arc<Inner>, index: usize, req: &Request<'_>) -> Step {
    let provider = &inner.providers[index];
    let keys = inner.keys();
    let session = cookie_value(req.cookie, &provider.cookies.session)
        .into_iter()
        .find_map(|v| SessionId::from_cookie(v, keys));
    if let Some(id) = &session {
        // The hot path: a valid cookie and a cached session cost no I/O and no copies.
        if let Some(s) = inner.sessions.cached(id, now_unix()) {
            if s.provider == provider.name() {
                return Step::Done(Outcome::Allow(identity_of(provider, &s)));
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
    match provider.client.cached_metadata() {
        Some(meta) => Step::Done(redirect_to_provider(inner, provider, &meta, &info)),
        None => make_job(
            inner,
            Task::StartLogin {
                provider: index,
                req: info,
            },
        ),
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

pub(crate) fn run(inner: &Inner, task: ProtectTask) -> Outcome {
    let provider = &inner.providers[task.provider];
    let now = now_unix();
    match inner.sessions.load(&task.session, now) {
        Err(e) => Outcome::Page(failures::store_down(provider, &task.req.client_addr, &e)),
        Ok(Some(s)) if s.provider == provider.name() => Outcome::Allow(identity_of(provider, &s)),
        // Expired, unknown, or a session of another provider: log in with this one.
        Ok(_) => {
            if task.req.navigable {
                run_start_login(inner, task.provider, &task.req)
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
