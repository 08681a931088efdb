//! The request headers the core reads besides the Cookie header (pure: no nginx calls, tested by
//! nginx/tests/pure.rs; `bench/cost.rs` builds its request view with it too).

/// The headers the core reads to tell page navigations from scripts' requests and this site
/// from another (`sesame::Request`), lower case, in `Request` order.
pub const FETCH_HEADERS: [&[u8]; 9] = [
    b"accept",
    b"x-requested-with",
    b"sec-fetch-mode",
    b"sec-fetch-site",
    b"sec-fetch-dest",
    b"origin",
    b"referer",
    b"accept-language",
    b"if-none-match",
];

/// The index in [`FETCH_HEADERS`] of a header name (any letter case), or None. Runs for every
/// header of every request: the candidates are picked by length first, and most headers have a
/// length none of these has.
pub fn fetch_header_index(key: &[u8]) -> Option<usize> {
    let candidates: &[usize] = match key.len() {
        6 => &[0, 5],
        16 => &[1],
        14 => &[2, 3, 4],
        7 => &[6],
        15 => &[7],
        13 => &[8],
        _ => &[],
    };
    candidates
        .iter()
        .copied()
        .find(|&i| key.eq_ignore_ascii_case(FETCH_HEADERS[i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_is_the_position_in_the_list_whatever_the_name() {
        let by_position = |key: &[u8]| {
            FETCH_HEADERS
                .iter()
                .position(|name| key.eq_ignore_ascii_case(name))
        };
        let mut names: Vec<Vec<u8>> = FETCH_HEADERS.iter().map(|n| n.to_vec()).collect();
        names.extend(FETCH_HEADERS.iter().map(|n| n.to_ascii_uppercase()));
        for other in [
            "Host",
            "Cookie",
            "User-Agent",
            "Sec-Fetch-User",
            "Sec-Fetch-Xyz",
            "Accept-Encoding",
            "Origin2",
            "Referrer",
            "If-Match",
            "",
            "acceptx",
            "X-Requested-Wit",
        ] {
            names.push(other.as_bytes().to_vec());
        }
        for name in &names {
            assert_eq!(fetch_header_index(name), by_position(name), "{name:?}");
        }
        for (i, name) in FETCH_HEADERS.iter().enumerate() {
            assert_eq!(fetch_header_index(name), Some(i));
        }
    }
}
