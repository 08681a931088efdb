//! FranceConnect v2 (fcp-low), docs/federations.md §3.1, §3.3, §3.9: one level, `eidas1`,
//! asked with `acr_values` on every authorization request; exactly the whitelisted parameters
//! (anything else ends on an HTTP 400 page `Y030007`, with no way back to the site); no PKCE.

use super::{eidas_rank, AuthorizeRequest, ProviderFacts, ProviderFault, Rules};

pub(crate) struct FranceConnect;

impl Rules for FranceConnect {
    fn check_location_option(&self, key: &str, value: &str, name: &str) -> Result<(), String> {
        match (key, value) {
            ("prompt", "none") => Err(format!(
                "{name} none is refused by FranceConnect (no silent login; it answers Y030007)"
            )),
            // Not in its authorization parameters' whitelist (docs/federations.md §3.1, §3.5).
            ("login_hint" | "siret_hint", _) => Err(format!(
                "{name} is refused by FranceConnect (not in its parameter whitelist: it answers Y030007)"
            )),
            _ => Ok(()),
        }
    }

    fn name(&self) -> &'static str {
        "FranceConnect"
    }

    // Ordered: the lowest level asked for is the bar.
    fn acr_satisfies(&self, wanted: &[String], got: &str) -> bool {
        let bar = wanted.iter().filter_map(|w| eidas_rank(w)).min();
        match (bar, eidas_rank(got)) {
            (Some(bar), Some(g)) => g >= bar,
            _ => wanted.iter().any(|w| w == got),
        }
    }

    fn check_location_acr(&self, name: &str, values: &[String]) -> Result<(), String> {
        match values.iter().find(|v| *v != "eidas1") {
            Some(bad) => Err(format!(
                "{name} {bad}: FranceConnect only delivers eidas1 (eidas2/eidas3 are FranceConnect+); this location could never be reached"
            )),
            None => Ok(()),
        }
    }

    // The lowest level asked for in acr_values (FranceConnect itself picks the lowest), eidas1
    // when none is known.
    fn id_token_acr_floor(&self, acr_values: &[String]) -> Option<String> {
        Some(
            acr_values
                .iter()
                .filter(|a| eidas_rank(a).is_some())
                .min_by_key(|a| eidas_rank(a))
                .cloned()
                .unwrap_or_else(|| "eidas1".to_owned()),
        )
    }

    fn authorize_params(&self, request: &AuthorizeRequest) -> Vec<(&'static str, String)> {
        let opts = request.options;
        // acr_values is mandatory at FranceConnect; eidas1 is its only level.
        let acr = if request.provider_acr.is_empty() {
            "eidas1".to_owned()
        } else {
            request.provider_acr.join(" ")
        };
        let mut pairs = vec![("acr_values", acr)];
        // Both are in FranceConnect's whitelist; login_hint, siret_hint, prompt=none are not
        // (refused at config time, never sent), nor is PKCE.
        if opts.prompt.as_deref() == Some("login") {
            pairs.push(("prompt", "login".to_owned()));
        }
        if let Some(hint) = &opts.idp_hint {
            pairs.push(("idp_hint", hint.clone()));
        }
        pairs
    }

    // Refuse here what FranceConnect would refuse at the first login (docs/federations.md
    // §3.1, §3.9).
    fn check_provider(&self, p: &ProviderFacts) -> Result<(), ProviderFault> {
        let (named, with_preset) = (p.named, p.with_preset);
        if p.pkce {
            return Err(ProviderFault {
                key: "pkce",
                message: format!(
                    "{} on is refused by FranceConnect (it rejects code_challenge); remove it {with_preset}",
                    named("pkce")
                ),
            });
        }
        if p.acr_values.is_empty() || p.acr_values.iter().any(|a| a != "eidas1") {
            return Err(ProviderFault {
                key: "acr_values",
                message: format!(
                    "{} \"{}\" is refused by FranceConnect (only eidas1; eidas2/eidas3 are FranceConnect+) {with_preset}",
                    named("acr_values"),
                    p.acr_values.join(" ")
                ),
            });
        }
        if let Some(required) = p.required_acr {
            if required != "eidas1" {
                return Err(ProviderFault {
                    key: "required_acr",
                    message: format!(
                        "{} \"{required}\" can never be met: FranceConnect only delivers eidas1 {with_preset}",
                        named("required_acr")
                    ),
                });
            }
        }
        if !p.has_post_logout_redirect_uri {
            return Err(ProviderFault {
                key: "post_logout_redirect_uri",
                message: format!(
                    "{} is missing: FranceConnect requires it {with_preset} (write the logout return URL registered with FranceConnect)",
                    named("post_logout_redirect_uri")
                ),
            });
        }
        if p.userinfo_json {
            return Err(ProviderFault {
                key: "userinfo",
                message: format!(
                    "{} json does not work with FranceConnect (it signs userinfo; write {} jwt) {with_preset}",
                    named("userinfo"),
                    named("userinfo")
                ),
            });
        }
        Ok(())
    }

    fn always_sends_iss(&self) -> bool {
        true
    }

    // Its addresses come from the identity providers it federates.
    fn vouches_for_email(&self) -> bool {
        true
    }
}
