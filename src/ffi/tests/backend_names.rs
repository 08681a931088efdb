//! C ABI: the environment variables and request headers of an allowed identity, with the final
//! names the core builds (the Apache shim copies them as they are).

use super::*;
use std::ptr::null;

fn allowed(claims: serde_json::Value) -> *mut SesameOutcome {
    let identity = crate::claims::identity(
        "pc",
        "https://op.example/api/v2",
        "the-sub",
        "eidas1",
        claims.as_object().unwrap(),
        "sub",
    );
    Box::into_raw(Box::new(SesameOutcome::from_outcome(Outcome::Allow(
        identity,
    ))))
}

unsafe extern "C" fn collect(user: *mut c_void, name: SesameStr, value: SesameStr) {
    let text = |s: SesameStr| {
        if s.len == 0 {
            return String::new();
        }
        // SAFETY: the library passes strings valid for this call.
        let bytes = unsafe { std::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len) };
        String::from_utf8(bytes.to_vec()).unwrap()
    };
    // SAFETY: the tests pass a live Vec as user data.
    let pairs = unsafe { &mut *user.cast::<Vec<(String, String)>>() };
    pairs.push((text(name), text(value)));
}

type Each = unsafe extern "C" fn(*const SesameOutcome, SesamePairFn, *mut c_void) -> usize;

fn pairs(o: *const SesameOutcome, each: Each) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    // SAFETY: `o` is live; `collect` accepts the Vec passed as user data.
    let n = unsafe {
        each(
            o,
            Some(collect),
            (&mut out as *mut Vec<(String, String)>).cast(),
        )
    };
    assert_eq!(n, out.len());
    out
}

#[test]
fn ffi_env_has_final_names_every_claim_and_sesame_claims() {
    let o = allowed(serde_json::json!({
        "given_name": "Élodie", "usual_name": "Dupont", "chorusdt:matricule": "42",
        "roles": ["a", "b"], "sid": "s-1", "empty": "", "nonce": "n"
    }));
    let env = pairs(o, sesame_outcome_each_env);
    let names: Vec<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "SESAME_PROVIDER",
            "SESAME_ACR",
            "SESAME_USER",
            "SESAME_CLAIMS",
            "SESAME_CLAIM_CHORUSDT_MATRICULE",
            "SESAME_CLAIM_GIVEN_NAME",
            "SESAME_CLAIM_ROLES",
            "SESAME_CLAIM_SID",
            "SESAME_CLAIM_SUB",
            "SESAME_CLAIM_USUAL_NAME",
            "SESAME_GIVEN_NAME",
            "SESAME_FAMILY_NAME",
        ],
        "empty values and REMOTE_USER left out"
    );
    let all: serde_json::Value = serde_json::from_str(&env[3].1).unwrap();
    assert_eq!(
        all,
        serde_json::json!({
            "chorusdt:matricule": "42", "empty": "", "given_name": "Élodie",
            "roles": ["a", "b"], "sid": "s-1", "sub": "the-sub", "usual_name": "Dupont"
        })
    );
    assert_eq!(env[6].1, r#"["a","b"]"#);
    // SAFETY: created above, freed once.
    unsafe { sesame_outcome_free(o) };
}

#[test]
fn ffi_headers_are_percent_encoded_with_final_names() {
    let o = allowed(serde_json::json!({"given_name": "Élodie\r\nX: 1", "n": 3}));
    let headers = pairs(o, sesame_outcome_each_header);
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        get("X-Sesame-Claim-Given-Name"),
        Some("%C3%89lodie%0D%0AX%3A%201")
    );
    assert_eq!(get("X-Sesame-Given-Name"), get("X-Sesame-Claim-Given-Name"));
    assert_eq!(get("X-Sesame-Claim-N"), Some("3"));
    assert_eq!(get("X-Sesame-Provider"), Some("pc"));
    let claims = get("X-Sesame-Claims").unwrap();
    assert!(claims
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
    let decoded = percent_encoding::percent_decode_str(claims)
        .decode_utf8()
        .unwrap();
    let all: serde_json::Value = serde_json::from_str(&decoded).unwrap();
    assert_eq!(all["given_name"], "Élodie\r\nX: 1");
    assert!(get("REMOTE_USER").is_none() && get("X-Sesame-Remote-User").is_none());
    // SAFETY: created above, freed once.
    unsafe { sesame_outcome_free(o) };
}

#[test]
fn ffi_oidc_env_is_the_claims_of_mod_auth_openidc_only() {
    let o = allowed(serde_json::json!({"chorusdt:matricule": "42", "amr": ["pwd", "mfa"]}));
    let env = pairs(o, sesame_outcome_each_oidc_env);
    assert_eq!(
        env,
        [
            ("OIDC_CLAIM_amr".to_owned(), "pwd,mfa".to_owned()),
            ("OIDC_CLAIM_chorusdt-matricule".to_owned(), "42".to_owned()),
            ("OIDC_CLAIM_sub".to_owned(), "the-sub".to_owned()),
        ]
    );
    // SAFETY: created above, freed once.
    unsafe { sesame_outcome_free(o) };
}

#[test]
fn ffi_each_functions_accept_null_and_other_outcomes() {
    // SAFETY: NULL outcome and NULL callback are part of the contract.
    unsafe {
        assert_eq!(
            sesame_outcome_each_env(null(), Some(collect), std::ptr::null_mut()),
            0
        );
        let o = allowed(serde_json::json!({}));
        assert_eq!(sesame_outcome_each_header(o, None, std::ptr::null_mut()), 0);
        sesame_outcome_free(o);
        let declined = Box::into_raw(Box::new(SesameOutcome::from_outcome(Outcome::Decline)));
        assert!(pairs(declined, sesame_outcome_each_env).is_empty());
        sesame_outcome_free(declined);
    }
}
