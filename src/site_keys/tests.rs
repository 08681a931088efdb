//! Key files: what is accepted, what is refused at configuration time, and the JWKS.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde_json::Value;

use super::*;

/// A temporary directory of key files.
pub(crate) struct KeyDir(PathBuf);

impl KeyDir {
    pub fn new(tag: &str) -> KeyDir {
        let mut rnd = [0u8; 4];
        getrandom::fill(&mut rnd).unwrap();
        let dir = std::env::temp_dir().join(format!(
            "sesame-keys-{tag}-{}-{}",
            std::process::id(),
            hex::encode(rnd)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        KeyDir(dir)
    }

    /// Writes `pem` as `name` with `mode`; returns its path.
    pub fn write(&self, name: &str, pem: &[u8], mode: u32) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, pem).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path.to_string_lossy().into_owned()
    }

    /// A new key of `kind` as `name`, mode 0600.
    pub fn key(&self, name: &str, kind: GeneratedKind) -> String {
        self.write(name, &generate_pem(kind).unwrap(), 0o600)
    }
}

impl Drop for KeyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn refused(enc: &[String], alg: Option<EncAlg>, sig: Option<&str>) -> String {
    SiteKeys::load(enc, alg, sig)
        .expect_err("expected a refusal")
        .1
}

#[test]
fn ec_and_rsa_keys_are_published_with_kid_use_and_alg() {
    let dir = KeyDir::new("jwks");
    let ec = dir.key("ec.pem", GeneratedKind::Ec);
    let rsa = dir.key("rsa.pem", GeneratedKind::Rsa);
    let sig = dir.key("sig.pem", GeneratedKind::Ec);
    let keys = SiteKeys::load(&[ec.clone(), rsa], None, Some(&sig)).unwrap();
    assert!(keys.encrypts());
    let jwks: Value = serde_json::from_str(&keys.jwks_json()).unwrap();
    let list = jwks["keys"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["kty"], "EC");
    assert_eq!(list[0]["crv"], "P-256");
    assert_eq!(list[0]["use"], "enc");
    assert_eq!(list[0]["alg"], "ECDH-ES");
    assert_eq!(list[1]["kty"], "RSA");
    assert_eq!(list[1]["alg"], "RSA-OAEP-256");
    assert_eq!(list[1]["use"], "enc");
    assert_eq!(list[2]["use"], "sig");
    assert_eq!(list[2]["alg"], "ES256");
    for k in list {
        // Public halves only.
        assert!(k.get("d").is_none() && k.get("p").is_none(), "{k}");
        assert_eq!(k["kid"].as_str().unwrap().len(), 43, "SHA-256 thumbprint");
    }
    // The kid is the key's own: the same file read again (or elsewhere) has the same kid.
    let again = SiteKeys::load(&[ec], None, None).unwrap();
    assert_eq!(again.enc[0].kid, keys.enc[0].kid);
}

#[test]
fn thumbprint_matches_rfc_7638_example() {
    // RFC 7638 §3.1.
    let jwk: Map<String, Value> = serde_json::from_value(serde_json::json!({
        "kty": "RSA", "e": "AQAB",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    })).unwrap();
    assert_eq!(
        load::thumbprint_of(&jwk),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn rsa_oaep_is_chosen_by_encryption_alg_and_must_fit_the_key_type() {
    let dir = KeyDir::new("alg");
    let rsa = dir.key("rsa.pem", GeneratedKind::Rsa);
    let ec = dir.key("ec.pem", GeneratedKind::Ec);
    let keys = SiteKeys::load(std::slice::from_ref(&rsa), Some(EncAlg::RsaOaep), None).unwrap();
    assert_eq!(keys.enc[0].alg, EncAlg::RsaOaep);
    let m = refused(&[ec], Some(EncAlg::RsaOaep256), None);
    assert!(
        m.contains("is an EC key but encryption_alg RSA-OAEP-256 needs an RSA key"),
        "{m}"
    );
    let m = refused(&[rsa], Some(EncAlg::EcdhEs), None);
    assert!(m.contains("needs an EC P-256 key"), "{m}");
}

#[test]
fn group_or_world_readable_key_files_are_refused() {
    let dir = KeyDir::new("mode");
    let pem = generate_pem(GeneratedKind::Ec).unwrap();
    for mode in [0o640, 0o604, 0o644] {
        let path = dir.write("open.pem", &pem, mode);
        let m = refused(std::slice::from_ref(&path), None, None);
        assert!(m.contains("is readable by group or others"), "{m}");
        assert!(m.contains(&format!("chmod 600 {path}")), "{m}");
    }
    let path = dir.write("ro.pem", &pem, 0o400);
    assert!(SiteKeys::load(&[path], None, None).is_ok());
}

#[test]
fn wrong_key_types_sizes_and_files_are_refused_with_the_reason() {
    let dir = KeyDir::new("types");
    let small = openssl::rsa::Rsa::generate(1024).unwrap();
    let small = openssl::pkey::PKey::from_rsa(small).unwrap();
    let path = dir.write(
        "small.pem",
        &small.private_key_to_pem_pkcs8().unwrap(),
        0o600,
    );
    let m = refused(&[path], None, None);
    assert!(
        m.contains("is an RSA key of 1024 bits: at least 2048"),
        "{m}"
    );

    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::SECP384R1).unwrap();
    let p384 =
        openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap();
    let path = dir.write("p384.pem", &p384.private_key_to_pem_pkcs8().unwrap(), 0o600);
    let m = refused(&[path], None, None);
    assert!(m.contains("is an EC key on secp384r1: only P-256"), "{m}");

    let ed = openssl::pkey::PKey::generate_ed25519().unwrap();
    let path = dir.write("ed.pem", &ed.private_key_to_pem_pkcs8().unwrap(), 0o600);
    let m = refused(&[path], None, None);
    assert!(m.contains("holds neither an RSA nor an EC key"), "{m}");

    let public = p384.public_key_to_pem().unwrap();
    let path = dir.write("public.pem", &public, 0o600);
    let m = refused(&[path], None, None);
    assert!(m.contains("is not a PEM private key"), "{m}");

    let m = refused(
        &[dir.0.join("absent.pem").to_string_lossy().into()],
        None,
        None,
    );
    assert!(m.contains("cannot read the key file: No such file"), "{m}");
}

#[test]
fn one_key_cannot_be_both_an_encryption_and_the_signing_key() {
    let dir = KeyDir::new("reuse");
    let ec = dir.key("ec.pem", GeneratedKind::Ec);
    let m = refused(std::slice::from_ref(&ec), None, Some(&ec));
    assert!(m.contains("is also an encryption key"), "{m}");
    let m = refused(&[ec.clone(), ec], None, None);
    assert!(m.contains("holds the same key as an earlier file"), "{m}");
}

#[test]
fn debug_output_shows_kids_never_key_material() {
    let dir = KeyDir::new("debug");
    let ec = dir.key("ec.pem", GeneratedKind::Ec);
    let keys = SiteKeys::load(&[ec], None, None).unwrap();
    let shown = format!("{keys:?}");
    assert!(shown.contains(&keys.enc[0].kid));
    assert!(!shown.contains("PRIVATE"));
}
