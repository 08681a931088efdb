//! FranceConnect+ (fcp-high), docs/federations.md §1.2, §2, §3.3, §4.7: the FranceConnect for
//! sensitive services. Two ordered levels, `eidas2 < eidas3`, asked with `acr_values` on every
//! authorization request (several sent: FranceConnect+ uses the lowest; a higher level than
//! asked may come back and satisfies the request); the same parameter whitelist as
//! FranceConnect (anything else ends on page `Y030007`); no PKCE; ES256 signatures only; the
//! id_token and userinfo always encrypted to the client's keys (JWE around the JWS).

use super::{eidas_rank, AuthorizeRequest, ProviderFacts, ProviderFault, Rules};

/// The levels FranceConnect+ delivers, lowest first.
pub(crate) const FC_PLUS_LEVELS: &[&str] = &["eidas2", "eidas3"];

/// The level asked when the provider block writes no `acr_values` (the lowest: FranceConnect+
/// itself would pick eidas3 for a missing value, which most services do not need).
pub(crate) const FC_PLUS_DEFAULT_ACR: &str = "eidas2";

pub(crate) struct FranceConnectPlus;

fn is_level(acr: &str) -> bool {
    FC_PLUS_LEVELS.contains(&acr)
}

/// The lowest FranceConnect+ level among `values`, if any.
fn lowest_level(values: &[String]) -> Option<&String> {
    values
        .iter()
        .filter(|a| is_level(a))
        .min_by_key(|a| eidas_rank(a))
}

impl Rules for FranceConnectPlus {
    fn check_location_option(&self, key: &str, value: &str, name: &str) -> Result<(), String> {
        match (key, value) {
            ("prompt", "none") => Err(format!(
                "{name} none is refused by FranceConnect+ (no silent login; it answers Y030007)"
            )),
            // The same whitelist as FranceConnect (docs/federations.md §3.1).
            ("login_hint" | "siret_hint", _) => Err(format!(
                "{name} is refused by FranceConnect+ (not in its parameter whitelist: it answers Y030007)"
            )),
            _ => Ok(()),
        }
    }

    fn name(&self) -> &'static str {
        "FranceConnect+"
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
        match values.iter().find(|v| !is_level(v)) {
            Some(bad) => Err(format!(
                "{name} {bad}: FranceConnect+ only delivers eidas2 and eidas3 (eidas1 is FranceConnect); this location could never be reached as written"
            )),
            None => Ok(()),
        }
    }

    fn id_token_acr_floor(&self, acr_values: &[String]) -> Option<String> {
        Some(
            lowest_level(acr_values)
                .cloned()
                .unwrap_or_else(|| FC_PLUS_DEFAULT_ACR.to_owned()),
        )
    }

    fn authorize_params(&self, request: &AuthorizeRequest) -> Vec<(&'static str, String)> {
        let opts = request.options;
        // acr_values is mandatory; a location's own level (sesame_acr eidas3) is what that
        // login asks, else the provider block's.
        let asked = if !opts.acr.is_empty() {
            opts.acr.join(" ")
        } else if !request.provider_acr.is_empty() {
            request.provider_acr.join(" ")
        } else {
            FC_PLUS_DEFAULT_ACR.to_owned()
        };
        let mut pairs = vec![("acr_values", asked)];
        if opts.prompt.as_deref() == Some("login") {
            pairs.push(("prompt", "login".to_owned()));
        }
        if let Some(hint) = &opts.idp_hint {
            pairs.push(("idp_hint", hint.clone()));
        }
        pairs
    }

    // Refuse here what FranceConnect+ would refuse at the first login (docs/federations.md
    // §1.4, §2, §3.1, §3.9, §4.7).
    fn check_provider(&self, p: &ProviderFacts) -> Result<(), ProviderFault> {
        let (named, with_preset) = (p.named, p.with_preset);
        let refuse = |key: &'static str, message: String| Err(ProviderFault { key, message });
        if p.pkce {
            return refuse(
                "pkce",
                format!(
                    "{} on is refused by FranceConnect+ (it rejects code_challenge); remove it {with_preset}",
                    named("pkce")
                ),
            );
        }
        if p.acr_values.is_empty() || p.acr_values.iter().any(|a| !is_level(a)) {
            return refuse(
                "acr_values",
                format!(
                    "{} \"{}\" is refused by FranceConnect+ (eidas2 and/or eidas3; eidas1 is FranceConnect) {with_preset}",
                    named("acr_values"),
                    p.acr_values.join(" ")
                ),
            );
        }
        if let Some(required) = p.required_acr {
            if !is_level(required) {
                return refuse(
                    "required_acr",
                    format!(
                        "{} \"{required}\" can never be met: FranceConnect+ delivers eidas2 or eidas3 {with_preset}",
                        named("required_acr")
                    ),
                );
            }
        }
        // FranceConnect+ refuses a localhost redirect_uri in integration as in production
        // (docs/federations.md §1.4): a site tested on its own machine needs a name of its own.
        if p.redirect_host == "localhost" || p.redirect_host.ends_with(".localhost") {
            return refuse(
                "redirect_uri",
                format!(
                    "{} on localhost is refused by FranceConnect+, in integration too {with_preset} (register a name that resolves to the machine, e.g. in /etc/hosts)",
                    named("redirect_uri")
                ),
            );
        }
        if p.signing_alg != "ES256" {
            return refuse(
                "id_token_alg",
                format!(
                    "{} {} is refused by FranceConnect+ (it signs with ES256 only) {with_preset}",
                    named("id_token_alg"),
                    p.signing_alg
                ),
            );
        }
        if !p.has_post_logout_redirect_uri {
            return refuse(
                "post_logout_redirect_uri",
                format!(
                    "{} is missing: FranceConnect+ requires it {with_preset} (write the logout return URL registered with FranceConnect+)",
                    named("post_logout_redirect_uri")
                ),
            );
        }
        if p.userinfo_json {
            return refuse(
                "userinfo",
                format!(
                    "{} json does not work with FranceConnect+ (it signs and encrypts userinfo; write {} jwt) {with_preset}",
                    named("userinfo"),
                    named("userinfo")
                ),
            );
        }
        if !p.has_encryption_keys {
            return refuse(
                "encryption_key_file",
                format!(
                    "{} is missing: FranceConnect+ encrypts the id_token and userinfo to the site's own key {with_preset} (create one with: sesame keygen --enc ec /etc/sesame/fcplus-enc.pem)",
                    named("encryption_key_file")
                ),
            );
        }
        if !p.has_jwks_uri {
            return refuse(
                "jwks_uri",
                format!(
                    "{} is missing: FranceConnect+ fetches the site's public encryption keys there {with_preset} (write the URL registered as the client's keys URL, e.g. https://www.example.fr/sesame/jwks)",
                    named("jwks_uri")
                ),
            );
        }
        Ok(())
    }

    fn always_sends_iss(&self) -> bool {
        true
    }

    // private_key_jwt with ES256 assertions only (docs/federations.md §4.7).
    fn client_assertion_algs(&self) -> &'static [&'static str] {
        &["ES256"]
    }

    // Its identities come from the identity providers it federates (eIDAS substantial/high).
    fn vouches_for_email(&self) -> bool {
        true
    }
}
