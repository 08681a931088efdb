//! FranceConnect+'s encrypted tokens: a compact JWE around the provider's JWS, opened with the
//! site's keys (`oidc::jwe::open`).
//!
//! Structure-aware: the harness encrypts the fuzzer's plaintext under a protected header built
//! from the fuzzer's JSON, to one of the site's keys (or to its signing key, or to a key the
//! site does not hold), then alters the bytes of the parts the input names. So the fuzzer
//! reaches the decryption and what follows it with genuine tokens, and the header checks with
//! headers that differ from a genuine one by a few bytes.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwe::{JweEncrypter, JweHeader, ECDH_ES, RSA_OAEP_256};
use josekit::jwk::Jwk;
use serde_json::{Map, Value};

use crate::site_keys::{EncAlg, SiteKeys, CONTENT_ENC};

/// Who a token is encrypted to, and with which key-management algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recipient {
    /// The site's EC encryption key, ECDH-ES (registered: opens).
    EcEnc,
    /// The site's RSA encryption key, RSA-OAEP-256 (registered: opens).
    RsaEnc,
    /// The RSA encryption key with RSA-OAEP, an algorithm it is not registered for.
    RsaEncOtherAlg,
    /// The site's signing key (use sig), ECDH-ES.
    SigKey,
    /// A key the site does not hold, under its own kid.
    Stranger,
}

const RECIPIENTS: [Recipient; 5] = [
    Recipient::EcEnc,
    Recipient::RsaEnc,
    Recipient::RsaEncOtherAlg,
    Recipient::SigKey,
    Recipient::Stranger,
];

struct Rig {
    keys: SiteKeys,
    /// Per recipient: its encrypter and the kid a genuine header names.
    encrypters: Vec<(Recipient, Box<dyn JweEncrypter>, String)>,
}

/// The site's keys (an EC and an RSA encryption key, an EC signing key) and the encrypters a
/// provider would use, made once per run: key generation and loading cost milliseconds.
fn rig() -> &'static Rig {
    static RIG: OnceLock<Rig> = OnceLock::new();
    RIG.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sesame-fuzz-jwe-{}", std::process::id()));
        let write = |name: &str, pem: Vec<u8>| {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.join(name);
            let written = std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&path, pem))
                .and_then(|()| {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                });
            assert!(written.is_ok(), "cannot write the JWE rig's key files");
            path.to_string_lossy().into_owned()
        };
        let ec = write(
            "enc-ec.pem",
            pem_or_panic(crate::site_keys::GeneratedKind::Ec),
        );
        // RSA 2048 (the smallest the site accepts): each RSA decryption costs a fuzzing run
        // its private-key operation.
        let rsa = write("enc-rsa.pem", rsa_2048_pem());
        let sig = write("sig.pem", pem_or_panic(crate::site_keys::GeneratedKind::Ec));
        let stranger = write(
            "stranger.pem",
            pem_or_panic(crate::site_keys::GeneratedKind::Ec),
        );
        let load = |enc: &[String], alg, sig: Option<&str>| match SiteKeys::load(enc, alg, sig) {
            Ok(k) => k,
            Err((_, m)) => panic!("JWE rig: {m}"),
        };
        let keys = load(&[ec, rsa], None, Some(&sig));
        let stranger = load(&[stranger], None, None);
        let _ = std::fs::remove_dir_all(&dir);
        let Some(sig_key) = keys.sig.as_ref() else {
            panic!("JWE rig: no signing key");
        };
        let encrypters = RECIPIENTS
            .iter()
            .map(|&r| {
                let (jwk, kid, alg) = match r {
                    Recipient::EcEnc => (&keys.enc[0].public_jwk, &keys.enc[0].kid, "ECDH-ES"),
                    Recipient::RsaEnc => {
                        (&keys.enc[1].public_jwk, &keys.enc[1].kid, "RSA-OAEP-256")
                    }
                    Recipient::RsaEncOtherAlg => {
                        (&keys.enc[1].public_jwk, &keys.enc[1].kid, "RSA-OAEP")
                    }
                    Recipient::SigKey => (&sig_key.public_jwk, &sig_key.kid, "ECDH-ES"),
                    Recipient::Stranger => {
                        (&stranger.enc[0].public_jwk, &stranger.enc[0].kid, "ECDH-ES")
                    }
                };
                (r, encrypter(jwk, alg), kid.clone())
            })
            .collect();
        Rig { keys, encrypters }
    })
}

fn pem_or_panic(kind: crate::site_keys::GeneratedKind) -> Vec<u8> {
    match crate::site_keys::generate_pem(kind) {
        Ok(pem) => pem,
        Err(e) => panic!("JWE rig: {e}"),
    }
}

fn rsa_2048_pem() -> Vec<u8> {
    let pem = openssl::rsa::Rsa::generate(2048)
        .and_then(openssl::pkey::PKey::from_rsa)
        .and_then(|k| k.private_key_to_pem_pkcs8());
    match pem {
        Ok(pem) => pem,
        Err(e) => panic!("JWE rig: {e}"),
    }
}

/// A provider's encrypter for the public key `jwk` (its `kid`, `use` and `alg` left out: the
/// header says which key, the harness which algorithm).
fn encrypter(jwk: &Map<String, Value>, alg: &str) -> Box<dyn JweEncrypter> {
    let mut public = jwk.clone();
    for name in ["kid", "use", "alg"] {
        public.remove(name);
    }
    let made: Result<Box<dyn JweEncrypter>, josekit::JoseError> =
        Jwk::from_map(public).and_then(|jwk| match alg {
            "ECDH-ES" => ECDH_ES
                .encrypter_from_jwk(&jwk)
                .map(|e| Box::new(e) as Box<dyn JweEncrypter>),
            "RSA-OAEP-256" => RSA_OAEP_256
                .encrypter_from_jwk(&jwk)
                .map(|e| Box::new(e) as Box<dyn JweEncrypter>),
            _ => {
                #[allow(deprecated)]
                let oaep = josekit::jwe::RSA_OAEP;
                oaep.encrypter_from_jwk(&jwk)
                    .map(|e| Box::new(e) as Box<dyn JweEncrypter>)
            }
        });
    match made {
        Ok(e) => e,
        Err(e) => panic!("JWE rig: {alg} encrypter: {e}"),
    }
}

/// The content encryptions the harness can ask for: only the first is accepted.
const ENCS: [&str; 4] = [CONTENT_ENC, "A128GCM", "A128CBC-HS256", "A256CBC-HS512"];

/// Input: a mode byte, then the protected header's extra members (a JSON object, else none),
/// the plaintext, and the alterations, separated by `0xFF`.
///
/// Mode bits 0–2: the recipient (`RECIPIENTS`; 5–7: the rest of the input is the whole
/// token, as text); bits 3–4: `enc` (`ENCS`); bit 5: `zip: DEF` (compressed); bit 6: the kid
/// written is the header JSON's own (else the recipient's); bit 7: no `cty` (else `JWT`).
/// The alterations are groups of 4 bytes: part (mod 5), position (2 bytes, big-endian, mod the
/// part's length; past the end of an empty part: appended), byte XORed into it (0 taken as 1).
pub fn jwe_token(data: &[u8]) {
    opens(data);
}

/// The target's body: whether the token opened (`None`: no token made of this input).
fn opens(data: &[u8]) -> Option<bool> {
    let (&mode, rest) = data.split_first()?;
    let rig = rig();
    let recipient = RECIPIENTS.get(usize::from(mode & 7)).copied();
    let Some(recipient) = recipient else {
        let token = String::from_utf8_lossy(rest);
        let opened = crate::oidc::jwe::open(&token, &rig.keys, "fuzz");
        let ok = opened.is_ok();
        check_opened(&token, opened);
        return Some(ok);
    };
    let fields: Vec<&[u8]> = rest.splitn(3, |&b| b == 0xFF).collect();
    let field = |i: usize| fields.get(i).copied().unwrap_or_default();
    let mut header_map = match serde_json::from_slice::<Value>(field(0)) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let (_, encrypter, kid) = &rig.encrypters[recipient as usize];
    header_map.insert(
        "enc".into(),
        ENCS[usize::from(mode >> 3 & 3)].to_owned().into(),
    );
    if mode & 32 != 0 {
        header_map.insert("zip".into(), "DEF".into());
    }
    if mode & 64 == 0 {
        header_map.insert("kid".into(), kid.clone().into());
    }
    if mode & 128 == 0 {
        header_map.insert("cty".into(), "JWT".into());
    }
    let plaintext = field(1);
    let header = JweHeader::from_map(header_map).ok()?;
    // What josekit cannot make (a member of the wrong type, an unknown enc or zip) is not a
    // token a provider sends.
    let genuine = josekit::jwe::serialize_compact(plaintext, &header, encrypter.as_ref()).ok()?;
    let (token, altered) = alter(&genuine, field(2));
    let opened = crate::oidc::jwe::open(&token, &rig.keys, "fuzz");
    check_opened(&token, opened.clone());

    if altered {
        assert!(
            opened.is_err(),
            "an altered token decrypted: {genuine} became {token}"
        );
        return Some(false);
    }
    let written = protected_header(&token);
    let inner = std::str::from_utf8(plaintext).map(str::trim);
    let should_open = matches!(recipient, Recipient::EcEnc | Recipient::RsaEnc)
        && written.get("kid").and_then(Value::as_str) == Some(kid.as_str())
        && written.get("enc").and_then(Value::as_str) == Some(CONTENT_ENC)
        && written
            .get("cty")
            .and_then(Value::as_str)
            .is_some_and(|c| c.eq_ignore_ascii_case("JWT"))
        && !written.contains_key("zip")
        && !written.contains_key("crit")
        && inner.is_ok_and(|s| s.split('.').count() == 3);
    match opened {
        Ok(got) => {
            assert!(should_open, "opened a token that must be refused: {token}");
            assert_eq!(
                Ok(got.as_str()),
                inner,
                "what decrypts is not what was encrypted"
            );
            Some(true)
        }
        Err(e) => {
            assert!(!should_open, "a genuine token was refused ({e}): {token}");
            Some(false)
        }
    }
}

/// What holds of every token `open` accepted, whatever made it: the header names one of the
/// site's encryption keys (never its signing key) with the algorithm that key is registered
/// for, A256GCM, a JWT content, no compression and no `crit`; the content is a compact JWS.
/// A refusal is one line (it goes into the error log).
fn check_opened(token: &str, opened: Result<String, crate::oidc::OidcError>) {
    let inner = match opened {
        Ok(inner) => inner,
        Err(e) => {
            let message = e.to_string();
            assert!(!super::breaks_a_header(&message), "{message:?}");
            return;
        }
    };
    let header = protected_header(token);
    let text = |name: &str| header.get(name).and_then(Value::as_str);
    let keys = &rig().keys;
    let key = text("kid").and_then(|kid| keys.enc_key(kid));
    let Some(key) = key else {
        panic!("opened with a kid that names no encryption key: {token}");
    };
    assert!(!keys.is_sig_kid(&key.kid));
    assert_eq!(text("alg").and_then(EncAlg::parse), Some(key.alg));
    assert_eq!(text("enc"), Some(CONTENT_ENC));
    assert!(text("cty").is_some_and(|c| c.eq_ignore_ascii_case("JWT")));
    assert!(!header.contains_key("zip") && !header.contains_key("crit"));
    assert_eq!(inner.split('.').count(), 3, "opened to {inner:?}");
}

fn protected_header(token: &str) -> Map<String, Value> {
    let head = token.split('.').next().unwrap_or_default();
    URL_SAFE_NO_PAD
        .decode(head)
        .ok()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .unwrap_or_default()
}

/// `token` with the alterations applied to its parts' decoded bytes (re-encoded canonically,
/// so every alteration changes what the parts hold); whether any was applied.
fn alter(token: &str, spec: &[u8]) -> (String, bool) {
    let mut parts: Vec<Vec<u8>> = token
        .split('.')
        .map(|p| URL_SAFE_NO_PAD.decode(p).unwrap_or_default())
        .collect();
    let mut altered = false;
    if parts.len() != 5 {
        return (token.to_owned(), false);
    }
    for group in spec.chunks_exact(4) {
        let Some(part) = parts.get_mut(usize::from(group[0]) % 5) else {
            continue;
        };
        let xor = if group[3] == 0 { 1 } else { group[3] };
        if part.is_empty() {
            part.push(xor);
        } else {
            let at = usize::from(u16::from_be_bytes([group[1], group[2]])) % part.len();
            part[at] ^= xor;
        }
        altered = true;
    }
    if !altered {
        return (token.to_owned(), false);
    }
    let encoded: Vec<String> = parts.iter().map(|p| URL_SAFE_NO_PAD.encode(p)).collect();
    let out = encoded.join(".");
    // Two alterations of one byte can cancel out.
    let changed = out != token;
    (out, changed)
}

#[cfg(test)]
mod tests {
    use super::opens;

    const JWS: &[u8] = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

    fn input(mode: u8, header: &[u8], plaintext: &[u8], alterations: &[u8]) -> Vec<u8> {
        [
            &[mode][..],
            header,
            &[0xFF],
            plaintext,
            &[0xFF],
            alterations,
        ]
        .concat()
    }

    /// The harness reaches the decryption: genuine tokens to the site's keys open, and every
    /// variation the modes name is made and refused (a harness whose tokens were never made,
    /// or never opened, would check nothing).
    #[test]
    fn genuine_tokens_open_and_each_variation_is_refused() {
        assert_eq!(opens(&input(0, b"{}", JWS, b"")), Some(true), "ECDH-ES");
        assert_eq!(
            opens(&input(1, b"{}", JWS, b"")),
            Some(true),
            "RSA-OAEP-256"
        );
        for (what, mode, header) in [
            ("RSA-OAEP to an RSA-OAEP-256 key", 2, &b"{}"[..]),
            ("to the signing key", 3, b"{}"),
            ("to a key the site does not hold", 4, b"{}"),
            ("A128GCM", 8, b"{}"),
            ("A128CBC-HS256", 16, b"{}"),
            ("zip", 32, b"{}"),
            ("another kid", 64, br#"{"kid":"k9"}"#),
            ("no cty", 128, b"{}"),
            ("crit", 0, br#"{"crit":["exp"],"exp":1}"#),
        ] {
            assert_eq!(opens(&input(mode, header, JWS, b"")), Some(false), "{what}");
        }
        assert_eq!(opens(&input(0, b"{}", b"not a JWS", b"")), Some(false));
        for (part, what) in [
            (0u8, "header"),
            (1, "encrypted key"),
            (2, "iv"),
            (3, "ciphertext"),
            (4, "tag"),
        ] {
            for mode in [0, 1] {
                assert_eq!(
                    opens(&input(mode, b"{}", JWS, &[part, 0, 3, 0x40])),
                    Some(false),
                    "{what} altered, mode {mode}"
                );
            }
        }
        assert_eq!(opens(b"\x05a.b.c.d.e"), Some(false));
    }
}
