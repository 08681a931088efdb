//! ProConnect's own rules (docs/federations.md §3.1, §3.3, §3.4, §3.6): its acr values, the
//! `claims` request that makes an acr essential, and the hint formats ProConnect validates (a
//! malformed hint would end on a `Y000400` page at ProConnect, with no way back to the site).

use serde_json::json;

/// Every acr value ProConnect knows (discovery `acr_values_supported`).
pub const PC_ACR_VALUES: &[&str] = &[
    "eidas0",
    "eidas0-mfa",
    "eidas1",
    "eidas1-mfa",
    "eidas2",
    "eidas3",
    "https://proconnect.gouv.fr/assurance/certification-dirigeant",
];

/// The values that prove a second factor (docs/federations.md §3.4).
pub const PC_MFA_ACR_VALUES: &[&str] = &["eidas0-mfa", "eidas1-mfa", "eidas2", "eidas3"];

/// `{"id_token":{"acr":{"essential":true,"values":[...]}}}`, or `{"id_token":{"acr":null}}`
/// (just read the level) when nothing is required.
pub(crate) fn claims_request(acr: &[String], want_amr: bool) -> String {
    let acr_member = if acr.is_empty() {
        serde_json::Value::Null
    } else {
        json!({"essential": true, "values": acr})
    };
    let mut id_token = serde_json::Map::new();
    id_token.insert("acr".into(), acr_member);
    if want_amr {
        id_token.insert("amr".into(), serde_json::Value::Null);
    }
    json!({ "id_token": id_token }).to_string()
}

/// A plausible e-mail address (ProConnect refuses a `login_hint` that is not one: `Y000400`).
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && value.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && value
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | ',' | ';'))
}

/// ProConnect wants exactly 14 characters; a SIRET is 14 digits.
pub fn is_siret_hint(value: &str) -> bool {
    value.len() == 14 && value.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_request_makes_the_acr_essential_with_its_values() {
        let text = claims_request(&["eidas2".into(), "eidas3".into()], false);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["id_token"]["acr"]["essential"], true);
        assert_eq!(v["id_token"]["acr"]["values"], json!(["eidas2", "eidas3"]));
        let plain = claims_request(&[], true);
        assert_eq!(plain, r#"{"id_token":{"acr":null,"amr":null}}"#);
    }

    #[test]
    fn hints_are_validated_like_proconnect_does() {
        assert!(is_email("agent@fia1.fr"));
        assert!(!is_email("agent"));
        assert!(!is_email("a@b"));
        assert!(!is_email("a b@c.fr"));
        assert!(is_siret_hint("21750001600019"));
        assert!(!is_siret_hint("2175000160001"));
        assert!(!is_siret_hint("2175000160001X"));
    }
}
