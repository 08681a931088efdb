//! Logout: end the local session first (so a broken round trip still leaves the user logged
//! out here), then send the browser to the provider's end_session endpoint (federations.md §6),
//! and accept its return only with the state this browser holds.

use std::sync::Arc;

use crate::api::{LogLevel, Outcome, Request, Step};
use crate::log::emit;
use crate::session::{
    cookie_value, now_unix, random_token, LogoutState, SessionId, LOGIN_STATE_MAX_AGE,
};

use super::failures::{self, with_cookies};
use super::{make_job, Inner};

pub(crate) struct LogoutTask {
    provider: usize,
    session: SessionId,
    local: bool,
    client_addr: String,
}

impl LogoutTask {
    pub(crate) fn provider(&self) -> usize {
        self.provider
    }

    pub(crate) fn client_addr(&self) -> &str {
        &self.client_addr
    }
}

pub(crate) fn begin(inner: &Arc<Inner>, index: usize, req: &Request<'_>, local: bool) -> Step {
    let provider = &inner.providers[index];
    let session = cookie_value(req.cookie, &provider.cookies.session)
        .into_iter()
        .find_map(|v| SessionId::from_cookie(v, inner.keys()));
    match session {
        Some(id) => make_job(
            inner,
            super::Task::Logout(LogoutTask {
                provider: index,
                session: id,
                local,
                client_addr: req.client_addr.to_owned(),
            }),
        ),
        // Nothing to end here: just land on the logout page.
        None => Step::Done(Outcome::Redirect {
            location: provider.cfg.logout_redirect.clone(),
            set_cookies: vec![provider.cookies.clear(&provider.cookies.session)],
        }),
    }
}

pub(crate) fn run(inner: &Inner, task: LogoutTask) -> Outcome {
    let provider = &inner.providers[task.provider];
    let client = task.client_addr.as_str();
    let now = now_unix();
    let session = match inner.sessions.load(&task.session, now) {
        Ok(s) => s,
        Err(e) => return Outcome::Page(failures::store_down(provider, client, &e)),
    };
    if let Err(e) = inner.sessions.delete(&task.session) {
        return Outcome::Page(failures::store_down(provider, client, &e));
    }
    let mut cookies = vec![provider.cookies.clear(&provider.cookies.session)];
    let local_landing = Outcome::Redirect {
        location: provider.cfg.logout_redirect.clone(),
        set_cookies: cookies.clone(),
    };
    let Some(session) = session else {
        return local_landing;
    };
    emit(
        LogLevel::Info,
        &format!(
            "sesame: provider \"{}\": logout of user {} [client {}]",
            session.provider,
            crate::claims::user_key(&session.issuer, &session.sub),
            failures::log_safe(client)
        ),
    );
    if task.local || session.id_token.is_empty() {
        return local_landing;
    }
    // End the session at the provider that issued it.
    let Some(owner) = inner
        .provider_index(&session.provider)
        .map(|i| &inner.providers[i])
    else {
        return local_landing;
    };
    let meta = match owner.client.metadata() {
        Ok(m) => m,
        Err(e) => {
            emit(
                LogLevel::Warn,
                &format!(
                    "sesame: provider \"{}\": local session ended, but the provider session could not be ended ({}); the user may be logged back in silently [client {}]",
                    owner.name(),
                    failures::log_safe(&e.to_string()),
                    failures::log_safe(client)
                ),
            );
            return local_landing;
        }
    };
    let state = random_token();
    match owner
        .client
        .end_session_url(&meta, &session.id_token, &state)
    {
        Some(url) => {
            let logout = LogoutState {
                provider: owner.name().to_owned(),
                state,
                created: now,
            };
            cookies.push(owner.cookies.set(
                &owner.cookies.logout,
                &logout.seal(inner.keys()),
                Some(LOGIN_STATE_MAX_AGE),
            ));
            Outcome::Redirect {
                location: url,
                set_cookies: cookies,
            }
        }
        None => local_landing,
    }
}

/// The post_logout_redirect_uri path: ours only with a `state` and our logout cookie, so the
/// application's own page at that path keeps working otherwise.
pub(crate) fn begin_return(
    inner: &Arc<Inner>,
    index: usize,
    req: &Request<'_>,
    query: &str,
) -> Option<Step> {
    let provider = &inner.providers[index];
    let state = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())?;
    let values = cookie_value(req.cookie, &provider.cookies.logout);
    if values.is_empty() {
        return None;
    }
    let now = now_unix();
    let matches = values
        .iter()
        .filter_map(|v| LogoutState::open(v, inner.keys(), now))
        .any(|s| s.provider == provider.name() && crate::session::ct_eq(&s.state, &state));
    let cookies = vec![provider.cookies.clear(&provider.cookies.logout)];
    if matches {
        return Some(Step::Done(Outcome::Redirect {
            location: provider.cfg.logout_redirect.clone(),
            set_cookies: cookies,
        }));
    }
    let page = failures::logout_state_mismatch(provider, req.client_addr);
    Some(Step::Done(with_cookies(page, cookies)))
}
