//! ProConnect's own rules (docs/federations.md §3.1, §3.3, §3.4, §3.6): its acr values (a set,
//! not an order), the `mfa` shortcut, the `claims` request that makes an acr essential, PKCE
//! S256, and the hint formats ProConnect validates (a malformed hint would end on a `Y000400`
//! page at ProConnect, with no way back to the site).

use serde_json::json;

use super::{AuthorizeRequest, ProviderFacts, ProviderFault, Rules};

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

pub(crate) struct ProConnect;

impl Rules for ProConnect {
    fn name(&self) -> &'static str {
        "ProConnect"
    }

    // A set: membership, never "greater than" (`eidas0-mfa` and `eidas1` differ on different
    // pillars).
    fn acr_satisfies(&self, wanted: &[String], got: &str) -> bool {
        wanted.iter().any(|w| w == got)
    }

    fn acr_shortcut(&self, word: &str) -> Option<&'static [&'static str]> {
        (word == "mfa").then_some(PC_MFA_ACR_VALUES)
    }

    fn check_location_acr(&self, name: &str, values: &[String]) -> Result<(), String> {
        match values.iter().find(|v| !PC_ACR_VALUES.contains(&v.as_str())) {
            Some(bad) => Err(format!(
                "{name} {bad} is not a ProConnect value (expected some of: {}, or mfa)",
                PC_ACR_VALUES.join(" ")
            )),
            None => Ok(()),
        }
    }

    // The provider's acr_values when the location asks nothing: they went out as the essential
    // acr of `claims` (`authorize_params`), and ProConnect leaves checking the answer to us.
    fn login_asked_acr<'a>(&self, location: &'a [String], provider: &'a [String]) -> &'a [String] {
        if location.is_empty() {
            provider
        } else {
            location
        }
    }

    fn authorize_params(&self, request: &AuthorizeRequest) -> Vec<(&'static str, String)> {
        let opts = request.options;
        // acr through `claims` (essential + values), never acr_values: sent together, PC would
        // treat both as essential (docs/federations.md §3.3). amr is asked to check MFA.
        let acr = self.login_asked_acr(&opts.acr, request.provider_acr);
        let mut pairs = vec![("claims", claims_request(acr, true))];
        if let Some(challenge) = request.pkce_challenge {
            pairs.push(("code_challenge", challenge.to_owned()));
            pairs.push(("code_challenge_method", "S256".to_owned()));
        }
        for (name, value) in [
            ("prompt", &opts.prompt),
            ("login_hint", &opts.login_hint),
            ("idp_hint", &opts.idp_hint),
            ("siret_hint", &opts.siret_hint),
        ] {
            if let Some(v) = value {
                pairs.push((name, v.clone()));
            }
        }
        pairs
    }

    fn check_provider(&self, p: &ProviderFacts) -> Result<(), ProviderFault> {
        let (named, with_preset) = (p.named, p.with_preset);
        if let Some(bad) = p
            .acr_values
            .iter()
            .find(|a| !PC_ACR_VALUES.contains(&a.as_str()))
        {
            return Err(ProviderFault {
                key: "acr_values",
                message: format!(
                    "{} \"{bad}\" is not a ProConnect level (expected some of: {}) {with_preset}",
                    named("acr_values"),
                    PC_ACR_VALUES.join(" ")
                ),
            });
        }
        if !p.has_post_logout_redirect_uri {
            return Err(ProviderFault {
                key: "post_logout_redirect_uri",
                message: format!(
                    "{} is missing: ProConnect logout needs the exact registered URI {with_preset}",
                    named("post_logout_redirect_uri")
                ),
            });
        }
        Ok(())
    }

    // Clients registered with HS256 only (docs/federations.md §2, §4.3).
    fn accepts_shared_secret_alg(&self) -> bool {
        true
    }

    fn always_sends_iss(&self) -> bool {
        true
    }

    // Its addresses come from the identity providers it federates.
    fn vouches_for_email(&self) -> bool {
        true
    }

    // `access_denied` for an essential acr it could not satisfy, `login_required` for
    // prompt=none, `idp_hint_not_found` (docs/federations.md §7.4).
    fn translates_callback_errors(&self) -> bool {
        true
    }
}

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
