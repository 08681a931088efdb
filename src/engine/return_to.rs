//! Where the browser goes after login: only a same-origin path, never a way out.
//!
//! Browsers treat `//host` and `/\host` as another origin, and some servers and frameworks
//! decode `%2F`/`%5C` before routing, so the checks run on the raw value and again after
//! percent-decoding (repeatedly, for double encoding).

/// Longest return path kept; longer ones are dropped rather than carried in a cookie.
const MAX_LEN: usize = 2048;

fn leading_is_safe(bytes: &[u8]) -> bool {
    bytes.first() == Some(&b'/') && !matches!(bytes.get(1), Some(b'/') | Some(b'\\'))
}

fn has_control(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b < 0x20 || b == 0x7f)
}

/// A path (+ query) that stays on this origin: one leading `/`, not `//` or `/\`, visible ASCII
/// only, and still so after percent-decoding.
pub fn is_safe_local_path(path: &str) -> bool {
    if path.is_empty() || path.len() > MAX_LEN {
        return false;
    }
    // Raw: visible ASCII only (no spaces, no control chars, no raw UTF-8 in a Location header).
    if !path.bytes().all(|b| (0x21..=0x7e).contains(&b)) || !leading_is_safe(path.as_bytes()) {
        return false;
    }
    let mut current: Vec<u8> = path.as_bytes().to_vec();
    for _ in 0..4 {
        let decoded: Vec<u8> = percent_encoding::percent_decode(&current).collect();
        if has_control(&decoded) || !leading_is_safe(&decoded) {
            return false;
        }
        if decoded == current {
            return true;
        }
        current = decoded;
    }
    // Still changing after four rounds of decoding: nobody links like that honestly.
    false
}

/// The request's own path+query if safe, else `/`.
pub fn sanitize_return_to(uri: &str) -> String {
    if is_safe_local_path(uri) {
        uri.to_owned()
    } else {
        "/".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_keeps_ordinary_paths() {
        for ok in [
            "/",
            "/private/index.php",
            "/a/b?x=1&y=%C3%A9",
            "/search?q=%2F%2Fnot-a-host",
            "/a//b",
            "/%7Euser",
        ] {
            assert_eq!(sanitize_return_to(ok), ok, "{ok}");
        }
    }

    #[test]
    fn return_to_rejects_other_origins_and_tricks() {
        for bad in [
            "//evil.example",
            "//evil.example/path",
            "/\\evil.example",
            "/%2F%2Fevil.example",
            "/%2fevil.example",
            "%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "%5Cevil",
            "/%252F%252Fevil.example",
            "/%25252F%25252Fevil.example",
            "https://evil.example",
            "http:/evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
            "/a\r\nSet-Cookie: x=1",
            "/a%0d%0aSet-Cookie:%20x=1",
            "/a%00b",
            "/%09/evil.example",
            "/a b",
            "/é",
            "\\\\evil.example",
        ] {
            assert_eq!(sanitize_return_to(bad), "/", "{bad:?}");
        }
        assert_eq!(
            sanitize_return_to(&format!("/{}", "a".repeat(MAX_LEN))),
            "/"
        );
    }
}
