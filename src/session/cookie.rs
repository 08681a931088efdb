//! The session cookie codec and Set-Cookie formatting.
//!
//! `__Host-sesame` = base64url(32 random bytes) "." base64url(HMAC-SHA256(mac_key, id)[..16]).
//! The MAC lets `begin` reject forged or garbled cookies without touching Redis.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::Keys;

type HmacSha256 = Hmac<Sha256>;

const TAG_LEN: usize = 16;

/// A session id: 256 random bits. Never logged, never stored raw in Redis.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId([u8; 32]);

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(..)")
    }
}

/// The cookie MAC, keyed (a copy of the state `Keys` prepared once).
fn mac(keys: &Keys) -> HmacSha256 {
    keys.mac_state.clone()
}

impl SessionId {
    pub fn random() -> SessionId {
        SessionId(super::random_bytes::<32>())
    }

    /// The cookie value: id "." truncated MAC.
    pub fn to_cookie(&self, keys: &Keys) -> String {
        let mut m = mac(keys);
        m.update(&self.0);
        let tag = m.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(self.0),
            URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN])
        )
    }

    /// Parses and authenticates a cookie value (constant-time MAC comparison).
    pub fn from_cookie(value: &str, keys: &Keys) -> Option<SessionId> {
        let (id_part, tag_part) = value.split_once('.')?;
        // Decoded on the stack (this runs on every protected request); the buffers have room
        // for a few extra bytes so that a longer value is measured, then refused.
        let mut id = [0u8; 35];
        let mut tag = [0u8; TAG_LEN + 3];
        let id_len = URL_SAFE_NO_PAD.decode_slice(id_part, &mut id).ok()?;
        let tag_len = URL_SAFE_NO_PAD.decode_slice(tag_part, &mut tag).ok()?;
        if id_len != 32 || tag_len != TAG_LEN {
            return None;
        }
        let id: [u8; 32] = id[..32].try_into().ok()?;
        let mut m = mac(keys);
        m.update(&id);
        m.verify_truncated_left(&tag[..TAG_LEN]).ok()?;
        Some(SessionId(id))
    }

    /// SHA-256 of the id: what the per-process cache is keyed on.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.0).into()
    }

    /// Hex SHA-256 of the id: what Redis is keyed on.
    pub fn digest_hex(&self) -> String {
        hex::encode(self.digest())
    }
}

/// Cookie names and attributes for one provider: `__Host-` + `Secure` when its redirect_uri is
/// https (the `__Host-` prefix is only accepted by browsers on secure cookies).
#[derive(Debug, Clone)]
pub struct CookieNames {
    pub session: String,
    pub login: String,
    pub logout: String,
    pub secure: bool,
}

/// Prefix of every cookie name on https (browsers then refuse the cookie from any other origin).
const HOST_PREFIX: &str = "__Host-";
/// The names of Sesame's cookies, without the `__Host-` prefix: session, login, logout.
const BASE_NAMES: [&str; 3] = ["sesame", "sesame-login", "sesame-logout"];

impl CookieNames {
    pub fn new(secure: bool) -> CookieNames {
        let prefix = if secure { HOST_PREFIX } else { "" };
        let [session, login, logout] = BASE_NAMES.map(|base| format!("{prefix}{base}"));
        CookieNames {
            session,
            login,
            logout,
            secure,
        }
    }

    /// A Set-Cookie value. `max_age` None = browser-session cookie.
    pub fn set(&self, name: &str, value: &str, max_age: Option<u64>) -> String {
        let mut out = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if self.secure {
            out.push_str("; Secure");
        }
        if let Some(age) = max_age {
            out.push_str(&format!("; Max-Age={age}"));
        }
        out
    }

    /// A Set-Cookie value that deletes the cookie.
    pub fn clear(&self, name: &str) -> String {
        self.set(name, "", Some(0))
    }
}

/// Every value of cookie `name` in a Cookie header (several when paths or domains differ).
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Vec<&'a str> {
    cookie_values(header, name).collect()
}

/// [`cookie_value`] as an iterator, for the hot path (nothing allocated).
pub fn cookie_values<'a, 'n>(
    header: &'a str,
    name: &'n str,
) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
    header.split(';').filter_map(move |pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// True for the name of one of Sesame's cookies (session, login, logout), with or without the
/// `__Host-` prefix: whatever a provider's scheme is now or was before a configuration change,
/// a cookie of that name may carry a live session id. Exact and case-sensitive, as cookie names
/// are (and as Sesame reads them).
pub fn is_own_cookie(name: &[u8]) -> bool {
    let base = name.strip_prefix(HOST_PREFIX.as_bytes()).unwrap_or(name);
    BASE_NAMES.iter().any(|b| b.as_bytes() == base)
}

/// The Cookie header without Sesame's own cookies, so that no backend (FastCGI, CGI, mod_php,
/// a proxied app) and no co-hosted code can read a session id it could replay.
///
/// Bytes, not text: the other cookies are forwarded exactly as sent, even when they are not
/// UTF-8. None when there is nothing to remove (no allocation: this runs on every request of a
/// server using Sesame). Else the other pairs as sent, with their separators: never longer than
/// `header` (the C ABI writes it into a buffer of that size), and empty when only Sesame's
/// cookies were there (the caller then drops the header).
pub fn without_own_cookies(header: &[u8]) -> Option<Vec<u8>> {
    if !has_own_cookies(header) {
        return None;
    }
    let mut kept = vec![0; header.len()];
    let len = write_without_own_cookies(header, &mut kept)?;
    kept.truncate(len);
    Some(kept)
}

/// Whether the Cookie header holds one of Sesame's cookies: a scan, no allocation.
pub fn has_own_cookies(header: &[u8]) -> bool {
    header.split(|&b| b == b';').any(is_own_pair)
}

/// [`without_own_cookies`] written into `out` instead (the nginx module writes into the
/// request's pool, the C ABI into its caller's buffer): the length written, or None when `out`
/// is shorter than `header` (the result is never longer). Call it only when
/// [`has_own_cookies`] said yes: otherwise the header is to be forwarded as it is.
pub fn write_without_own_cookies(header: &[u8], out: &mut [u8]) -> Option<usize> {
    let out = out.get_mut(..header.len())?;
    // In bounds: every piece written is at most what it was read from (a pair and the `;`
    // before it, or the first pair trimmed), so `len` never passes what was read of `header`.
    let mut len = 0;
    for pair in header.split(|&b| b == b';') {
        if pair.trim_ascii().is_empty() || is_own_pair(pair) {
            continue;
        }
        let piece = if len == 0 {
            pair.trim_ascii_start()
        } else {
            out[len] = b';';
            len += 1;
            pair
        };
        out[len..len + piece.len()].copy_from_slice(piece);
        len += piece.len();
    }
    Some(out[..len].trim_ascii_end().len())
}

/// Whether one `name=value` pair of a Cookie header is one of Sesame's cookies.
fn is_own_pair(pair: &[u8]) -> bool {
    let name = match pair.iter().position(|&b| b == b'=') {
        Some(eq) => &pair[..eq],
        None => pair,
    };
    is_own_cookie(name.trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::derive(&[9u8; 32])
    }

    #[test]
    fn session_cookie_round_trips() {
        let id = SessionId::random();
        let cookie = id.to_cookie(&keys());
        assert_eq!(SessionId::from_cookie(&cookie, &keys()), Some(id));
    }

    #[test]
    fn cookie_mac_forgery_is_rejected() {
        let id = SessionId::random();
        let cookie = id.to_cookie(&keys());
        let (id_part, tag_part) = cookie.split_once('.').unwrap();
        // Another id with the first id's tag.
        let other = SessionId::random().to_cookie(&keys());
        let other_id = other.split_once('.').unwrap().0;
        assert_eq!(
            SessionId::from_cookie(&format!("{other_id}.{tag_part}"), &keys()),
            None
        );
        // A tag computed under another secret.
        let foreign = id.to_cookie(&Keys::derive(&[10u8; 32]));
        assert_eq!(SessionId::from_cookie(&foreign, &keys()), None);
        // Truncated tag, missing tag, garbage.
        assert_eq!(
            SessionId::from_cookie(&format!("{id_part}.{}", &tag_part[..10]), &keys()),
            None
        );
        assert_eq!(SessionId::from_cookie(id_part, &keys()), None);
        assert_eq!(SessionId::from_cookie("", &keys()), None);
        assert_eq!(SessionId::from_cookie("a.b", &keys()), None);
        // Longer id or tag (valid base64): refused, not truncated.
        let long_id = format!("{}.{tag_part}", URL_SAFE_NO_PAD.encode([7u8; 33]));
        assert_eq!(SessionId::from_cookie(&long_id, &keys()), None);
        let long_tag = format!("{id_part}.{}", URL_SAFE_NO_PAD.encode([7u8; 17]));
        assert_eq!(SessionId::from_cookie(&long_tag, &keys()), None);
    }

    #[test]
    fn digest_hex_is_the_hex_of_digest() {
        let id = SessionId::random();
        assert_eq!(id.digest_hex(), hex::encode(id.digest()));
        assert_eq!(id.digest_hex().len(), 64);
    }

    #[test]
    fn cookie_header_values_are_found_by_exact_name() {
        let header = "a=1; __Host-sesame=xyz; __Host-sesame-login=abc;x=\"q\"";
        assert_eq!(cookie_value(header, "__Host-sesame"), vec!["xyz"]);
        assert_eq!(cookie_value(header, "__Host-sesame-login"), vec!["abc"]);
        assert_eq!(cookie_value(header, "x"), vec!["q"]);
        assert!(cookie_value(header, "sesame").is_empty());
        assert_eq!(
            cookie_values("s=1; t=2; s=\"3\"", "s").collect::<Vec<_>>(),
            vec!["1", "3"]
        );
    }

    #[test]
    fn the_prepared_mac_state_is_the_keyed_hmac() {
        let keys = keys();
        let mut fresh = HmacSha256::new_from_slice(&keys.mac).unwrap();
        let mut prepared = mac(&keys);
        fresh.update(b"id");
        prepared.update(b"id");
        assert_eq!(
            fresh.finalize().into_bytes(),
            prepared.finalize().into_bytes()
        );
    }

    fn stripped(header: &str) -> Option<String> {
        without_own_cookies(header.as_bytes()).map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    #[test]
    fn own_cookies_are_removed_from_the_cookie_header_and_the_app_cookies_kept() {
        let header = "PHPSESSID=abc; __Host-sesame=id.tag;theme=dark ; __Host-sesame-login=s; \
                      sesame-logout=x; sesame=old; app=\"q=1\"";
        assert_eq!(
            stripped(header).as_deref(),
            Some("PHPSESSID=abc;theme=dark ; app=\"q=1\"")
        );
        // Only Sesame's: nothing left, the header is to be dropped.
        assert_eq!(
            stripped(" __Host-sesame=a.b; __Host-sesame-logout=c ").as_deref(),
            Some("")
        );
        // Never longer than what came in, however the pairs were separated.
        let tight = "a;a;a;a;a;a;a;a;a;a;sesame=1;b";
        assert_eq!(stripped(tight).as_deref(), Some("a;a;a;a;a;a;a;a;a;a;b"));
        // The other cookies are forwarded byte for byte, UTF-8 or not.
        assert_eq!(
            without_own_cookies(b"l=caf\xe9; __Host-sesame=x; m=\xff"),
            Some(b"l=caf\xe9; m=\xff".to_vec())
        );
        // A value that merely contains a Sesame name, look-alike names, other cases: kept.
        for unchanged in [
            "",
            "a=1",
            "a=__Host-sesame; b=sesame=1",
            "__Host-sesamex=1; xsesame=2; Sesame=3; __host-sesame=4; sesame-other=5",
        ] {
            assert_eq!(stripped(unchanged), None, "{unchanged}");
        }
    }

    #[test]
    fn the_writer_fills_a_buffer_of_the_header_size_and_refuses_a_shorter_one() {
        let header = b"a=1; __Host-sesame=id.tag; b=2";
        assert!(has_own_cookies(header) && !has_own_cookies(b"a=1; b=2"));
        let mut out = [0u8; 30];
        let len = write_without_own_cookies(header, &mut out).unwrap();
        assert_eq!(&out[..len], b"a=1; b=2");
        assert_eq!(write_without_own_cookies(header, &mut out[..29]), None);
    }

    #[test]
    fn every_cookie_sesame_sets_is_one_it_removes() {
        for secure in [true, false] {
            let names = CookieNames::new(secure);
            for name in [&names.session, &names.login, &names.logout] {
                assert!(is_own_cookie(name.as_bytes()), "{name}");
                assert_eq!(stripped(&format!("a=1; {name}=v")).as_deref(), Some("a=1"));
            }
        }
    }

    #[test]
    fn secure_cookies_get_host_prefix_and_secure_flag() {
        let secure = CookieNames::new(true);
        assert_eq!(secure.session, "__Host-sesame");
        assert_eq!(
            secure.set(&secure.login, "v", Some(600)),
            "__Host-sesame-login=v; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=600"
        );
        let plain = CookieNames::new(false);
        assert_eq!(plain.session, "sesame");
        assert_eq!(
            plain.clear(&plain.session),
            "sesame=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }
}
