//! Where Sesame sends the browser: the return path after login (the request's own URI) and the
//! `logout_redirect` a provider block names.

use crate::directives::local_path::is_safe_local_path;

/// Whatever the request's URI, the return path kept is a local path of this origin: one
/// leading `/` then no `/` or `\`, visible ASCII only, and so after any number of
/// percent-decodings; and what is accepted is kept as it is.
pub fn return_to(data: &[u8]) {
    let uri = String::from_utf8_lossy(data);
    let kept = crate::engine::sanitize_return_to(&uri);
    assert!(
        kept == "/" || kept == uri,
        "return_to rewritten: {uri:?} -> {kept:?}"
    );
    assert!(is_local(&kept), "return_to {kept:?} leaves the origin");
    assert!(is_safe_local_path(&kept));
    // The same rule holds `logout_redirect` at config time.
    let mut builder = crate::ConfigBuilder::new();
    let accepted = builder.add_provider("fc").is_ok()
        && builder.set_provider("fc", "logout_redirect", &uri).is_ok();
    if accepted {
        assert!(is_local(uri.trim()), "logout_redirect {uri:?} accepted");
    }
}

/// The independent statement of "local": visible ASCII as received; then, at every depth of
/// percent-decoding, no control character, a leading `/` that is not `//` or `/\`, and a
/// browser resolving it against `https://app.example/` stays on that origin.
fn is_local(path: &str) -> bool {
    if path.is_empty() || !path.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let Ok(base) = url::Url::parse("https://app.example/") else {
        return false;
    };
    let mut current = path.as_bytes().to_vec();
    for _ in 0..8 {
        if current.iter().any(|&b| b < b' ' || b == 0x7f) {
            return false;
        }
        let text = String::from_utf8_lossy(&current).into_owned();
        if !text.starts_with('/') || text.starts_with("//") || text.starts_with("/\\") {
            return false;
        }
        if !base.join(&text).is_ok_and(|u| u.origin() == base.origin()) {
            return false;
        }
        let decoded: Vec<u8> = percent_encoding::percent_decode(&current).collect();
        if decoded == current {
            return true;
        }
        current = decoded;
    }
    true
}
