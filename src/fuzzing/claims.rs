//! Verified claims → what the backend reads: environment variables (CGI, FastCGI, Apache's
//! subprocess_env), request headers for proxied applications, nginx variable names, the
//! `SESAME_CLAIMS` JSON and the mod_auth_openidc view.

use serde_json::{Map, Value};

use crate::backend_names::{self, Fixed};
use crate::claims::{is_refused_control, scrub_controls};
use crate::identity::Identity;

/// Input: a JSON object of claims (as a provider's userinfo), or else a claim name and value
/// separated by `0xFF`.
pub fn claims_to_variables(data: &[u8]) {
    let mut claims = match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(map)) => map,
        _ => {
            let f = super::fields(data, 2);
            let mut map = Map::new();
            map.insert(f[0].clone(), Value::String(f[1].clone()));
            map
        }
    };
    scrub_controls(&mut claims);
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or("a-subject")
        .to_owned();
    for remote_user_claim in ["sub", "email"] {
        let identity = crate::claims::identity(
            "fuzz",
            "https://auth.agentconnect.gouv.fr/api/v2",
            &sub,
            "eidas1",
            &claims,
            remote_user_claim,
        );
        check_identity(&identity);
    }
}

fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn is_header_encoded(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'%'))
}

fn is_nginx_variable(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn has_refused_control(value: &str) -> bool {
    value.chars().any(is_refused_control)
}

/// Every name and value an adapter hands to a backend for `identity`.
pub(crate) fn check_identity(identity: &Identity) {
    for (name, value) in backend_names::env_vars(identity) {
        assert!(is_env_name(name), "environment name {name:?}");
        assert!(!has_refused_control(value), "{name} = {value:?}");
    }
    for (name, value) in backend_names::header_vars(identity) {
        assert!(is_header_name(name), "header name {name:?}");
        assert!(is_header_encoded(&value), "{name}: {value:?}");
        assert!(!super::breaks_a_header(&value));
    }
    assert!(is_header_encoded(identity.claims_json_header()));
    for f in Fixed::ALL {
        assert!(!has_refused_control(f.value(identity)), "{f:?}");
        assert!(!super::breaks_a_header(&f.header_value(identity)), "{f:?}");
    }
    // SESAME_CLAIMS: one JSON object holding every claim under its own name.
    let json: Map<String, Value> = match serde_json::from_str(identity.claims_json()) {
        Ok(map) => map,
        Err(e) => panic!(
            "SESAME_CLAIMS is not a JSON object ({e}): {}",
            identity.claims_json()
        ),
    };
    for claim in identity.claims() {
        assert!(
            json.contains_key(claim.name),
            "{} missing from SESAME_CLAIMS",
            claim.name
        );
        assert!(
            is_nginx_variable(&backend_names::claim_nginx_variable(claim.name)),
            "nginx variable of {:?}",
            claim.name
        );
        assert!(backend_names::nginx_suffix_names(
            claim.name,
            &backend_names::claim_nginx_variable(claim.name)
                [backend_names::CLAIM_VARIABLE_PREFIX.len()..]
        ));
    }
    // mod_auth_openidc's names keep the claim's case but never hold what would end or split
    // an environment entry or a header name.
    for (name, value) in identity.mod_auth_openidc() {
        assert!(!name.is_empty() && !has_refused_control(name), "{name:?}");
        assert!(
            !name.contains(['=', ' ', ':', '\t', '\u{7f}']),
            "mod_auth_openidc name {name:?}"
        );
        assert!(!has_refused_control(value), "{name} = {value:?}");
    }
}
