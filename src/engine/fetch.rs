//! What kind of request this is, from the headers browsers send (Fetch Metadata, `Accept`,
//! `X-Requested-With`, `Origin`, `Referer`): a top-level page navigation that may be redirected
//! to the provider, or a script's request that must get a 401 it can read; a request started
//! by this site, or by another one. docs/directives.md (`sesame_unauth_action`, `sesame_logout`)
//! states these rules word for word; change both together.

use crate::engine::Request;

/// True for a top-level page navigation, the only kind of request Sesame redirects to the
/// provider. Any one of these makes it a non-navigation:
/// - a method other than GET or HEAD;
/// - `X-Requested-With: XMLHttpRequest` (any case);
/// - `Sec-Fetch-Mode` present and not `navigate` (fetch(), XHR, images, scripts...);
/// - `Sec-Fetch-Dest` present and not `document` (a frame: providers refuse to be framed);
/// - an `Accept` that prefers JSON (see [`accept_prefers_json`]).
pub(crate) fn is_navigation(req: &Request<'_>) -> bool {
    let method_ok = req.method == "GET" || req.method == "HEAD";
    let xhr = req
        .x_requested_with
        .trim()
        .eq_ignore_ascii_case("XMLHttpRequest");
    let mode = req.sec_fetch_mode.trim();
    let dest = req.sec_fetch_dest.trim();
    method_ok
        && !xhr
        && (mode.is_empty() || mode.eq_ignore_ascii_case("navigate"))
        && (dest.is_empty() || dest.eq_ignore_ascii_case("document"))
        && !accept_prefers_json(req.accept)
}

/// `Accept` prefers JSON when it lists a JSON type (`application/json` or any `application/*+json`)
/// with a quality above that of every HTML type it lists (`text/html`, `application/xhtml+xml`;
/// 0 when it lists none). Wildcards (`*/*`, `text/*`) count for neither side, so a browser's
/// navigation (`text/html,...,*/*;q=0.8`) is never taken for JSON, and
/// `application/json, text/plain, */*` is.
pub(crate) fn accept_prefers_json(accept: &str) -> bool {
    let (mut json, mut html) = (0u16, 0u16);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1000, |(_, v)| crate::http::quality(v.trim()));
        let is_json = media == "application/json"
            || (media.starts_with("application/") && media.ends_with("+json"));
        if is_json {
            json = json.max(q);
        } else if media == "text/html" || media == "application/xhtml+xml" {
            html = html.max(q);
        }
    }
    json > 0 && json > html
}

/// `scheme://host` of the request, as the browser names this origin.
fn own_origin(req: &Request<'_>) -> String {
    format!("{}://{}", req.scheme, req.host)
}

/// `scheme://host[:port]` of an absolute URL (lower case), or None.
fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url.trim()).ok()?;
    let host = u.host_str()?;
    Some(match u.port() {
        Some(p) => format!("{}://{host}:{p}", u.scheme()),
        None => format!("{}://{host}", u.scheme()),
    })
}

fn same_origin(req: &Request<'_>, url: &str) -> bool {
    let Some(theirs) = origin_of(url) else {
        return false;
    };
    // Parse our own origin the same way (default ports, case) before comparing.
    origin_of(&own_origin(req)).is_some_and(|ours| ours == theirs)
}

/// True when the browser says this request was started by this site: `Sec-Fetch-Site` is
/// `same-origin`, `same-site` (a sibling host of the same registrable domain) or `none` (typed
/// URL, bookmark). Browsers that send no `Sec-Fetch-Site` (before 2020-2023) are trusted only
/// with an `Origin` or `Referer` of exactly this origin: a page can suppress its Referer, so a
/// missing one proves nothing and counts as another site.
pub(crate) fn started_here(req: &Request<'_>) -> bool {
    let site = req.sec_fetch_site.trim();
    if !site.is_empty() {
        return ["same-origin", "same-site", "none"]
            .iter()
            .any(|s| site.eq_ignore_ascii_case(s));
    }
    let origin = req.origin.trim();
    if !origin.is_empty() {
        // "null": a sandboxed or privacy-sensitive context, never this site.
        return origin != "null" && same_origin(req, origin);
    }
    !req.referer.trim().is_empty() && same_origin(req, req.referer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>() -> Request<'a> {
        Request {
            method: "GET",
            scheme: "https",
            host: "app.example",
            uri: "/x",
            ..Request::default()
        }
    }

    #[test]
    fn browser_page_loads_are_navigations() {
        let chrome = Request {
            accept: "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
            sec_fetch_mode: "navigate",
            sec_fetch_dest: "document",
            sec_fetch_site: "cross-site",
            ..get()
        };
        assert!(is_navigation(&chrome));
        assert!(
            is_navigation(&get()),
            "no headers at all (curl, old browsers)"
        );
        assert!(is_navigation(&Request {
            method: "HEAD",
            ..get()
        }));
    }

    #[test]
    fn script_requests_are_not_navigations() {
        for req in [
            Request {
                x_requested_with: "xmlhttprequest",
                ..get()
            },
            Request {
                sec_fetch_mode: "cors",
                ..get()
            },
            Request {
                sec_fetch_mode: "no-cors",
                ..get()
            },
            Request {
                sec_fetch_mode: "navigate",
                sec_fetch_dest: "iframe",
                ..get()
            },
            Request {
                accept: "application/json",
                ..get()
            },
            Request {
                method: "POST",
                ..get()
            },
            Request {
                method: "DELETE",
                ..get()
            },
        ] {
            assert!(!is_navigation(&req), "{req:?}");
        }
    }

    #[test]
    fn accept_prefers_json_only_over_listed_html() {
        assert!(accept_prefers_json("application/json"));
        assert!(accept_prefers_json("application/json, text/plain, */*"));
        assert!(accept_prefers_json(
            "application/json, text/javascript, */*; q=0.01"
        ));
        assert!(accept_prefers_json("application/problem+json"));
        assert!(accept_prefers_json("text/html;q=0.5, application/json"));
        assert!(!accept_prefers_json("text/html, application/json;q=0.9"));
        assert!(!accept_prefers_json(
            "application/json;q=0.5, text/html;q=0.5"
        ));
        assert!(!accept_prefers_json("*/*"));
        assert!(!accept_prefers_json(""));
        assert!(!accept_prefers_json("application/json;q=0"));
        assert!(!accept_prefers_json("application/json;q=bogus"));
        assert!(!accept_prefers_json("text/html,*/*;q=0.8"));
    }

    #[test]
    fn only_this_origin_or_a_typed_url_counts_as_started_here() {
        let with = |site, origin, referer| Request {
            sec_fetch_site: site,
            origin,
            referer,
            ..get()
        };
        assert!(started_here(&with("same-origin", "", "")));
        assert!(started_here(&with("same-site", "", "")));
        assert!(started_here(&with("none", "", "")));
        assert!(!started_here(&with(
            "cross-site",
            "https://app.example",
            ""
        )));
        // No Fetch Metadata (old browser): Origin, then Referer, must be exactly ours.
        assert!(started_here(&with("", "", "https://app.example/page?a=1")));
        assert!(started_here(&with("", "https://APP.example:443", "")));
        assert!(!started_here(&with("", "", "")));
        assert!(!started_here(&with("", "", "https://evil.example/")));
        assert!(!started_here(&with("", "", "http://app.example/")));
        assert!(!started_here(&with("", "null", "https://app.example/")));
        assert!(!started_here(&with("", "https://app.example.evil", "")));
    }
}
