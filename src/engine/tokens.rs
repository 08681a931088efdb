//! The access token of a login, for backends that call APIs themselves
//! (`sesame_pass_access_token on`): kept beside the session at login, handed to the backend,
//! refreshed (ProConnect), revoked at logout (RFC 7009).
//!
//! How long it is kept depends on the federation:
//! - FranceConnect (and every provider but ProConnect): its tokens live 60 seconds and come
//!   without refresh token, so the token is handed over once, on the first request after the
//!   login at a location that passes it, and taken away from Redis by that request (GETDEL:
//!   of two requests racing for it, on any worker or server, exactly one gets it). Never kept
//!   past its `expires_in`.
//! - ProConnect: tokens live an hour and come with a refresh token, for ProConnect resource
//!   servers. The token is kept for its lifetime and handed to every request at such a
//!   location; once expired, the request's job refreshes it with the refresh token (bounded by
//!   `http_timeout`, holding a provider slot), and it is kept while the session lives.
//!
//! Nothing here logs a token: log lines name the user, the provider and the outcome.

use std::sync::Arc;

use crate::engine::{Outcome, Request, Step};
use crate::federation::Federation;
use crate::identity::{HandedToken, Identity};
use crate::log::{emit, LogLevel};
use crate::oidc::{AccessGrant, TokenKind};
use crate::session::{now_unix, SessionId};

use super::failures::log_safe;
use super::{make_job, Inner, Provider, Task};

/// How long a login's token is kept (module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keeping {
    /// Handed over once, then gone.
    Once,
    /// Handed to every request while valid, refreshed when expired.
    ForLifetime,
}

pub(crate) fn keeping(federation: Federation) -> Keeping {
    match federation {
        Federation::ProConnect => Keeping::ForLifetime,
        _ => Keeping::Once,
    }
}

/// How often a request that found another one refreshing the token looks for its result.
const REFRESH_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// A token this close to its expiry is refreshed rather than handed over: the backend needs
/// time to use it.
const REFRESH_MARGIN_SECS: u64 = 10;

/// At login: until when `grant` is kept for a session that ends at `session_expires` (None:
/// not kept, it is already expired).
pub(crate) fn kept_until(
    provider: &Provider,
    grant: &AccessGrant,
    session_expires: u64,
    now: u64,
) -> Option<u64> {
    let until = match keeping(provider.cfg.settings.federation) {
        Keeping::ForLifetime if grant.refresh_token.is_some() => session_expires,
        Keeping::ForLifetime | Keeping::Once => grant.expires_at,
    };
    let until = until.min(session_expires);
    (until > now).then_some(until)
}

/// Blocking, at login: keeps `grant` beside the new session until `until`. A failure only
/// costs the hand-off: the login goes on.
pub(crate) fn keep(
    inner: &Inner,
    provider: &Provider,
    session: &SessionId,
    grant: &AccessGrant,
    until: u64,
    user: &str,
    client: &str,
) {
    let ttl = until.saturating_sub(now_unix()).max(1);
    if let Err(e) = inner.sessions.keep_tokens(session, grant, ttl) {
        emit(
            LogLevel::Warn,
            &format!(
                "sesame: provider \"{}\": the access token of user {user} could not be kept ({e}); its backend will not receive it [client {}]",
                provider.name(),
                log_safe(client)
            ),
        );
    }
}

pub(crate) struct HandOffTask {
    pub provider: usize,
    pub session: SessionId,
    /// The identity the request is allowed with.
    pub identity: Identity,
    pub client_addr: String,
    /// `Session::token_until`: a refreshed token is kept until then.
    pub token_until: u64,
}

/// An allowed request at a location that passes the token: a job reads (or takes) it when the
/// session still keeps one, else the request goes through as it is.
pub(crate) fn hand_off(
    inner: &Arc<Inner>,
    index: usize,
    session: &SessionId,
    token_until: u64,
    allowed: Step,
    req: &Request<'_>,
) -> Step {
    hand_off_here(inner, index, session, token_until, allowed, req.client_addr)
}

/// [`hand_off`] for a request already in a job (its client address owned).
pub(crate) fn hand_off_here(
    inner: &Arc<Inner>,
    index: usize,
    session: &SessionId,
    token_until: u64,
    allowed: Step,
    client_addr: &str,
) -> Step {
    let Step::Done(Outcome::Allow(identity)) = allowed else {
        return allowed;
    };
    if token_until <= now_unix() {
        return Step::Done(Outcome::Allow(identity));
    }
    let task = HandOffTask {
        provider: index,
        session: session.clone(),
        identity,
        client_addr: client_addr.to_owned(),
        token_until,
    };
    make_job(inner, Task::HandOff(Box::new(task)))
}

fn handed(grant: &AccessGrant) -> HandedToken {
    HandedToken {
        token: grant.access_token.clone(),
        expires: grant.expires_at.to_string(),
        scope: grant.scope.clone(),
    }
}

/// Blocking: the identity with the session's kept token, when there is one to hand over.
pub(crate) fn run_hand_off(inner: &Inner, task: HandOffTask) -> Outcome {
    let provider = &inner.providers[task.provider];
    let user = task.identity.user_key().to_owned();
    let now = now_unix();
    let found = match keeping(provider.cfg.settings.federation) {
        Keeping::Once => inner.sessions.take_tokens(&task.session),
        Keeping::ForLifetime => inner.sessions.read_tokens(&task.session),
    };
    let grant = match found {
        Ok(Some(grant)) => grant,
        Ok(None) => return Outcome::Allow(task.identity),
        Err(e) => {
            emit(
                LogLevel::Warn,
                &format!(
                    "sesame: provider \"{}\": the kept access token of user {user} could not be read ({e}); the request goes on without it [client {}]",
                    provider.name(),
                    log_safe(&task.client_addr)
                ),
            );
            return Outcome::Allow(task.identity);
        }
    };
    if grant.expires_at > now.saturating_add(REFRESH_MARGIN_SECS) {
        return Outcome::Allow(task.identity.with_access(handed(&grant)));
    }
    if grant.expires_at > now && grant.refresh_token.is_none() {
        return Outcome::Allow(task.identity.with_access(handed(&grant)));
    }
    match refreshed(inner, provider, &task, &grant, &user) {
        Some(fresh) => Outcome::Allow(task.identity.with_access(handed(&fresh))),
        None => Outcome::Allow(task.identity),
    }
}

/// Blocking: a fresh grant for an expired one that has a refresh token, kept in its place.
fn refreshed(
    inner: &Inner,
    provider: &Provider,
    task: &HandOffTask,
    grant: &AccessGrant,
    user: &str,
) -> Option<AccessGrant> {
    let refresh_token = grant.refresh_token.as_deref()?;
    let client = log_safe(&task.client_addr);
    // A refresh is a provider exchange: it holds a provider slot like a login (this job is a
    // session read, which takes none), and is not tried against a provider failing right now.
    if provider.client.recent_failure().is_some() {
        return None;
    }
    // One refresh at a time per session, across workers and servers: the others wait for its
    // token (bounded by the provider's http_timeout) rather than present the same refresh token.
    let timeout = provider.cfg.settings.http_timeout;
    let claim_ttl = timeout.as_secs().saturating_add(2);
    match inner.sessions.claim_refresh(&task.session, claim_ttl) {
        Ok(true) => {}
        Ok(false) => return refreshed_by_another(inner, provider, task, grant, user, timeout),
        // Without Redis for the claim there is none for the token either: the refresh below
        // still runs, and its result may not be kept.
        Err(_) => {}
    }
    let fresh = refresh_claimed(inner, provider, task, refresh_token, user);
    if let Err(e) = inner.sessions.release_refresh(&task.session) {
        emit(
            LogLevel::Warn,
            &format!(
                "sesame: provider \"{}\": the refresh claim of user {user} could not be released ({e}); it lapses by itself in {claim_ttl}s [client {client}]",
                provider.name()
            ),
        );
    }
    fresh
}

/// Blocking: another request holds the refresh claim; the token it keeps once refreshed, read
/// every [`REFRESH_POLL`] until `timeout`, else none (the request goes on without it).
fn refreshed_by_another(
    inner: &Inner,
    provider: &Provider,
    task: &HandOffTask,
    expired: &AccessGrant,
    user: &str,
    timeout: std::time::Duration,
) -> Option<AccessGrant> {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        std::thread::sleep(REFRESH_POLL);
        match inner.sessions.read_tokens(&task.session) {
            Ok(Some(kept)) if kept.access_token != expired.access_token => return Some(kept),
            Ok(Some(_)) => {}
            // Logged out meanwhile, or Redis gone: nothing to hand over.
            Ok(None) | Err(_) => return None,
        }
    }
    emit(
        LogLevel::Warn,
        &format!(
            "sesame: provider \"{}\": the access token of user {user} was being refreshed by another request that did not finish within {}s; this request goes on without it [client {}]",
            provider.name(),
            timeout.as_secs(),
            log_safe(&task.client_addr)
        ),
    );
    None
}

/// Blocking: the refresh itself, once this request holds the claim.
fn refresh_claimed(
    inner: &Inner,
    provider: &Provider,
    task: &HandOffTask,
    refresh_token: &str,
    user: &str,
) -> Option<AccessGrant> {
    let client = log_safe(&task.client_addr);
    let Some(_slot) = inner.slots.try_take() else {
        emit(
            LogLevel::Warn,
            &format!(
                "sesame: provider \"{}\": the access token of user {user} was not refreshed (every provider slot was busy); the request goes on without it [client {client}]",
                provider.name()
            ),
        );
        return None;
    };
    let fresh = match provider.client.refresh(refresh_token) {
        Ok(fresh) => fresh,
        Err(e) => {
            emit(
                LogLevel::Warn,
                &format!(
                    "sesame: provider \"{}\": the access token of user {user} could not be refreshed ({}); the request goes on without it [client {client}]",
                    provider.name(),
                    log_safe(&e.to_string())
                ),
            );
            return None;
        }
    };
    let now = now_unix();
    let ttl = task
        .token_until
        .max(fresh.expires_at)
        .saturating_sub(now)
        .max(1);
    match inner.sessions.replace_tokens(&task.session, &fresh, ttl) {
        Ok(true) => {
            emit(
                LogLevel::Info,
                &format!(
                    "sesame: provider \"{}\": access token of user {user} refreshed, valid {}s [client {client}]",
                    provider.name(),
                    fresh.expires_at.saturating_sub(now)
                ),
            );
            Some(fresh)
        }
        // Logged out meanwhile: the new token is no one's.
        Ok(false) => None,
        Err(e) => {
            emit(
                LogLevel::Warn,
                &format!(
                    "sesame: provider \"{}\": the refreshed access token of user {user} could not be kept ({e}) [client {client}]",
                    provider.name()
                ),
            );
            Some(fresh)
        }
    }
}

/// Blocking, at logout: takes the session's kept tokens away and revokes them at the
/// provider's revocation endpoint (RFC 7009) when its discovery lists one. Both tokens are
/// revoked at once, so the whole costs at most one `http_timeout`; a failure is only logged.
pub(crate) fn revoke_at_logout(
    inner: &Inner,
    owner: &Provider,
    session: &SessionId,
    user: &str,
    client: &str,
    may_call_provider: bool,
) {
    let grant = match inner.sessions.take_tokens(session) {
        Ok(Some(grant)) => grant,
        Ok(None) => return,
        Err(e) => {
            emit(
                LogLevel::Warn,
                &format!(
                    "sesame: provider \"{}\": the kept access token of user {user} could not be removed at logout ({e}); it ends with its own lifetime [client {}]",
                    owner.name(),
                    log_safe(client)
                ),
            );
            return;
        }
    };
    let meta = match owner.client.cached_metadata() {
        Some(meta) => meta,
        None if may_call_provider => match owner.client.metadata() {
            Ok(meta) => meta,
            Err(_) => return,
        },
        None => return,
    };
    if meta.revocation_endpoint.is_none() {
        return;
    }
    if !may_call_provider {
        emit(
            LogLevel::Warn,
            &format!(
                "sesame: provider \"{}\": the access token of user {user} was not revoked at logout (every provider slot was busy); it ends with its own lifetime [client {}]",
                owner.name(),
                log_safe(client)
            ),
        );
        return;
    }
    let now = now_unix();
    let mut revocations: Vec<(&str, TokenKind)> = Vec::with_capacity(2);
    if grant.expires_at > now {
        revocations.push((&grant.access_token, TokenKind::Access));
    }
    if let Some(r) = &grant.refresh_token {
        revocations.push((r, TokenKind::Refresh));
    }
    let results: Vec<(TokenKind, Result<bool, crate::oidc::OidcError>)> =
        std::thread::scope(|scope| {
            let running: Vec<_> = revocations
                .iter()
                .map(|(token, kind)| {
                    let meta = &meta;
                    (
                        *kind,
                        scope.spawn(move || owner.client.revoke(meta, token, *kind)),
                    )
                })
                .collect();
            running
                .into_iter()
                .map(|(kind, handle)| {
                    let result = handle.join().unwrap_or_else(|_| {
                        Err(crate::oidc::OidcError::Protocol(
                            "revocation panicked".into(),
                        ))
                    });
                    (kind, result)
                })
                .collect()
        });
    for (kind, result) in results {
        match result {
            Ok(_) => emit(
                LogLevel::Info,
                &format!(
                    "sesame: provider \"{}\": {} of user {user} revoked at logout [client {}]",
                    owner.name(),
                    kind.hint(),
                    log_safe(client)
                ),
            ),
            Err(e) => emit(
                LogLevel::Warn,
                &format!(
                    "sesame: provider \"{}\": {} of user {user} could not be revoked at logout ({}); it ends with its own lifetime [client {}]",
                    owner.name(),
                    kind.hint(),
                    log_safe(&e.to_string()),
                    log_safe(client)
                ),
            ),
        }
    }
}
