//! Migration from mod_auth_openidc: the variables it hands to applications, computed from a
//! verified session, so that an application written against it runs unchanged behind Sesame
//! (Apache `SesameVariables mod_auth_openidc`, nginx `include sesame_fastcgi_params_oidc`).
//!
//! mod_auth_openidc's defaults (2.4.x, `OIDCClaimPrefix`, `OIDCClaimDelimiter`,
//! `OIDCRemoteUserClaim`):
//! - `OIDC_CLAIM_<claim name>`: the name as the provider wrote it (case kept), with HTTP
//!   separators and control characters replaced by `-` (`chorusdt:matricule` →
//!   `OIDC_CLAIM_chorusdt-matricule`);
//! - values: strings as they are, booleans `1`/`0`, integers in decimal, arrays joined by `,`
//!   (string, number and boolean elements), objects as compact JSON;
//! - `REMOTE_USER`: `sub@` — the `sub` claim, `@`, and the issuer without its `https://`.
//!
//! Protocol members (`iss`, `aud`, `exp`, `nonce`...) are not passed, as for Sesame's own
//! variables; nor are tokens (`OIDC_access_token`...), which Sesame never exposes.

use serde_json::Value;

use crate::backend_names::{oidc_claim_name, REMOTE_USER};
use crate::identity::Identity;

/// Delimiter of array values (its `OIDCClaimDelimiter` default).
const DELIMITER: &str = ",";

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A claim value as mod_auth_openidc passes it; None for null.
pub fn claim_value(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(scalar_text)
                .collect::<Vec<_>>()
                .join(DELIMITER),
        ),
        Value::Object(_) => Some(value.to_string()),
        scalar => scalar_text(scalar),
    }
}

/// REMOTE_USER as mod_auth_openidc sets it by default (`OIDCRemoteUserClaim sub@`).
pub fn remote_user(sub: &str, issuer: &str) -> String {
    let host_and_path = issuer.strip_prefix("https://").unwrap_or(issuer);
    format!("{sub}@{host_and_path}")
}

/// Every variable mod_auth_openidc would set, from an identity (whose claims are already the
/// backend's: no protocol members, no nulls, `sub` present): `REMOTE_USER` first, then
/// `OIDC_CLAIM_*` sorted by claim name. JSON-valued claims are read back to format them as
/// mod_auth_openidc does (arrays joined by `,`, booleans `1`/`0`).
pub fn variables_of(identity: &Identity) -> Vec<(String, String)> {
    let named = identity
        .claims()
        .filter_map(|c| {
            let value = if c.json {
                claim_value(&serde_json::from_str(c.value).ok()?)?
            } else {
                c.value.to_owned()
            };
            Some((oidc_claim_name(c.name), value))
        })
        .collect();
    with_remote_user(identity.issuer(), identity.sub(), named)
}

impl Identity {
    /// The same identity as mod_auth_openidc would pass it (`REMOTE_USER` = `sub@issuer`, then
    /// `OIDC_CLAIM_<claim>`), for applications migrating from it ([`variables_of`]). Built on
    /// the first call, then shared.
    pub fn mod_auth_openidc(&self) -> &[(String, String)] {
        self.mod_auth_openidc_view()
            .get_or_init(|| variables_of(self))
    }
}

fn with_remote_user(
    issuer: &str,
    sub: &str,
    mut named: Vec<(String, String)>,
) -> Vec<(String, String)> {
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::with_capacity(named.len() + 1);
    out.push((REMOTE_USER.to_owned(), remote_user(sub, issuer)));
    out.extend(named);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn remote_user_is_sub_at_issuer_without_https() {
        assert_eq!(
            remote_user("abc", "https://fcp-low.sbx.dev-franceconnect.fr/api/v2"),
            "abc@fcp-low.sbx.dev-franceconnect.fr/api/v2"
        );
        assert_eq!(remote_user("abc", "http://op"), "abc@http://op");
    }

    #[test]
    fn values_follow_mod_auth_openidc_formatting() {
        assert_eq!(claim_value(&json!("Élodie")).unwrap(), "Élodie");
        assert_eq!(claim_value(&json!(true)).unwrap(), "1");
        assert_eq!(claim_value(&json!(false)).unwrap(), "0");
        assert_eq!(claim_value(&json!(1700000000)).unwrap(), "1700000000");
        assert_eq!(claim_value(&json!(["a", "b", 3])).unwrap(), "a,b,3");
        assert_eq!(claim_value(&json!({"k": "v"})).unwrap(), r#"{"k":"v"}"#);
        assert_eq!(claim_value(&json!(null)), None);
    }

    fn variables_from(claims: serde_json::Value) -> Vec<(String, String)> {
        let identity = crate::claims::identity(
            "fc",
            "https://op/api",
            "s1",
            "eidas1",
            claims.as_object().unwrap(),
            "sub",
        );
        variables_of(&identity)
    }

    #[test]
    fn variables_list_remote_user_then_claims_without_protocol_members() {
        let vars = variables_from(
            json!({"given_name": "Élodie", "nonce": "n", "aud": "x", "amr": ["pwd"]}),
        );
        assert_eq!(vars[0], ("REMOTE_USER".into(), "s1@op/api".into()));
        let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "REMOTE_USER",
                "OIDC_CLAIM_amr",
                "OIDC_CLAIM_given_name",
                "OIDC_CLAIM_sub"
            ]
        );
    }

    #[test]
    fn json_valued_claims_are_formatted_as_mod_auth_openidc_does() {
        let vars = variables_from(json!({
            "given_name": "Élodie", "nonce": "n", "amr": ["pwd", "mfa"], "email_verified": true,
            "auth_time": 1700000000, "address": {"country": "FR"}, "chorusdt:matricule": "42",
            "gone": null
        }));
        let expected: Vec<(String, String)> = [
            ("REMOTE_USER", "s1@op/api"),
            ("OIDC_CLAIM_address", r#"{"country":"FR"}"#),
            ("OIDC_CLAIM_amr", "pwd,mfa"),
            ("OIDC_CLAIM_auth_time", "1700000000"),
            ("OIDC_CLAIM_chorusdt-matricule", "42"),
            ("OIDC_CLAIM_email_verified", "1"),
            ("OIDC_CLAIM_given_name", "Élodie"),
            ("OIDC_CLAIM_sub", "s1"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        assert_eq!(vars, expected);
    }
}
