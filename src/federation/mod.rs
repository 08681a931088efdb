//! What a federation is to the rest of the core (docs/federations.md §3): one file per
//! federation holds its rules — the acr values it accepts and how they compare, what an
//! authorization request sends to it, what its provider block and its locations' acr rules may
//! not write — and the rest of the core asks for them through `rules` and the functions below.
//!
//! A new federation is one file here with its `Rules`, its variant of [`Federation`] (in
//! `identity.rs`, where every identity records it) with an arm in `rules`, and its presets in
//! `config/presets.rs`.
//!
//! In the layer order this room comes right after `identity` and before `oidc/` (which asks it
//! what to send and what to accept, never the reverse): what it needs of a provider or a request
//! comes in as plain values, and its messages name directives in the spelling the caller passes.

use serde_json::Value;

use crate::identity::Identity;

mod franceconnect;
mod franceconnect_plus;
mod generic;
mod proconnect;

#[cfg(test)]
mod tests;

pub use crate::identity::Federation;
pub use proconnect::{is_email, is_siret_hint, PC_ACR_VALUES, PC_MFA_ACR_VALUES};

/// One federation's rules. The implementations are `franceconnect::FranceConnect`,
/// `franceconnect_plus::FranceConnectPlus`, `proconnect::ProConnect` and `generic::Generic`.
pub(crate) trait Rules: Sync {
    /// How messages name the federation ("FranceConnect", "this provider").
    fn name(&self) -> &'static str;

    /// Does `got` satisfy a location asking for `wanted` (never empty here)?
    fn acr_satisfies(&self, wanted: &[String], got: &str) -> bool;

    /// The acr values a shortcut word written in an acr rule stands for (ProConnect's `mfa`).
    fn acr_shortcut(&self, _word: &str) -> Option<&'static [&'static str]> {
        None
    }

    /// Refuses a location's accepted acr values (`sesame_acr`, already expanded) the federation
    /// can never deliver; `name` is the directive as the server spells it.
    fn check_location_acr(&self, name: &str, values: &[String]) -> Result<(), String>;

    /// Refuses a location option the federation cannot carry (`key` as the registry names it,
    /// its `value` as written; `name` is the directive as the server spells it): FranceConnect
    /// has no silent login and no login or SIRET hint, SIRET hints are ProConnect's. Checked
    /// after the option's own syntax and duplicates.
    fn check_location_option(&self, _key: &str, _value: &str, _name: &str) -> Result<(), String> {
        Ok(())
    }

    /// The level the id_token's `acr` must reach when the provider block sets no
    /// `required_acr`, from the `acr_values` it sends; None leaves the acr to the engine.
    fn id_token_acr_floor(&self, _acr_values: &[String]) -> Option<String> {
        None
    }

    /// What a login asked, which the engine checks the returned acr against: the location's
    /// `sesame_acr` (`location`), or where the federation says so the provider's `acr_values`.
    fn login_asked_acr<'a>(&self, location: &'a [String], _provider: &'a [String]) -> &'a [String] {
        location
    }

    /// The authorization request's parameters after `response_type`, `client_id`,
    /// `redirect_uri`, `scope`, `state` and `nonce`, in the order they are sent.
    fn authorize_params(&self, request: &AuthorizeRequest) -> Vec<(&'static str, String)>;

    /// The provider block's cross-checks for this federation (what its presets forbid or
    /// require), after the checks every provider gets.
    fn check_provider(&self, provider: &ProviderFacts) -> Result<(), ProviderFault>;

    /// Does `id_token_alg HS256` (keyed by the client secret) have a place here?
    fn accepts_shared_secret_alg(&self) -> bool {
        false
    }

    /// The algorithms the federation accepts for `private_key_jwt` client assertions.
    fn client_assertion_algs(&self) -> &'static [&'static str] {
        &["ES256", "RS256"]
    }

    /// Does every authorization response carry `iss` (RFC 9207), so that one without it did
    /// not come from the provider directly?
    fn always_sends_iss(&self) -> bool;

    /// Does the federation vouch for an `email` it sends without `email_verified`?
    fn vouches_for_email(&self) -> bool;

    /// Are its `error=` answers on the redirect URI read with `translate::callback_error` (an
    /// essential acr it could not satisfy, `prompt=none` without a session, an unknown
    /// `idp_hint`) rather than by the generic pages?
    fn translates_callback_errors(&self) -> bool {
        false
    }
}

/// The rules of `federation`.
pub(crate) fn rules(federation: Federation) -> &'static dyn Rules {
    match federation {
        Federation::FranceConnect => &franceconnect::FranceConnect,
        Federation::FranceConnectPlus => &franceconnect_plus::FranceConnectPlus,
        Federation::ProConnect => &proconnect::ProConnect,
        Federation::Generic => &generic::Generic,
    }
}

/// Per-location additions to one authorization request (ProConnect: acr through `claims`,
/// prompt, hints), each sent only where the federation accepts it (`Rules::authorize_params`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoginOptions {
    /// acr values to ask as essential (ProConnect `claims`), or `acr_values` override for
    /// other federations; empty = the provider's defaults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr: Vec<String>,
    /// `login` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siret_hint: Option<String>,
}

/// What one authorization request has to say beyond its fixed parameters.
pub(crate) struct AuthorizeRequest<'a> {
    /// The provider block's `acr_values`.
    pub provider_acr: &'a [String],
    /// The location's options for this login.
    pub options: &'a LoginOptions,
    /// The PKCE S256 challenge when the provider block has PKCE on.
    pub pkce_challenge: Option<&'a str>,
}

/// A provider block as the federation's cross-checks see it.
pub(crate) struct ProviderFacts<'a> {
    pub acr_values: &'a [String],
    pub required_acr: Option<&'a str>,
    pub pkce: bool,
    pub has_post_logout_redirect_uri: bool,
    /// `userinfo json` (plain JSON rather than a signed JWT).
    pub userinfo_json: bool,
    /// The id_token / userinfo signature algorithm as registered (`ES256`).
    pub signing_alg: &'a str,
    /// At least one `encryption_key_file`: the provider may encrypt tokens to the site.
    pub has_encryption_keys: bool,
    /// A `jwks_uri`: the site publishes its public keys.
    pub has_jwks_uri: bool,
    /// The host of the `redirect_uri` (lowercase, as the URL parser leaves it).
    pub redirect_host: &'a str,
    /// A provider key as the server spells it (`preset`, `Preset`).
    pub named: &'a dyn Fn(&str) -> String,
    /// "with preset NAME", the end of every message.
    pub with_preset: &'a str,
}

/// A provider cross-check that failed: the key it is about and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProviderFault {
    pub key: &'static str,
    pub message: String,
}

/// The eIDAS levels in order; None for any other value (ProConnect's sets, unknown). Every
/// federation that uses these names means the same levels (docs/federations.md §1.2, §3.3).
pub(crate) fn eidas_rank(acr: &str) -> Option<u8> {
    match acr {
        "eidas1" => Some(1),
        "eidas2" => Some(2),
        "eidas3" => Some(3),
        _ => None,
    }
}

/// Does `got` satisfy a location asking for `wanted` under `federation`'s semantics?
/// An empty `wanted` asks for nothing.
pub fn acr_satisfies(federation: Federation, wanted: &[String], got: &str) -> bool {
    wanted.is_empty() || rules(federation).acr_satisfies(wanted, got)
}

/// Does the session behind `id` meet a location's accepted acr values? The acr must satisfy
/// them (`acr_satisfies`) and, where every accepted value is multi-factor, the login must have
/// proved a second factor (`Identity::mfa`, verified at login whatever that login asked): an
/// MFA acr with a single-factor amr obtained at a location that did not ask for MFA never
/// opens one that does.
pub fn level_met(federation: Federation, wanted: &[String], id: &Identity) -> bool {
    acr_satisfies(federation, wanted, id.acr()) && (!asks_mfa(wanted) || id.mfa())
}

/// The fact stored in the session at login: `acr` is a multi-factor value and `amr`, when the
/// provider sent a usable one, does not show a single factor.
pub fn proves_mfa(acr: &str, amr: Option<&Value>) -> bool {
    PC_MFA_ACR_VALUES.contains(&acr) && amr_has_second_factor(amr) != Some(false)
}

/// The accepted values of an acr rule as written (`sesame_acr`, `SesameAcr`, Apache's
/// `Require sesame-acr`): ProConnect's `mfa` shortcut stands for its four multi-factor values.
pub fn expand_acr<'a>(
    federation: Federation,
    words: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let rules = rules(federation);
    let mut values: Vec<String> = Vec::new();
    for word in words {
        match rules.acr_shortcut(word) {
            Some(expanded) => values.extend(expanded.iter().map(|s| s.to_string())),
            None => values.push(word.to_owned()),
        }
    }
    values
}

/// True when every accepted value is a multi-factor one: the location asks for MFA.
pub fn asks_mfa(wanted: &[String]) -> bool {
    !wanted.is_empty()
        && wanted
            .iter()
            .all(|w| PC_MFA_ACR_VALUES.contains(&w.as_str()))
}

/// Authentication methods (RFC 8176 + ProConnect's `mail`) and the factor class they prove.
fn factor_of(method: &str) -> Option<&'static str> {
    match method {
        "pwd" | "pin" | "kba" => Some("know"),
        "otp" | "totp" | "sms" | "tel" | "mail" | "hwk" | "swk" | "pop" | "sc" => Some("have"),
        "fpt" | "face" | "iris" | "retina" | "vbm" | "geo" => Some("are"),
        _ => None,
    }
}

/// Does an `amr` claim show a second factor? `mfa`, or methods of two distinct factor classes.
/// `None` when there is no usable amr (the acr alone then decides).
pub fn amr_has_second_factor(amr: Option<&Value>) -> Option<bool> {
    let list = amr?.as_array()?;
    let methods: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    if methods.is_empty() {
        return None;
    }
    if methods.contains(&"mfa") {
        return Some(true);
    }
    let mut classes: Vec<&str> = methods.iter().filter_map(|m| factor_of(m)).collect();
    classes.sort_unstable();
    classes.dedup();
    Some(classes.len() >= 2)
}

/// What a login asked, checked against the returned acr at callback (`Rules::login_asked_acr`).
pub(crate) fn login_asked_acr<'a>(
    federation: Federation,
    location: &'a [String],
    provider: &'a [String],
) -> &'a [String] {
    rules(federation).login_asked_acr(location, provider)
}

/// A returned acr below the level required of the id_token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AcrShortfall {
    /// The acr the id_token carried, as sent ("" when absent).
    pub got: String,
    pub required: String,
}

/// The id_token's `acr` against the provider's requirement: `required_acr`, else the
/// federation's floor (FranceConnect: the lowest eIDAS level of `acr_values`, eidas1 when none
/// is known; FranceConnect+: likewise, eidas2 when none is known). The exact value, or for eIDAS values a higher level, satisfies it. Without a
/// requirement anything is accepted (ProConnect: what was asked, the provider's acr_values or a
/// location's sesame_acr, is a set checked by the engine against the login that asked it).
/// Returns the acr ("" when a generic provider sent none and nothing was required).
pub(crate) fn check_returned_acr(
    federation: Federation,
    acr_values: &[String],
    required_acr: Option<&str>,
    got: Option<&str>,
) -> Result<String, AcrShortfall> {
    let required = match required_acr {
        Some(r) => Some(r.to_owned()),
        None => rules(federation).id_token_acr_floor(acr_values),
    };
    let Some(required) = required else {
        return Ok(got.unwrap_or_default().to_owned());
    };
    let Some(got) = got else {
        return Err(AcrShortfall {
            got: String::new(),
            required,
        });
    };
    let ok = got == required
        || matches!((eidas_rank(got), eidas_rank(&required)), (Some(g), Some(r)) if g >= r);
    if ok {
        Ok(got.to_owned())
    } else {
        Err(AcrShortfall {
            got: got.to_owned(),
            required,
        })
    }
}
