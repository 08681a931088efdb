//! Verified claims → what the backend sees: claim values as text, the stable user key,
//! REMOTE_USER, the header-safe encoding, and the test for incoming headers that could spoof
//! any of it.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::identity::{ClaimText, Identity, IdentityFields};

/// Token-validation members, not facts about the user: never passed to the backend (the
/// provider client strips them from verified payloads, and identities are built without them).
/// Null claims are left out too (absent and null mean the same to an application reading
/// variables).
pub(crate) const PROTOCOL_CLAIMS: &[&str] = &[
    "iss", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "azp",
];

/// Characters no claim keeps: the C0 controls except tab (NUL included), and DEL. Apache's
/// environment is NUL-terminated and headers end at CR/LF, so a value holding one would not be
/// the same string for the policy and for the backend.
pub fn is_refused_control(c: char) -> bool {
    (c < ' ' && c != '\t') || c == '\u{7f}'
}

/// What a login's claims hold after [`scrub_controls`]: each refused control character replaced
/// by U+FFFD (the Unicode replacement character), in strings at any depth (arrays, objects);
/// claims whose *name* holds one are dropped. Returns the names of the claims changed or
/// dropped, for the log line (sanitised).
pub fn scrub_controls(claims: &mut Map<String, Value>) -> Vec<String> {
    fn scrub(value: &mut Value) -> bool {
        match value {
            Value::String(s) if s.chars().any(is_refused_control) => {
                *s = s
                    .chars()
                    .map(|c| if is_refused_control(c) { '\u{fffd}' } else { c })
                    .collect();
                true
            }
            Value::Array(list) => list.iter_mut().fold(false, |acc, v| scrub(v) | acc),
            Value::Object(map) => {
                let before = map.len();
                map.retain(|k, _| !k.chars().any(is_refused_control));
                let dropped = map.len() != before;
                map.values_mut().fold(dropped, |acc, v| scrub(v) | acc)
            }
            _ => false,
        }
    }
    let mut changed: Vec<String> = Vec::new();
    claims.retain(|name, _| {
        let keep = !name.chars().any(is_refused_control);
        if !keep {
            changed.push(
                name.chars()
                    .map(|c| if is_refused_control(c) { '?' } else { c })
                    .take(64)
                    .collect(),
            );
        }
        keep
    });
    for (name, value) in claims.iter_mut() {
        if scrub(value) {
            changed.push(name.clone());
        }
    }
    changed
}

/// A claim value as text: strings as they are (UTF-8), anything else as compact JSON.
pub fn claim_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Stable user key: first 32 hex chars of SHA-256(issuer "\n" sub). Keyed on the pair because a
/// `sub` is only unique per issuer (docs/federations.md §4.6); never on e-mail.
pub fn user_key(issuer: &str, sub: &str) -> String {
    let digest = Sha256::new()
        .chain_update(issuer.as_bytes())
        .chain_update(b"\n")
        .chain_update(sub.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

/// The value for REMOTE_USER: the configured claim (`sub` by default); empty when absent.
pub fn remote_user(claims: &Map<String, Value>, sub: &str, claim: &str) -> String {
    if claim == "sub" {
        return sub.to_owned();
    }
    claims
        .get(claim)
        .filter(|v| !v.is_null())
        .map(claim_text)
        .unwrap_or_default()
}

/// Builds the identity of a verified session.
pub fn identity(
    provider: &str,
    issuer: &str,
    sub: &str,
    acr: &str,
    claims: &Map<String, Value>,
    remote_user_claim: &str,
) -> Identity {
    let texts: Vec<(&str, std::borrow::Cow<'_, str>, bool)> = claims
        .iter()
        .filter(|(name, value)| !PROTOCOL_CLAIMS.contains(&name.as_str()) && !value.is_null())
        .map(|(name, value)| match value {
            Value::String(s) => (name.as_str(), std::borrow::Cow::Borrowed(s.as_str()), false),
            other => (
                name.as_str(),
                std::borrow::Cow::Owned(other.to_string()),
                true,
            ),
        })
        .collect();
    let mut list: Vec<ClaimText<'_>> = texts
        .iter()
        .map(|(name, value, json)| ClaimText {
            name,
            value,
            json: *json,
        })
        .collect();
    if !list.iter().any(|c| c.name == "sub") {
        list.push(ClaimText {
            name: "sub",
            value: sub,
            json: false,
        });
    }
    Identity::new(
        IdentityFields {
            provider,
            issuer,
            sub,
            acr,
            user_key: &user_key(issuer, sub),
            remote_user: &remote_user(claims, sub, remote_user_claim),
        },
        &list,
    )
}

/// Everything except `A-Z a-z 0-9 - . _ ~` is percent-encoded.
const HEADER_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A value safe in any HTTP header: every byte outside `[A-Za-z0-9-._~]` becomes `%XX`
/// (UTF-8 bytes, upper-case hex). Decoding with any URL decoder gives the raw value back.
pub fn encode_header_value(value: &str) -> String {
    utf8_percent_encode(value, HEADER_SAFE).to_string()
}

impl Identity {
    /// [`Identity::claims_json`] percent-encoded for a request header (`X-Sesame-Claims`):
    /// only `A-Z a-z 0-9 - . _ ~ %`, never a CR, LF, comma or quote. Built once, then shared.
    pub fn claims_json_header(&self) -> &str {
        let (json, header) = self.claims_json_header_view();
        header.get_or_init(|| encode_header_value(json).into_boxed_str())
    }
}

/// Prefixes of incoming header names that could pass for what Sesame sets, compared
/// case-insensitively with `_` read as `-` (CGI and FastCGI map both to the same variable, as
/// mod_auth_openidc's scrubbing does): Sesame's own (`X-Sesame-*`, `Sesame-*`) and the variable
/// set of mod_auth_openidc that `SesameVariables mod_auth_openidc` imitates and that migrated
/// applications read (`OIDC_CLAIM_*`, `OIDC_access_token`, `OIDC_id_token*`...): every `OIDC-`
/// header, as mod_auth_openidc scrubs its own prefix.
pub const SPOOFABLE_HEADER_PREFIXES: &[&str] = &["x-sesame-", "sesame-", "oidc-"];

/// Whole names, same comparison: the user name in the spellings backends and proxies trust.
pub const SPOOFABLE_HEADER_NAMES: &[&str] = &["remote-user", "x-remote-user", "x-forwarded-user"];

/// True for incoming request header names that could pass for what Sesame sets or imitates
/// ([`SPOOFABLE_HEADER_PREFIXES`], [`SPOOFABLE_HEADER_NAMES`]).
pub fn is_spoofable_header(name: &str) -> bool {
    // Runs for every header of every request: compared in place, nothing allocated.
    let name = name.trim().as_bytes();
    // Every prefix and name starts with one of these letters: most headers stop here.
    if !matches!(
        name.first().map(u8::to_ascii_lowercase),
        Some(b'x' | b's' | b'o' | b'r')
    ) {
        return false;
    }
    let same = |a: &[u8], b: &[u8]| {
        a.len() == b.len()
            && a.iter().zip(b).all(|(&x, &y)| {
                let x = if x == b'_' {
                    b'-'
                } else {
                    x.to_ascii_lowercase()
                };
                x == y
            })
    };
    SPOOFABLE_HEADER_PREFIXES.iter().any(|prefix| {
        let prefix = prefix.as_bytes();
        name.len() >= prefix.len() && same(&name[..prefix.len()], prefix)
    }) || SPOOFABLE_HEADER_NAMES
        .iter()
        .any(|candidate| same(name, candidate.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_spoofable_spelling_passes_the_first_letter_filter() {
        for name in SPOOFABLE_HEADER_PREFIXES
            .iter()
            .chain(SPOOFABLE_HEADER_NAMES)
        {
            let upper = name.to_ascii_uppercase().replace('-', "_");
            for spelling in [name.to_string(), upper, format!(" {name} ")] {
                let full = format!("{spelling}x");
                let spelling = if SPOOFABLE_HEADER_NAMES.contains(name) {
                    spelling
                } else {
                    full
                };
                assert!(is_spoofable_header(&spelling), "{spelling:?}");
            }
        }
        for innocent in [
            "Accept",
            "Cookie",
            "User-Agent",
            "",
            " ",
            "X-Forwarded-For",
            "Sesame",
        ] {
            assert!(!is_spoofable_header(innocent), "{innocent:?}");
        }
    }

    #[test]
    fn control_characters_in_claims_become_replacement_characters_tab_kept() {
        let mut claims = json!({
            "usual_name": "DU\u{0}BOIS", "label": "a\r\nb\tc\u{7f}",
            "roles": ["ok", "x\u{1}"], "custom": {"k": "v\u{1b}", "bad\nkey": 1},
            "evil\u{0}name": "v", "siret": "21750001600019", "n": 3
        })
        .as_object()
        .cloned()
        .unwrap();
        let mut changed = scrub_controls(&mut claims);
        changed.sort();
        assert_eq!(
            changed,
            ["custom", "evil?name", "label", "roles", "usual_name"]
        );
        assert_eq!(claims["usual_name"], "DU\u{fffd}BOIS");
        assert_eq!(claims["label"], "a\u{fffd}\u{fffd}b\tc\u{fffd}");
        assert_eq!(claims["roles"], json!(["ok", "x\u{fffd}"]));
        assert_eq!(claims["custom"], json!({"k": "v\u{fffd}"}));
        assert!(!claims.contains_key("evil\u{0}name"));
        assert_eq!(claims["siret"], "21750001600019");
        let text = identity("pc", "i", "s", "eidas1", &claims, "sub");
        assert!(text
            .claims()
            .all(|c| !c.value.chars().any(is_refused_control)
                && !c.name.chars().any(is_refused_control)));
    }

    #[test]
    fn claims_keep_utf8_and_encode_non_strings_as_compact_json() {
        let claims = json!({
            "given_name": "Élodie", "family_name": "Ñúñez-Œuvray",
            "given_name_array": ["Élodie", "Marie"], "amr": ["fc", "pwd"],
            "email_verified": true, "auth_time": 1_700_000_000, "birthplace": "",
            "iss": "x", "aud": "y", "exp": 1, "iat": 1, "nonce": "n", "at_hash": "h", "gone": null
        });
        let id = identity("fc", "i", "s", "eidas1", claims.as_object().unwrap(), "sub");
        let get = |n: &str| id.claim(n);
        assert_eq!(get("given_name"), Some("Élodie"));
        assert_eq!(get("family_name"), Some("Ñúñez-Œuvray"));
        assert_eq!(get("given_name_array"), Some(r#"["Élodie","Marie"]"#));
        assert!(id.claim_text("given_name_array").is_some_and(|c| c.json));
        assert!(id.claim_text("birthplace").is_some_and(|c| !c.json));
        assert_eq!(get("email_verified"), Some("true"));
        assert_eq!(get("auth_time"), Some("1700000000"));
        assert_eq!(get("birthplace"), Some(""));
        for hidden in ["iss", "aud", "exp", "iat", "nonce", "at_hash", "gone"] {
            assert_eq!(get(hidden), None, "{hidden} must not reach the backend");
        }
    }

    #[test]
    fn header_encoding_of_accented_names_is_ascii_and_reversible() {
        let encoded = encode_header_value("Ñúñez-Œuvray");
        assert_eq!(encoded, "%C3%91%C3%BA%C3%B1ez-%C5%92uvray");
        assert_eq!(encode_header_value("Élodie"), "%C3%89lodie");
        assert_eq!(
            encode_header_value("a b\r\n%:;,"),
            "a%20b%0D%0A%25%3A%3B%2C"
        );
        assert_eq!(encode_header_value("AZaz09-._~"), "AZaz09-._~");
        let decoded = percent_encoding::percent_decode_str(&encoded)
            .decode_utf8()
            .unwrap();
        assert_eq!(decoded, "Ñúñez-Œuvray");
    }

    #[test]
    fn user_key_depends_on_issuer_and_sub_only() {
        let a = user_key("https://a/api/v2", "sub1");
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(a, user_key("https://b/api/v2", "sub1"));
        assert_ne!(a, user_key("https://a/api/v2", "sub2"));
        // The separator prevents ("ab","c") == ("a","bc").
        assert_ne!(user_key("ab", "c"), user_key("a", "bc"));
    }

    #[test]
    fn user_key_is_the_first_32_hex_chars_of_sha256_of_issuer_newline_sub() {
        // Pinned: backends store this key, so it must never change.
        assert_eq!(
            user_key("https://a/api/v2", "sub1"),
            hex::encode(Sha256::digest(b"https://a/api/v2\nsub1"))[..32]
        );
    }

    #[test]
    fn sub_is_added_in_name_order_when_the_claims_lack_it() {
        let claims = serde_json::json!({"acr": "eidas1", "zz": "last", "email": "a@b.fr"});
        let id = identity(
            "fc",
            "i",
            "s1",
            "eidas1",
            claims.as_object().unwrap(),
            "sub",
        );
        let names: Vec<&str> = id.claims().map(|c| c.name).collect();
        assert_eq!(names, ["acr", "email", "sub", "zz"]);
        assert_eq!(id.claim("sub"), Some("s1"));
    }

    #[test]
    fn remote_user_uses_the_configured_claim() {
        let claims = json!({"email": "e@x.fr", "n": 5});
        let c = claims.as_object().unwrap();
        assert_eq!(remote_user(c, "the-sub", "sub"), "the-sub");
        assert_eq!(remote_user(c, "the-sub", "email"), "e@x.fr");
        assert_eq!(remote_user(c, "the-sub", "n"), "5");
        assert_eq!(remote_user(c, "the-sub", "missing"), "");
    }

    #[test]
    fn spoofable_headers_are_recognised_in_any_spelling() {
        for name in [
            "X-Sesame-Claim-Sub",
            "x_sesame_user",
            "SESAME-PROVIDER",
            "sesame_acr",
            "Remote-User",
            "REMOTE_USER",
            "X-Remote-User",
            "x_forwarded_user",
            " X-Forwarded-User",
            "OIDC_CLAIM_sub",
            "OIDC-CLAIM-email",
            "oidc_claim_given_name",
            "Oidc-Claim-Siret",
            "OIDC_access_token",
            "oidc-access-token",
            "OIDC_access_token_expires",
            "OIDC_id_token",
            "OIDC_id_token_payload",
            "oidc-id-token-payload",
            "OIDC_userinfo_json",
        ] {
            assert!(is_spoofable_header(name), "{name}");
        }
        for name in [
            "Cookie",
            "X-Forwarded-For",
            "Remote-Addr",
            "X-Sesamee",
            "Sesame",
            "X-User",
            "Remote-Users",
            "Rémote-User",
            "OIDC",
            "X-OIDC-Claim-Sub",
            "OpenID-Claim",
            "",
        ] {
            assert!(!is_spoofable_header(name), "{name}");
        }
    }
}
