//! A path that stays on this origin: what `logout_redirect` accepts and where the browser may
//! return after login.
//!
//! Browsers treat `//host` and `/\host` as another origin, and some servers and frameworks
//! decode `%2F`/`%5C` before routing, so the checks run on the raw value and again after
//! percent-decoding (repeatedly, for double encoding).

/// Longest return path kept; longer ones are dropped rather than carried in a cookie.
pub(crate) const MAX_LEN: usize = 2048;

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
