//! A standards-compliant OpenID provider (OIDC Core): acr values are compared as a set, sent
//! as `acr_values` (OIDC Core §3.1.2.1); `prompt`, `login_hint` and PKCE S256 (RFC 7636) as
//! configured; nothing refused ahead of the provider, nothing trusted beyond what it sends.

use super::{AuthorizeRequest, ProviderFacts, ProviderFault, Rules};

pub(crate) struct Generic;

impl Rules for Generic {
    fn check_location_option(&self, key: &str, _value: &str, name: &str) -> Result<(), String> {
        if key == "siret_hint" {
            return Err(format!(
                "{name} only exists at ProConnect, not at {}",
                self.name()
            ));
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        "this provider"
    }

    // A set: membership, never "greater than".
    fn acr_satisfies(&self, wanted: &[String], got: &str) -> bool {
        wanted.iter().any(|w| w == got)
    }

    fn check_location_acr(&self, _name: &str, _values: &[String]) -> Result<(), String> {
        Ok(())
    }

    fn authorize_params(&self, request: &AuthorizeRequest) -> Vec<(&'static str, String)> {
        let opts = request.options;
        let mut pairs = Vec::new();
        if !opts.acr.is_empty() {
            pairs.push(("acr_values", opts.acr.join(" ")));
        } else if !request.provider_acr.is_empty() {
            pairs.push(("acr_values", request.provider_acr.join(" ")));
        }
        for (name, value) in [("prompt", &opts.prompt), ("login_hint", &opts.login_hint)] {
            if let Some(v) = value {
                pairs.push((name, v.clone()));
            }
        }
        if let Some(challenge) = request.pkce_challenge {
            pairs.push(("code_challenge", challenge.to_owned()));
            pairs.push(("code_challenge_method", "S256".to_owned()));
        }
        pairs
    }

    fn check_provider(&self, _provider: &ProviderFacts) -> Result<(), ProviderFault> {
        Ok(())
    }

    // RFC 9207 is optional: `iss` is required only where the metadata advertises it.
    fn always_sends_iss(&self) -> bool {
        false
    }

    // Only `email_verified` vouches for an address.
    fn vouches_for_email(&self) -> bool {
        false
    }
}
