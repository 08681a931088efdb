//! Where the browser goes after login: only a same-origin path, never a way out (the check is
//! [`is_safe_local_path`]).

use crate::directives::local_path::is_safe_local_path;
#[cfg(test)]
use crate::directives::local_path::MAX_LEN;

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
