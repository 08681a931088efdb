//! Per-location policy (docs/federations.md §3.3, §5.2): which authentication level a location
//! needs and which claim values it requires.
//!
//! - The acr values a location accepts are checked and compared by its provider's federation
//!   (`federation/`: FranceConnect's levels are ordered, ProConnect's values are a set).
//! - Required claim values are our job: ProConnect filters nobody.

use serde_json::Value;

use crate::directives::registry::{location_name, written, Scope};
use crate::identity::Identity;

use crate::federation::{expand_acr, is_email, is_siret_hint, Federation, LoginOptions};

/// `sesame_require CLAIM VALUE...;` (Apache `SesameRequireClaim` and `Require sesame-claim`:
/// this one implementation serves all three): the claim must hold one of the values. A JSON
/// array claim (roles) matches when one of its elements does; a string claim is compared as it
/// is, even when its text looks like an array. A value starting with `@` matches an e-mail
/// domain, and only when the provider vouches for the address: `email_verified` true when it
/// sends the claim (false, or anything else, never matches), and for a generic provider the
/// claim must be sent (FranceConnect and ProConnect do not send it; their addresses come from
/// the identity providers they federate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequireRule {
    pub claim: String,
    pub values: Vec<String>,
}

impl RequireRule {
    pub fn parse(text: &str) -> Result<RequireRule, String> {
        let mut words = text.split_whitespace();
        let claim = words.next().unwrap_or_default().to_owned();
        let values: Vec<String> = words.map(str::to_owned).collect();
        if claim.is_empty() || values.is_empty() {
            return Err(format!(
                "{} \"{text}\" needs a claim and at least one value (e.g. {} or {})",
                location_name("require"),
                written(Scope::Location, "require", "siret 21750001600019"),
                written(Scope::Location, "require", "email @interieur.gouv.fr")
            ));
        }
        Ok(RequireRule { claim, values })
    }

    /// A rule of one claim and one accepted value (Apache's `Require sesame-claim`, which the
    /// server evaluates one value at a time).
    pub fn single(claim: &str, value: &str) -> RequireRule {
        RequireRule {
            claim: claim.to_owned(),
            values: vec![value.to_owned()],
        }
    }

    fn value_matches(&self, got: &str, email_vouched: bool) -> bool {
        self.values.iter().any(|want| {
            if let Some(domain) = want.strip_prefix('@') {
                email_vouched
                    && got
                        .rsplit_once('@')
                        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain))
            } else {
                got == want
            }
        })
    }

    /// Does the identity's claim hold one of the values? Strings are compared as they are; an
    /// array claim matches when one of its string elements does; numbers and booleans by
    /// their JSON text.
    pub fn satisfied_by(&self, identity: &Identity) -> bool {
        let vouched = email_vouched(identity);
        match identity.claim_text(&self.claim) {
            None => false,
            Some(c) if !c.json => self.value_matches(c.value, vouched),
            Some(c) => serde_json::from_str::<Value>(c.value)
                .is_ok_and(|value| self.satisfied_by_value(&value, vouched)),
        }
    }

    fn satisfied_by_value(&self, value: &Value, vouched: bool) -> bool {
        match value {
            Value::String(s) => self.value_matches(s, vouched),
            Value::Array(list) => list
                .iter()
                .any(|v| v.as_str().is_some_and(|s| self.value_matches(s, vouched))),
            Value::Number(n) => self.value_matches(&n.to_string(), vouched),
            Value::Bool(b) => self.value_matches(&b.to_string(), vouched),
            _ => false,
        }
    }
}

/// May an `@domain` rule trust the identity's e-mail address? `email_verified` decides when
/// sent (JSON `true`, or the string "true" some providers send); absent, only FranceConnect and
/// ProConnect vouch for it.
fn email_vouched(identity: &Identity) -> bool {
    match identity.claim_text("email_verified") {
        Some(c) => c.value == "true",
        None => crate::federation::rules(identity.federation()).vouches_for_email(),
    }
}

/// A hint: fixed, or taken from a query parameter of the request (`$arg_NAME`) and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    Fixed(String),
    FromQuery(String),
}

/// What a protected location does with a request that has no usable session
/// (`sesame_unauth_action`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnauthAction {
    /// Page navigations are sent to the provider; other requests get a 401 (JSON).
    #[default]
    Login,
    /// Every request gets a 401, none starts a login here.
    Deny,
    /// The request goes through without identity (optional login).
    Pass,
}

/// What one protected location asks, validated for its provider's federation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationRules {
    pub unauth: UnauthAction,
    pub acr: Vec<String>,
    pub require: Vec<RequireRule>,
    pub prompt: Option<String>,
    pub login_hint: Option<Hint>,
    pub idp_hint: Option<Hint>,
    pub siret_hint: Option<Hint>,
    /// `sesame_max_auth_age` in seconds (or the default that `sesame_prompt login` implies): a
    /// session whose user authenticated longer ago re-authenticates with prompt=login.
    pub max_auth_age: Option<u64>,
    /// `sesame_pass_access_token on`: the backend receives the login's access token.
    pub pass_access_token: bool,
    /// `sesame_data_refresh on`: a page navigation carrying [`DATA_REFRESH_PARAM`] with a live
    /// session logs in again (same user) so that the provider's data calls run again.
    pub data_refresh: bool,
}

/// The query parameter that asks a `sesame_data_refresh on` location to fetch the data again
/// (`<a href="?sesame_data_refresh=1">`): a link or a button of the application's own page.
pub const DATA_REFRESH_PARAM: &str = "sesame_data_refresh";

/// A location option the federation or the syntax refuses: its key and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionFault {
    pub key: String,
    pub message: String,
}

/// The maximum authentication age `sesame_prompt login` implies without `sesame_max_auth_age`
/// (FranceConnect+ keeps its own sessions 10 minutes).
pub const PROMPT_LOGIN_MAX_AUTH_AGE: u64 = 600;

/// The smallest `sesame_max_auth_age`: below it a user could be sent back to the provider
/// between its login page and the return to the site.
pub const MIN_MAX_AUTH_AGE: u64 = 60;

fn parse_hint(
    key: &str,
    value: &str,
    check: fn(&str) -> bool,
    example: &str,
) -> Result<Hint, String> {
    let n = location_name(key);
    if let Some(name) = value.strip_prefix("$arg_") {
        let ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err(format!(
                "{n} \"{value}\": write $arg_NAME with NAME a query parameter name"
            ));
        }
        return Ok(Hint::FromQuery(name.to_owned()));
    }
    if value.starts_with('$') {
        return Err(format!(
            "{n} \"{value}\": only $arg_NAME (a query parameter, validated) is supported"
        ));
    }
    if !check(value) {
        return Err(format!(
            "{n} \"{value}\" is not valid (write e.g. {example})"
        ));
    }
    Ok(Hint::Fixed(value.to_owned()))
}

fn is_idp_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// What parses one location option's value into `rules`; the message names the option
/// through the registry.
type OptionParser = fn(&mut LocationRules, Federation, &str) -> Result<(), String>;

/// One location option into `rules`, by the key its registry entry names (matched
/// exhaustively: a location option added to the registry needs its parser here).
fn parse_option(
    rules: &mut LocationRules,
    federation: Federation,
    key: &str,
    value: &str,
) -> Result<(), String> {
    use crate::directives::registry::LocationKey;
    let Some(parsed_as) =
        crate::directives::registry::location_option(key).and_then(|d| d.location_key())
    else {
        return Err(format!("unknown location option \"{key}\""));
    };
    let parse: OptionParser = match parsed_as {
        LocationKey::Acr => parse_acr,
        LocationKey::Require => parse_require,
        LocationKey::Prompt => parse_prompt,
        LocationKey::LoginHint => parse_login_hint,
        LocationKey::IdpHint => parse_idp_hint,
        LocationKey::SiretHint => parse_siret_hint,
        LocationKey::UnauthAction => parse_unauth_action,
        LocationKey::MaxAuthAge => parse_max_auth_age,
        // The login page's options: presentation, checked by the page room when the location
        // is resolved (`pages::LoginPage::parse`).
        LocationKey::LoginPage
        | LocationKey::LoginPageTitle
        | LocationKey::LoginPageEligibility
        | LocationKey::LoginPageOwnLogin
        | LocationKey::LoginPageOffer => |_, _, _| Ok(()),
        LocationKey::PassAccessToken => parse_pass_access_token,
        LocationKey::DataRefresh => parse_data_refresh,
    };
    parse(rules, federation, value)
}

/// `sesame_acr` / `SesameAcr`.
pub(crate) fn parse_acr(
    rules: &mut LocationRules,
    federation: Federation,
    value: &str,
) -> Result<(), String> {
    let n = location_name("acr");
    if !rules.acr.is_empty() {
        return Err(format!(
            "{n} is duplicate (list every accepted value in one directive)"
        ));
    }
    let mut values = expand_acr(federation, value.split_whitespace());
    if values.is_empty() {
        return Err(format!("{n} needs at least one value"));
    }
    crate::federation::rules(federation).check_location_acr(&n, &values)?;
    values.dedup();
    rules.acr = values;
    Ok(())
}

/// `sesame_require` / `SesameRequireClaim`: rules accumulate.
pub(crate) fn parse_require(
    rules: &mut LocationRules,
    _federation: Federation,
    value: &str,
) -> Result<(), String> {
    rules.require.push(RequireRule::parse(value)?);
    Ok(())
}

/// `sesame_unauth_action` / `SesameUnauthAction`.
pub(crate) fn parse_unauth_action(
    rules: &mut LocationRules,
    _federation: Federation,
    value: &str,
) -> Result<(), String> {
    rules.unauth = match value {
        "login" => UnauthAction::Login,
        "401" => UnauthAction::Deny,
        "pass" => UnauthAction::Pass,
        _ => {
            return Err(format!(
                "{} \"{value}\" is not valid (expected login, 401 or pass)",
                location_name("unauth_action")
            ))
        }
    };
    Ok(())
}

/// `sesame_pass_access_token` / `SesamePassAccessToken`.
pub(crate) fn parse_pass_access_token(
    rules: &mut LocationRules,
    _federation: Federation,
    value: &str,
) -> Result<(), String> {
    // Any case: Apache writes its flags `On` / `Off`.
    rules.pass_access_token = match value.to_ascii_lowercase().as_str() {
        "on" => true,
        "off" => false,
        _ => {
            return Err(format!(
                "{} \"{value}\" is not valid (expected on or off)",
                location_name("pass_access_token")
            ))
        }
    };
    Ok(())
}

/// `sesame_prompt` / `SesamePrompt`.
pub(crate) fn parse_prompt(
    rules: &mut LocationRules,
    federation: Federation,
    value: &str,
) -> Result<(), String> {
    let n = location_name("prompt");
    if rules.prompt.is_some() {
        return Err(format!("{n} is duplicate"));
    }
    if !matches!(value, "login" | "none") {
        return Err(format!(
            "{n} \"{value}\" is not valid (expected login or none)"
        ));
    }
    crate::federation::rules(federation).check_location_option("prompt", value, &n)?;
    rules.prompt = Some(value.to_owned());
    Ok(())
}

/// What the location's federation says of `key` (`Rules::check_location_option`).
fn carried_by(federation: Federation, key: &str, value: &str) -> Result<(), String> {
    crate::federation::rules(federation).check_location_option(key, value, &location_name(key))
}

/// `sesame_login_hint` / `SesameLoginHint`.
pub(crate) fn parse_login_hint(
    rules: &mut LocationRules,
    federation: Federation,
    value: &str,
) -> Result<(), String> {
    carried_by(federation, "login_hint", value)?;
    rules.login_hint = Some(parse_hint(
        "login_hint",
        value,
        is_email,
        "agent@ministere.gouv.fr or $arg_email",
    )?);
    Ok(())
}

/// `sesame_siret_hint` / `SesameSiretHint`: ProConnect only.
pub(crate) fn parse_siret_hint(
    rules: &mut LocationRules,
    federation: Federation,
    value: &str,
) -> Result<(), String> {
    carried_by(federation, "siret_hint", value)?;
    rules.siret_hint = Some(parse_hint(
        "siret_hint",
        value,
        is_siret_hint,
        "21750001600019 or $arg_siret",
    )?);
    Ok(())
}

/// `sesame_idp_hint` / `SesameIdpHint`.
pub(crate) fn parse_idp_hint(
    rules: &mut LocationRules,
    _federation: Federation,
    value: &str,
) -> Result<(), String> {
    rules.idp_hint = Some(parse_hint(
        "idp_hint",
        value,
        is_idp_id,
        "fia1v2 or $arg_idp",
    )?);
    Ok(())
}

/// `sesame_data_refresh` / `SesameDataRefresh`.
pub(crate) fn parse_data_refresh(
    rules: &mut LocationRules,
    _federation: Federation,
    value: &str,
) -> Result<(), String> {
    rules.data_refresh = match value {
        "on" | "On" => true,
        "off" | "Off" => false,
        _ => {
            return Err(format!(
                "{} \"{value}\" is not valid (expected on or off)",
                location_name("data_refresh")
            ))
        }
    };
    Ok(())
}

impl LocationRules {
    /// Does this request ask for the data again (`sesame_data_refresh on` and
    /// [`DATA_REFRESH_PARAM`] in the query)?
    pub fn asks_data_refresh(&self, query: &str) -> bool {
        self.data_refresh
            && query
                .split('&')
                .any(|pair| pair.split('=').next() == Some(DATA_REFRESH_PARAM))
    }
}

/// `return_to` without [`DATA_REFRESH_PARAM`]: where a data refresh lands (never again on a
/// refresh). The other parameters are kept exactly as written.
pub fn without_data_refresh(return_to: &str) -> String {
    let Some((path, query)) = return_to.split_once('?') else {
        return return_to.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| pair.split('=').next() != Some(DATA_REFRESH_PARAM))
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

/// `sesame_max_auth_age` / `SesameMaxAuthAge`.
pub(crate) fn parse_max_auth_age(
    rules: &mut LocationRules,
    _federation: Federation,
    value: &str,
) -> Result<(), String> {
    let n = location_name("max_auth_age");
    if rules.max_auth_age.is_some() {
        return Err(format!("{n} is duplicate"));
    }
    let secs = crate::directives::parse_duration(value)
        .map(|d| d.as_secs())
        .ok_or_else(|| format!("{n} \"{value}\" is not a duration (write e.g. 15m or 1h)"))?;
    if secs < MIN_MAX_AUTH_AGE {
        return Err(format!(
            "{n} \"{value}\" is below 60s: users could be sent back to the provider between its login page and the return to this site"
        ));
    }
    rules.max_auth_age = Some(secs);
    Ok(())
}

impl LocationRules {
    /// Validates a location's options (`acr`, `require`, `prompt`, `login_hint`, `idp_hint`,
    /// `siret_hint`) against the federation: what it would refuse fails here, at config test.
    pub fn parse(
        federation: Federation,
        options: &[(String, String)],
    ) -> Result<LocationRules, OptionFault> {
        let mut rules = LocationRules::default();
        for (key, value) in options {
            parse_option(&mut rules, federation, key, value.trim()).map_err(|message| {
                OptionFault {
                    key: key.clone(),
                    message,
                }
            })?;
        }
        match rules.prompt.as_deref() {
            Some("none") if rules.max_auth_age.is_some() => {
                return Err(OptionFault {
                    key: "max_auth_age".into(),
                    message: format!(
                        "{} re-authenticates with prompt=login: it cannot be combined with {} none",
                        location_name("max_auth_age"),
                        location_name("prompt")
                    ),
                });
            }
            Some("login") if rules.max_auth_age.is_none() => {
                rules.max_auth_age = Some(PROMPT_LOGIN_MAX_AUTH_AGE);
            }
            _ => {}
        }
        if federation == Federation::Generic
            && (rules.siret_hint.is_some() || rules.idp_hint.is_some())
        {
            let key = if rules.idp_hint.is_some() {
                "idp_hint"
            } else {
                "siret_hint"
            };
            return Err(OptionFault {
                key: key.into(),
                message: format!(
                    "{} and {} need a ProConnect or FranceConnect preset",
                    location_name("idp_hint"),
                    location_name("siret_hint")
                ),
            });
        }
        Ok(rules)
    }

    /// The options of a login started for this location; hints taken from the query are
    /// validated and silently dropped when malformed (ProConnect would answer Y000400).
    pub fn login_options(&self, query: &str) -> LoginOptions {
        let pick = |hint: &Option<Hint>, check: fn(&str) -> bool| -> Option<String> {
            match hint.as_ref()? {
                Hint::Fixed(v) => Some(v.clone()),
                Hint::FromQuery(name) => url::form_urlencoded::parse(query.as_bytes())
                    .find(|(k, _)| k == name.as_str())
                    .map(|(_, v)| v.into_owned())
                    .filter(|v| check(v)),
            }
        };
        LoginOptions {
            acr: self.acr.clone(),
            // A location with a maximum authentication age asks for a fresh one (prompt=login;
            // never max_age, which FranceConnect refuses with Y030007 and ProConnect ignores).
            prompt: self
                .prompt
                .clone()
                .or_else(|| self.max_auth_age.map(|_| "login".to_owned())),
            login_hint: pick(&self.login_hint, is_email),
            idp_hint: pick(&self.idp_hint, is_idp_id),
            siret_hint: pick(&self.siret_hint, is_siret_hint),
        }
    }

    /// Did the session's user authenticate longer ago than this location accepts?
    pub fn authentication_too_old(&self, id: &Identity, now: u64) -> bool {
        self.max_auth_age
            .is_some_and(|max| now.saturating_sub(id.auth_time()) > max)
    }

    /// The first required claim the session does not satisfy.
    pub fn unmet_requirement(&self, identity: &Identity) -> Option<&RequireRule> {
        self.require.iter().find(|r| !r.satisfied_by(identity))
    }
}

/// How a nested section treats an enclosing option (the registry says, per option).
fn inherits_by_replacing(key: &str) -> bool {
    use crate::directives::registry::{location_option, Inherit};
    location_option(key).is_none_or(|d| d.inherit == Inherit::Replace)
}

/// Where one option of a nested section comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picked {
    /// The enclosing section's option at this index.
    Enclosing(usize),
    /// The nested section's own option at this index.
    Own(usize),
}

/// How a nested section relates to the options of the section around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// Same provider: the enclosing options, then its own on top ([`pick_inherited`]).
    Inherits,
    /// Another provider, or nothing to inherit: its own options only.
    StartsClean,
}

/// The one nesting rule of both servers (nginx `location` in a `location`, Apache sections
/// in the order it merges them, `.htaccess` included): `enclosing_provider` is the provider
/// the enclosing section protects with (None when none is named there or before it),
/// `own_provider` the one the nested section names itself (None: it keeps the enclosing one).
/// Only a section naming another provider than the one the options were written under starts
/// clean: they were written for that provider and its federation. Options written where no
/// provider is named yet go to the section that names one — Apache merges `<Directory>` and
/// `.htaccess` before `<Location>`, so an `.htaccess`'s options meet the `SesameUse` of a
/// `<Location>` this way; nginx refuses options without an enclosing `sesame` at `nginx -t`
/// ([`nest_location`]), before any merge.
pub fn nesting(
    enclosing_provider: Option<&str>,
    enclosing_has_options: bool,
    own_provider: Option<&str>,
) -> Nesting {
    match (enclosing_provider, own_provider) {
        _ if !enclosing_has_options => Nesting::StartsClean,
        (Some(enclosing), Some(own)) if enclosing != own => Nesting::StartsClean,
        _ => Nesting::Inherits,
    }
}

/// The options a nested section that [`Nesting::Inherits`] ends up with, in order: each
/// enclosing option its own do not replace (an option it writes replaces the inherited one —
/// `acr`, `prompt`, hints —, `require` rules accumulate: the registry's `Inherit` says which),
/// then its own. Keys are read through `enclosing_key` / `own_key` so that callers holding
/// them in any shape (Rust pairs, C strings) pay no copy.
pub fn pick_inherited<'k>(
    enclosing_len: usize,
    enclosing_key: impl Fn(usize) -> &'k str,
    own_len: usize,
    own_key: impl Fn(usize) -> &'k str,
    mut pick: impl FnMut(Picked),
) {
    for i in 0..enclosing_len {
        let key = enclosing_key(i);
        // The registry is asked only about a key the nested section writes too.
        if !(0..own_len).any(|j| own_key(j) == key) || !inherits_by_replacing(key) {
            pick(Picked::Enclosing(i));
        }
    }
    (0..own_len).for_each(|j| pick(Picked::Own(j)));
}

impl crate::directives::LocationSpec {
    /// The settings of a nested section (nginx `location` in a `location`, Apache `<Location>`
    /// in a wider one) under those of the enclosing `parent`, by [`nesting`] and
    /// [`pick_inherited`]: when both protect with the same provider, this section keeps the
    /// enclosing options and its own come on top. Another provider, or an enclosing section
    /// that does not protect, starts clean.
    pub fn inherit(&mut self, parent: &crate::directives::LocationSpec) {
        use crate::directives::LocationMode::Protect;
        if self.mode != Protect {
            return;
        }
        // nginx refuses options without an enclosing provider before merging
        // (`nest_location`): a parent that does not protect carries none.
        let enclosing_provider = (parent.mode == Protect).then_some(parent.provider.as_str());
        if nesting(
            enclosing_provider,
            !parent.options.is_empty(),
            Some(&self.provider),
        ) != Nesting::Inherits
        {
            return;
        }
        let own = std::mem::take(&mut self.options);
        let mut options = Vec::with_capacity(parent.options.len() + own.len());
        pick_inherited(
            parent.options.len(),
            |i| parent.options[i].0.as_str(),
            own.len(),
            |j| own[j].0.as_str(),
            |picked| match picked {
                Picked::Enclosing(i) => options.push(parent.options[i].clone()),
                Picked::Own(j) => options.push(own[j].clone()),
            },
        );
        self.options = options;
    }
}

/// What a location writes itself, before it is merged with its enclosing location.
#[derive(Debug, Clone)]
pub enum OwnSetting {
    /// Neither `sesame` nor `sesame_logout` here.
    Unset,
    /// `sesame off;`.
    Off,
    /// `sesame NAME;` or `sesame_logout NAME [local];` (options still empty).
    On(crate::directives::LocationSpec),
}

/// An option written where no protected location encloses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionWithoutProvider {
    /// The first such option's key.
    pub key: String,
}

/// nginx's merge of a nested location (`merge_loc_conf`, and `sesame config check` with it):
/// this location's options on top of the enclosing protected location's, by
/// [`LocationSpec::inherit`](crate::directives::LocationSpec::inherit). `Ok(None)`: the location
/// keeps what it wrote or inherits the enclosing setting unchanged.
pub fn nest_location(
    own: OwnSetting,
    options: Vec<(String, String)>,
    parent: Option<&crate::directives::LocationSpec>,
) -> Result<Option<crate::directives::LocationSpec>, OptionWithoutProvider> {
    use crate::directives::{LocationMode::Protect, LocationSpec};
    match (own, parent) {
        (OwnSetting::On(mut spec), _) if spec.mode == Protect => {
            spec.options = options;
            if let Some(parent) = parent {
                spec.inherit(parent);
            }
            Ok(Some(spec))
        }
        (OwnSetting::Unset, Some(parent)) if parent.mode == Protect && !options.is_empty() => {
            let mut spec = LocationSpec {
                mode: Protect,
                provider: parent.provider.clone(),
                options,
            };
            spec.inherit(parent);
            Ok(Some(spec))
        }
        _ if !options.is_empty() => Err(OptionWithoutProvider {
            key: options[0].0.clone(),
        }),
        (OwnSetting::On(spec), _) => Ok(Some(spec)),
        _ => Ok(None),
    }
}

/// Why a location option's arguments were refused before its value is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionArgsError {
    /// A single-valued option got none or several.
    NotOneValue,
    /// Another count than the registry's arity (e.g. `sesame_acr;` with no value).
    WrongCount,
    /// A non-repeatable option appears twice in one location.
    Duplicate,
}

/// Records one location option (a registry entry with `Parser::LocationOption(_)`) after the
/// checks every adapter makes at its line: arity and repetition.
pub fn add_location_option(
    options: &mut Vec<(String, String)>,
    directive: &crate::directives::registry::Directive,
    args: &[&str],
) -> Result<(), OptionArgsError> {
    use crate::directives::registry::Arity;
    if directive.arity == Arity::One && args.len() != 1 {
        return Err(OptionArgsError::NotOneValue);
    }
    if !directive.arity.accepts(args.len()) {
        return Err(OptionArgsError::WrongCount);
    }
    if !directive.repeatable && options.iter().any(|(k, _)| k == directive.key) {
        return Err(OptionArgsError::Duplicate);
    }
    options.push((directive.key.to_owned(), args.join(" ")));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn require_rules_match_strings_arrays_and_email_domains() {
        let claims = json!({"siret": "21750001600019", "roles": ["agent_public", "x"],
                            "email": "jean@Interieur.gouv.fr", "idp_id": "fia1v2",
                            "level": 3, "agent": true});
        let id =
            crate::claims::identity("pc", "i", "s", "eidas1", claims.as_object().unwrap(), "sub")
                .with_login_facts(false, Federation::ProConnect);
        let ok = |t: &str| RequireRule::parse(t).unwrap().satisfied_by(&id);
        assert!(ok("level 3"));
        assert!(!ok("level 4"));
        assert!(ok("agent true"));
        assert!(ok("siret 11111111111111 21750001600019"));
        assert!(!ok("siret 11111111111111"));
        assert!(ok("roles agent_public_etat agent_public"));
        assert!(!ok("roles dirigeant"));
        assert!(ok("email @interieur.gouv.fr"));
        assert!(!ok("email @gouv.fr"));
        assert!(ok("idp_id fia1v2"));
        assert!(!ok("missing x"));
        assert!(RequireRule::parse("siret").is_err());
    }

    fn pc_identity(acr: &str, mfa: bool) -> Identity {
        crate::claims::identity("pc", "i", "s", acr, &serde_json::Map::new(), "sub")
            .with_login_facts(mfa, Federation::ProConnect)
    }

    fn with_claims(federation: Federation, claims: Value) -> Identity {
        let map = claims.as_object().cloned().unwrap_or_default();
        crate::claims::identity("p", "i", "s", "eidas1", &map, "sub")
            .with_login_facts(false, federation)
    }

    #[test]
    fn string_claim_that_looks_like_an_array_is_compared_as_a_string() {
        let id = with_claims(
            Federation::ProConnect,
            json!({"roles": "[\"agent_public\"]", "groups": ["agent_public"]}),
        );
        let ok = |t: &str| RequireRule::parse(t).unwrap().satisfied_by(&id);
        assert!(!ok("roles agent_public"), "a string is not an array");
        assert!(ok("roles [\"agent_public\"]"));
        assert!(ok("groups agent_public"));
        assert!(RequireRule::single("groups", "agent_public").satisfied_by(&id));
    }

    #[test]
    fn domain_rules_need_an_address_the_provider_vouches_for() {
        let rule = RequireRule::parse("email @fia1.fr").unwrap();
        let email = |verified: Option<Value>| {
            let mut c = json!({"email": "agent@fia1.fr"});
            if let Some(v) = verified {
                c["email_verified"] = v;
            }
            c
        };
        for fed in [Federation::ProConnect, Federation::FranceConnect] {
            assert!(rule.satisfied_by(&with_claims(fed, email(None))));
            assert!(!rule.satisfied_by(&with_claims(fed, email(Some(json!(false))))));
        }
        let generic = Federation::Generic;
        assert!(!rule.satisfied_by(&with_claims(generic, email(None))));
        assert!(!rule.satisfied_by(&with_claims(generic, email(Some(json!(false))))));
        assert!(!rule.satisfied_by(&with_claims(generic, email(Some(json!("yes"))))));
        assert!(rule.satisfied_by(&with_claims(generic, email(Some(json!(true))))));
        assert!(rule.satisfied_by(&with_claims(generic, email(Some(json!("true"))))));
        // An exact address is not a domain rule: email_verified plays no part.
        let exact = RequireRule::parse("email agent@fia1.fr").unwrap();
        assert!(exact.satisfied_by(&with_claims(generic, email(None))));
    }

    #[test]
    fn maximum_authentication_age_is_validated_and_implied_by_prompt_login() {
        let pc = Federation::ProConnect;
        let fc = Federation::FranceConnect;
        let r = LocationRules::parse(fc, &opts(&[("max_auth_age", "15m")])).unwrap();
        assert_eq!(r.max_auth_age, Some(900));
        assert_eq!(r.login_options("").prompt.as_deref(), Some("login"));
        let r = LocationRules::parse(fc, &opts(&[("prompt", "login")])).unwrap();
        assert_eq!(r.max_auth_age, Some(PROMPT_LOGIN_MAX_AUTH_AGE));
        let r = LocationRules::parse(pc, &opts(&[("prompt", "login"), ("max_auth_age", "1h")]))
            .unwrap();
        assert_eq!(r.max_auth_age, Some(3600));
        for bad in [
            vec![("max_auth_age", "soon")],
            vec![("max_auth_age", "30s")],
            vec![("max_auth_age", "5m"), ("max_auth_age", "6m")],
            vec![("prompt", "none"), ("max_auth_age", "5m")],
        ] {
            assert!(LocationRules::parse(pc, &opts(&bad)).is_err(), "{bad:?}");
        }
        assert_eq!(LocationRules::parse(pc, &[]).unwrap().max_auth_age, None);
    }

    #[test]
    fn authentication_older_than_the_maximum_age_needs_a_new_one() {
        let r = LocationRules::parse(Federation::ProConnect, &opts(&[("max_auth_age", "10m")]))
            .unwrap();
        let at = |t: u64| pc_identity("eidas1", false).with_auth_time(t);
        assert!(!r.authentication_too_old(&at(10_000), 10_600));
        assert!(r.authentication_too_old(&at(10_000), 10_601));
        assert!(
            r.authentication_too_old(&at(0), 10_000),
            "unknown = ancient"
        );
        assert!(!r.authentication_too_old(&at(u64::MAX), 10), "no underflow");
        assert!(!LocationRules::default().authentication_too_old(&at(0), u64::MAX));
    }

    fn opts(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn franceconnect_refuses_at_config_time_what_it_refuses_at_login() {
        let fc = Federation::FranceConnect;
        for bad in [
            ("acr", "eidas2"),
            ("prompt", "none"),
            ("login_hint", "a@b.fr"),
            ("siret_hint", "21750001600019"),
        ] {
            assert!(LocationRules::parse(fc, &opts(&[bad])).is_err(), "{bad:?}");
        }
        assert!(LocationRules::parse(fc, &opts(&[("acr", "eidas1"), ("prompt", "login")])).is_ok());
    }

    #[test]
    fn proconnect_options_are_validated_and_mfa_expands() {
        use crate::federation::PC_MFA_ACR_VALUES;
        let pc = Federation::ProConnect;
        let r = LocationRules::parse(pc, &opts(&[("acr", "mfa"), ("prompt", "none")])).unwrap();
        assert_eq!(r.acr, v(PC_MFA_ACR_VALUES));
        assert!(LocationRules::parse(pc, &opts(&[("acr", "eidas4")])).is_err());
        assert!(LocationRules::parse(pc, &opts(&[("login_hint", "not-an-email")])).is_err());
        assert!(LocationRules::parse(pc, &opts(&[("siret_hint", "123")])).is_err());
        assert!(LocationRules::parse(pc, &opts(&[("prompt", "select_account")])).is_err());
        assert!(LocationRules::parse(pc, &opts(&[("login_hint", "$http_x")])).is_err());
    }

    fn protect(provider: &str, list: &[(&str, &str)]) -> crate::directives::LocationSpec {
        crate::directives::LocationSpec {
            mode: crate::directives::LocationMode::Protect,
            provider: provider.into(),
            options: opts(list),
        }
    }

    #[test]
    fn nested_section_of_the_same_provider_keeps_the_enclosing_options() {
        let parent = protect(
            "pc",
            &[("acr", "mfa"), ("require", "siret 1"), ("prompt", "login")],
        );
        let mut child = protect("pc", &[("require", "idp_id x"), ("acr", "eidas1")]);
        child.inherit(&parent);
        assert_eq!(
            child.options,
            opts(&[
                ("require", "siret 1"),
                ("prompt", "login"),
                ("require", "idp_id x"),
                ("acr", "eidas1"),
            ]),
            "the child's acr replaces the parent's, require rules accumulate"
        );
        let mut bare = protect("pc", &[]);
        bare.inherit(&parent);
        assert_eq!(bare.options, parent.options);
    }

    #[test]
    fn nested_section_of_another_provider_or_under_a_logout_starts_clean() {
        let parent = protect("pc", &[("acr", "mfa"), ("require", "siret 1")]);
        let mut other = protect("fc", &[("prompt", "login")]);
        other.inherit(&parent);
        assert_eq!(other.options, opts(&[("prompt", "login")]));
        let logout = crate::directives::LocationSpec {
            mode: crate::directives::LocationMode::Logout,
            provider: "pc".into(),
            options: Vec::new(),
        };
        let mut under_logout = protect("pc", &[]);
        under_logout.inherit(&logout);
        assert!(under_logout.options.is_empty());
        let mut logout_child = logout.clone();
        logout_child.inherit(&parent);
        assert!(
            logout_child.options.is_empty(),
            "a logout endpoint takes no options"
        );
    }

    #[test]
    fn only_a_section_naming_another_provider_starts_clean() {
        assert_eq!(
            nesting(None, true, Some("pc")),
            Nesting::Inherits,
            "options written before any provider go to the section that names one"
        );
        assert_eq!(nesting(None, true, None), Nesting::Inherits);
        assert_eq!(nesting(None, false, Some("pc")), Nesting::StartsClean);
        assert_eq!(nesting(Some("pc"), true, None), Nesting::Inherits);
        assert_eq!(nesting(Some("pc"), true, Some("pc")), Nesting::Inherits);
        assert_eq!(nesting(Some("pc"), true, Some("fc")), Nesting::StartsClean);
    }

    #[test]
    fn unauth_action_takes_login_401_or_pass() {
        let fc = Federation::FranceConnect;
        let parse = |v: &str| LocationRules::parse(fc, &opts(&[("unauth_action", v)]));
        assert_eq!(parse("login").unwrap().unauth, UnauthAction::Login);
        assert_eq!(parse("401").unwrap().unauth, UnauthAction::Deny);
        assert_eq!(parse("pass").unwrap().unauth, UnauthAction::Pass);
        assert!(parse("redirect")
            .unwrap_err()
            .message
            .contains("expected login, 401 or pass"));
        assert_eq!(
            LocationRules::parse(fc, &[]).unwrap().unauth,
            UnauthAction::Login
        );
    }

    #[test]
    fn hints_from_the_query_are_validated_before_use() {
        let pc = Federation::ProConnect;
        let r = LocationRules::parse(
            pc,
            &opts(&[
                ("login_hint", "$arg_email"),
                ("siret_hint", "$arg_siret"),
                ("idp_hint", "fia1v2"),
            ]),
        )
        .unwrap();
        let o = r.login_options("email=agent%40fia1.fr&siret=123");
        assert_eq!(o.login_hint.as_deref(), Some("agent@fia1.fr"));
        assert_eq!(
            o.siret_hint, None,
            "a malformed siret is dropped, never sent"
        );
        assert_eq!(o.idp_hint.as_deref(), Some("fia1v2"));
    }

    #[test]
    fn a_data_refresh_lands_on_the_page_without_its_parameter() {
        assert_eq!(
            without_data_refresh("/creche/form?sesame_data_refresh=1"),
            "/creche/form"
        );
        assert_eq!(
            without_data_refresh("/f?a=%20x&sesame_data_refresh&b=2"),
            "/f?a=%20x&b=2"
        );
        assert_eq!(without_data_refresh("/f"), "/f");
        let on = LocationRules {
            data_refresh: true,
            ..LocationRules::default()
        };
        assert!(on.asks_data_refresh("sesame_data_refresh=1"));
        assert!(on.asks_data_refresh("a=1&sesame_data_refresh"));
        assert!(!on.asks_data_refresh("x_sesame_data_refresh=1"));
        assert!(!on.asks_data_refresh("a=sesame_data_refresh"));
        assert!(
            !LocationRules::default().asks_data_refresh("sesame_data_refresh=1"),
            "only where the location turns it on"
        );
    }
}
