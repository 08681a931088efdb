//! The login page on the request path: a navigation without a session at a location with
//! `sesame_login_page` gets the page (no cookie, no Redis: nothing is created by fetching it);
//! its button POSTs back to the same URL with `sesame_login=TOKEN`, and only that POST starts
//! the login. The token is an HMAC of the provider and the URL under the cookie MAC key: a
//! page served by this site for this location is the only place it can come from, and it
//! stays the same for every visitor (the page is cacheable).

use crate::engine::{Outcome, Request};
use crate::pages::login::LOGIN_TOKEN_PARAM;
use crate::pages::LoginPage;
use crate::session::Keys;

use super::{sanitize_return_to, Inner, Provider, RequestInfo};

/// The token of the login page of `provider` at `return_to`.
pub(super) fn token(keys: &Keys, provider: &str, return_to: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&keys.mac) else {
        unreachable!("HMAC accepts keys of any length")
    };
    // The prefix keeps it apart from the session cookie's MAC and the logout confirmation's.
    mac.update(b"sesame login page\0");
    mac.update(provider.as_bytes());
    mac.update(b"\0");
    mac.update(return_to.as_bytes());
    let tag = mac.finalize().into_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&tag[..16])
}

/// `return_to` with the login token appended: where the page's button POSTs.
fn action(keys: &Keys, provider: &str, return_to: &str) -> String {
    let sep = if return_to.contains('?') { '&' } else { '?' };
    format!(
        "{return_to}{sep}{LOGIN_TOKEN_PARAM}={}",
        token(keys, provider, return_to)
    )
}

/// The page of a location (200, or 304 for a browser that holds it already).
pub(crate) fn page(
    inner: &Inner,
    provider: &Provider,
    page: &LoginPage,
    req: &RequestInfo,
) -> Outcome {
    let keys = inner.keys();
    let own = action(keys, provider.name(), &req.return_to);
    let offers: Vec<String> = page
        .offers
        .iter()
        .map(|o| action(keys, &o.provider, &o.path))
        .collect();
    Outcome::Page(page.render(req.lang, &own, &offers, &req.if_none_match))
}

/// For the button's POST (`POST URL?...&sesame_login=TOKEN` with this provider's token for
/// URL, from this site or a typed URL, never another site): the URL the login returns to.
/// None for any other request, which takes the normal path.
pub(crate) fn login_post(keys: &Keys, provider: &Provider, req: &Request<'_>) -> Option<String> {
    if req.method != "POST" || req.sec_fetch_site.trim().eq_ignore_ascii_case("cross-site") {
        return None;
    }
    let (base, value) = req.uri.rsplit_once(&format!("{LOGIN_TOKEN_PARAM}="))?;
    let base = base.strip_suffix('&').or_else(|| base.strip_suffix('?'))?;
    let return_to = sanitize_return_to(base);
    crate::session::ct_eq(value, &token(keys, provider.name(), &return_to)).then_some(return_to)
}
