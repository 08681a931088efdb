//! Small helpers shared by the OIDC steps.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Seconds since the Unix epoch (JWT time claims).
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Equality whose running time does not depend on where the inputs differ (nonce, at_hash).
/// Only the length can leak, which is public for our values.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub(crate) fn b64url_decode(data: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(data).ok()
}

/// Makes a provider-supplied string safe for a log line: control characters escaped, at most
/// `max` characters kept. (HTML escaping for pages is the engine's job.)
pub(crate) fn sanitize(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters: unambiguous in any query.
pub(crate) fn query_encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// `base` with `pairs` appended to its query (keeping a query already present).
pub(crate) fn append_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = base.to_owned();
    let mut sep = if base.contains('?') {
        if base.ends_with('?') || base.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else {
        "?"
    };
    for (k, v) in pairs {
        url.push_str(sep);
        url.push_str(&query_encode(k));
        url.push('=');
        url.push_str(&query_encode(v));
        sep = "&";
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_escapes_control_characters_and_truncates() {
        assert_eq!(sanitize("a\nb\u{1b}[31m", 100), "a\\nb\\u{1b}[31m");
        assert_eq!(sanitize("abcdef", 3), "abc…");
    }

    #[test]
    fn append_query_keeps_an_existing_query() {
        assert_eq!(
            append_query("https://op/auth?tenant=x", &[("a", "b c")]),
            "https://op/auth?tenant=x&a=b%20c"
        );
        assert_eq!(
            append_query("https://op/auth", &[("r", "https://rp/cb")]),
            "https://op/auth?r=https%3A%2F%2Frp%2Fcb"
        );
    }

    #[test]
    fn ct_eq_compares_whole_values() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
