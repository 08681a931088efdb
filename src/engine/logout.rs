//! Logout: end the local session first (so a broken round trip still leaves the user logged
//! out here), then send the browser to the provider's end_session endpoint
//! (docs/federations.md §6), and accept its return only with the state this browser holds.

use std::sync::Arc;

use crate::engine::{Outcome, Request, Step};
use crate::log::emit;
use crate::log::LogLevel;
use crate::session::{
    cookie_value, now_unix, random_token, LogoutState, SessionId, LOGIN_STATE_MAX_AGE,
};

use super::failures::{self, with_cookies};
use super::{fetch, make_job, Inner};
use crate::session::Keys;

pub(crate) struct LogoutTask {
    provider: usize,
    session: SessionId,
    local: bool,
    client_addr: String,
    /// A provider of this configuration keeps access tokens: the session's are revoked
    /// (`tokens::revoke_at_logout`), a provider exchange.
    revoke: bool,
}

impl LogoutTask {
    pub(crate) fn revokes(&self) -> bool {
        self.revoke
    }

    /// No provider slot for the revocation: the kept tokens are only removed.
    pub(crate) fn skip_revocation(&mut self) {
        self.revoke = false;
    }

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
        // Another site's link or form: ask first (a link must not end the user's session here
        // and at the provider); the page's button comes back with the token.
        Some(id) if !may_end(inner.keys(), &id, req) => {
            let action = format!("?{CONFIRM_PARAM}={}", confirm_token(inner.keys(), &id));
            Step::Done(Outcome::Page(crate::pages::confirm_logout(&action)))
        }
        Some(id) => make_job(
            inner,
            super::Task::Logout(LogoutTask {
                provider: index,
                session: id,
                local,
                client_addr: req.client_addr.to_owned(),
                revoke: inner.providers.iter().any(|p| p.keeps_tokens()),
            }),
        ),
        // Nothing to end here: just land on the logout page.
        None => Step::Done(Outcome::Redirect {
            location: provider.cfg.logout_redirect.clone(),
            set_cookies: vec![provider.cookies.clear(&provider.cookies.session)],
        }),
    }
}

/// The query parameter of the confirmation page's POST.
const CONFIRM_PARAM: &str = "sesame_confirm";

/// The confirmation page's token: bound to the session (HMAC with the cookie MAC key; the
/// prefix keeps it apart from the cookie's own MAC, whose input is the bare 32-byte id), so only
/// a page that could read this site's responses in this browser knows it.
fn confirm_token(keys: &Keys, id: &SessionId) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&keys.mac) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(b"sesame logout confirmation\0");
    mac.update(&id.digest());
    let tag = mac.finalize().into_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&tag[..16])
}

/// A logout proceeds at once when this site started it (`fetch::started_here`: a link or form
/// of this site, a typed URL or bookmark), or when it is the confirmation page's POST with the
/// token of this session, from no other site.
fn may_end(keys: &Keys, id: &SessionId, req: &Request<'_>) -> bool {
    if fetch::started_here(req) {
        return true;
    }
    if req.method != "POST" || req.sec_fetch_site.trim().eq_ignore_ascii_case("cross-site") {
        return false;
    }
    let query = super::split_uri(req.uri).1;
    let expected = confirm_token(keys, id);
    form_urlencoded::parse(query.as_bytes())
        .any(|(k, v)| k == CONFIRM_PARAM && crate::session::ct_eq(&v, &expected))
}

pub(crate) fn run(inner: &Inner, task: LogoutTask) -> Outcome {
    let provider = &inner.providers[task.provider];
    let client = task.client_addr.as_str();
    let now = now_unix();
    // A session of any provider of this configuration (they share the cookie), never one
    // bound to a provider configuration this server does not have.
    let session = match inner.sessions.load_with(&task.session, now, |b| {
        inner.provider_of_binding(b).is_some()
    }) {
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
    let Some((binding, session)) = session else {
        return local_landing;
    };
    provider.metrics.logout(provider.index);
    let user = crate::claims::user_key(&session.issuer, &session.sub);
    emit(
        LogLevel::Info,
        &format!(
            "sesame: provider \"{}\": logout of user {user} [client {}]",
            session.provider,
            failures::log_safe(client)
        ),
    );
    // The provider (issuer and client_id) that issued the session.
    let owner = inner.provider_of_binding(&binding);
    if session.token_until > 0 {
        if let Some(owner) = owner {
            super::tokens::revoke_at_logout(
                inner,
                owner,
                &task.session,
                &user,
                client,
                task.revoke,
            );
        }
    }
    if task.local || session.id_token.is_empty() {
        return local_landing;
    }
    // End the session at the provider that issued it.
    let Some(owner) = owner else {
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
