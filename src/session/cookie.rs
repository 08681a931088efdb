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

fn mac(keys: &Keys) -> HmacSha256 {
    match HmacSha256::new_from_slice(&keys.mac) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
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

impl CookieNames {
    pub fn new(secure: bool) -> CookieNames {
        let prefix = if secure { "__Host-" } else { "" };
        CookieNames {
            session: format!("{prefix}sesame"),
            login: format!("{prefix}sesame-login"),
            logout: format!("{prefix}sesame-logout"),
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
    header
        .split(';')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k.trim() == name).then(|| v.trim().trim_matches('"'))
        })
        .collect()
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
