//! Key files: the checks done at configuration time (permissions, PEM, key type and size),
//! the public JWK and thumbprint of each key, and what `sesame keygen --enc` writes.

use std::os::unix::fs::PermissionsExt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Rsa;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{EncAlg, EncKey, SigAlg, SigKey, SiteKeys};

const MIN_RSA_BITS: u32 = 2048;

/// A private key as read from its file, with its public JWK members (no kid, use, alg yet).
struct KeyFile {
    path: String,
    pkcs8_der: Vec<u8>,
    ec: bool,
    public: Map<String, Value>,
}

/// `std::io::Error` text without the trailing " (os error 2)".
fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
pub(crate) fn thumbprint_of(public: &Map<String, Value>) -> String {
    thumbprint(public)
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, base64url.
fn thumbprint(public: &Map<String, Value>) -> String {
    let members: &[&str] = if public.get("kty").and_then(Value::as_str) == Some("EC") {
        &["crv", "kty", "x", "y"]
    } else {
        &["e", "kty", "n"]
    };
    let canonical: Map<String, Value> = members
        .iter()
        .filter_map(|m| public.get(*m).map(|v| ((*m).to_owned(), v.clone())))
        .collect();
    // serde_json's Map is ordered by key: this is the canonical form.
    b64(&Sha256::digest(
        Value::Object(canonical).to_string().as_bytes(),
    ))
}

/// Reads one key file; the message names the file and says what to change.
fn read_key_file(path: &str) -> Result<KeyFile, String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("\"{path}\": cannot read the key file: {}", io_text(&e)))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "\"{path}\" is readable by group or others (mode {mode:04o}): a private key must be mode 0600 or 0400 (chmod 600 {path})"
        ));
    }
    let pem = std::fs::read(path)
        .map_err(|e| format!("\"{path}\": cannot read the key file: {}", io_text(&e)))?;
    let key: PKey<Private> = PKey::private_key_from_pem(&pem).map_err(|_| {
        format!("\"{path}\" is not a PEM private key (expected an RSA key of at least {MIN_RSA_BITS} bits or an EC P-256 key; create one with: sesame keygen --enc ec {path})")
    })?;
    let mut public = Map::new();
    let ec = match key.id() {
        Id::RSA => {
            let bits = key.bits();
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "\"{path}\" is an RSA key of {bits} bits: at least {MIN_RSA_BITS} are needed"
                ));
            }
            let rsa = key.rsa().map_err(|e| format!("\"{path}\": {e}"))?;
            public.insert("kty".into(), "RSA".into());
            public.insert("n".into(), b64(&rsa.n().to_vec()).into());
            public.insert("e".into(), b64(&rsa.e().to_vec()).into());
            false
        }
        Id::EC => {
            let ec = key.ec_key().map_err(|e| format!("\"{path}\": {e}"))?;
            let curve = ec.group().curve_name();
            if curve != Some(Nid::X9_62_PRIME256V1) {
                let shown = curve
                    .and_then(|c| c.short_name().ok())
                    .unwrap_or("an unnamed curve");
                return Err(format!(
                    "\"{path}\" is an EC key on {shown}: only P-256 (prime256v1) is used by FranceConnect+"
                ));
            }
            let mut ctx = BigNumContext::new().map_err(|e| e.to_string())?;
            let (mut x, mut y) = (
                openssl::bn::BigNum::new().map_err(|e| e.to_string())?,
                openssl::bn::BigNum::new().map_err(|e| e.to_string())?,
            );
            ec.public_key()
                .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
                .map_err(|e| format!("\"{path}\": {e}"))?;
            let coord = |n: &openssl::bn::BigNum| n.to_vec_padded(32).map(|v| b64(&v));
            public.insert("kty".into(), "EC".into());
            public.insert("crv".into(), "P-256".into());
            public.insert(
                "x".into(),
                coord(&x).map_err(|e| format!("\"{path}\": {e}"))?.into(),
            );
            public.insert(
                "y".into(),
                coord(&y).map_err(|e| format!("\"{path}\": {e}"))?.into(),
            );
            true
        }
        _ => {
            return Err(format!(
                "\"{path}\" holds neither an RSA nor an EC key: expected RSA (at least {MIN_RSA_BITS} bits) or EC P-256"
            ))
        }
    };
    let pkcs8_der = key
        .private_key_to_pkcs8()
        .map_err(|e| format!("\"{path}\": {e}"))?;
    Ok(KeyFile {
        path: path.to_owned(),
        pkcs8_der,
        ec,
        public,
    })
}

fn with_use(
    mut public: Map<String, Value>,
    kid: &str,
    use_: &str,
    alg: &str,
) -> Map<String, Value> {
    public.insert("kid".into(), kid.into());
    public.insert("use".into(), use_.into());
    public.insert("alg".into(), alg.into());
    public
}

impl SiteKeys {
    /// Reads the encryption key files (the first is current) and the signing key file.
    /// `alg`: the `encryption_alg` written, else each key's type decides (EC: ECDH-ES, RSA:
    /// RSA-OAEP-256). Messages start with the file name; the caller adds the directive.
    pub fn load(
        enc_paths: &[String],
        alg: Option<EncAlg>,
        sig_path: Option<&str>,
    ) -> Result<SiteKeys, (KeyRole, String)> {
        let mut keys = SiteKeys::default();
        for path in enc_paths {
            let file = read_key_file(path).map_err(|m| (KeyRole::Enc, m))?;
            let key_alg = match alg {
                Some(a) if a.wants_ec() != file.ec => {
                    return Err((
                        KeyRole::Enc,
                        format!(
                            "\"{path}\" is {} key but encryption_alg {} needs {} key",
                            if file.ec { "an EC" } else { "an RSA" },
                            a.name(),
                            if a.wants_ec() {
                                "an EC P-256"
                            } else {
                                "an RSA"
                            }
                        ),
                    ))
                }
                Some(a) => a,
                None if file.ec => EncAlg::EcdhEs,
                None => EncAlg::RsaOaep256,
            };
            let kid = thumbprint(&file.public);
            if keys.enc.iter().any(|k| k.kid == kid) {
                return Err((
                    KeyRole::Enc,
                    format!(
                        "\"{path}\" holds the same key as an earlier file (write each key once)"
                    ),
                ));
            }
            let decrypter: Box<dyn josekit::jwe::JweDecrypter> = match key_alg {
                EncAlg::EcdhEs => Box::new(
                    josekit::jwe::ECDH_ES
                        .decrypter_from_der(&file.pkcs8_der)
                        .map_err(|e| (KeyRole::Enc, format!("\"{path}\": {e}")))?,
                ),
                EncAlg::RsaOaep256 => Box::new(
                    josekit::jwe::RSA_OAEP_256
                        .decrypter_from_der(&file.pkcs8_der)
                        .map_err(|e| (KeyRole::Enc, format!("\"{path}\": {e}")))?,
                ),
                EncAlg::RsaOaep => Box::new(
                    #[allow(deprecated)]
                    josekit::jwe::RSA_OAEP
                        .decrypter_from_der(&file.pkcs8_der)
                        .map_err(|e| (KeyRole::Enc, format!("\"{path}\": {e}")))?,
                ),
            };
            keys.enc.push(EncKey {
                public_jwk: with_use(file.public, &kid, "enc", key_alg.name()),
                kid,
                alg: key_alg,
                decrypter,
            });
        }
        if let Some(path) = sig_path {
            let file = read_key_file(path).map_err(|m| (KeyRole::Sig, m))?;
            let kid = thumbprint(&file.public);
            if keys.enc.iter().any(|k| k.kid == kid) {
                return Err((
                    KeyRole::Sig,
                    format!("\"{path}\" is also an encryption key: use a key of its own for signatures (sesame keygen --enc ec NEW-FILE makes one)"),
                ));
            }
            let (sig_alg, signer): (SigAlg, Box<dyn josekit::jws::JwsSigner>) = if file.ec {
                (
                    SigAlg::ES256,
                    Box::new(
                        josekit::jws::ES256
                            .signer_from_der(&file.pkcs8_der)
                            .map_err(|e| (KeyRole::Sig, format!("\"{path}\": {e}")))?,
                    ),
                )
            } else {
                (
                    SigAlg::RS256,
                    Box::new(
                        josekit::jws::RS256
                            .signer_from_der(&file.pkcs8_der)
                            .map_err(|e| (KeyRole::Sig, format!("\"{path}\": {e}")))?,
                    ),
                )
            };
            keys.sig = Some(SigKey {
                public_jwk: with_use(file.public, &kid, "sig", sig_alg.name()),
                kid,
                alg: sig_alg,
                path: file.path,
                signer,
            });
        }
        Ok(keys)
    }
}

/// Which directive a key-file fault is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    Enc,
    Sig,
}

/// What `sesame keygen --enc` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneratedKind {
    /// EC P-256 (ECDH-ES; ES256 as a signing key).
    Ec,
    /// RSA 3072 bits (RSA-OAEP-256; RS256 as a signing key).
    Rsa,
}

/// A new private key as PKCS#8 PEM.
pub fn generate_pem(kind: GeneratedKind) -> Result<Vec<u8>, String> {
    let key = match kind {
        GeneratedKind::Ec => {
            let group =
                EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(|e| e.to_string())?;
            let ec = EcKey::generate(&group).map_err(|e| e.to_string())?;
            PKey::from_ec_key(ec).map_err(|e| e.to_string())?
        }
        GeneratedKind::Rsa => {
            let rsa = Rsa::generate(3072).map_err(|e| e.to_string())?;
            PKey::from_rsa(rsa).map_err(|e| e.to_string())?
        }
    };
    key.private_key_to_pem_pkcs8().map_err(|e| e.to_string())
}
