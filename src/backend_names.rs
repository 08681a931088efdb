//! Every name a backend reads, built here and nowhere else: for each claim and each fixed
//! variable, its environment / FastCGI parameter name (`SESAME_CLAIM_GIVEN_NAME`), its request
//! header name (`X-Sesame-Claim-Given-Name`), its nginx variable names (`$sesame_claim_given_name`,
//! `$sesame_header_given_name`) and its mod_auth_openidc name (`OIDC_CLAIM_given_name`).
//!
//! The nginx include files (`nginx/conf/sesame_*params*`) are generated from this room
//! (`include_files`), the Apache shim gets final names from it through the C ABI, and the nginx
//! module finds claims by the same rule: a name means the same claim on both servers.
//!
//! Claim names are the provider's (`chorusdt:matricule`, `Custom Claim`): each kind of name has
//! one rule for the bytes it cannot hold, applied byte by byte (a non-ASCII letter is two or more
//! bytes, each replaced):
//! - environment names: ASCII letters upper-cased, digits kept, every other byte `_`;
//! - nginx variables: ASCII letters lower-cased (nginx lower-cases variable names), digits kept,
//!   every other byte `_`;
//! - header names: words of ASCII letters and digits, capitalised, every other byte `-`;
//! - mod_auth_openidc: the name as written, HTTP separators and control characters `-`.

pub mod include_files;

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::claims::encode_header_value;
use crate::identity::{Identity, UNIFORM_CLAIMS};

/// Prefix of the environment / FastCGI name of every claim.
const CLAIM_ENV_PREFIX: &str = "SESAME_CLAIM_";
/// Prefix of the environment name of every uniform claim (and of the fixed variables).
const ENV_PREFIX: &str = "SESAME_";
/// Prefix of the request header of every claim.
const CLAIM_HEADER_PREFIX: &str = "X-Sesame-Claim-";
/// Prefix of the request header of every uniform claim (and of the fixed variables).
const HEADER_PREFIX: &str = "X-Sesame-";
/// nginx prefix variable: a claim's raw value.
pub const CLAIM_VARIABLE_PREFIX: &str = "sesame_claim_";
/// nginx prefix variable: a claim's value, header-encoded.
pub const CLAIM_HEADER_VARIABLE_PREFIX: &str = "sesame_header_";
/// nginx prefix variable: a claim as mod_auth_openidc passes it.
pub const OIDC_CLAIM_VARIABLE_PREFIX: &str = "sesame_oidc_claim_";
/// nginx variables of the uniform claims: `$sesame_given_name`, header-encoded
/// `$sesame_uniform_header_given_name`.
const UNIFORM_VARIABLE_PREFIX: &str = "sesame_";
const UNIFORM_HEADER_VARIABLE_PREFIX: &str = "sesame_uniform_header_";
/// mod_auth_openidc's claim prefix (its `OIDCClaimPrefix` default).
pub const OIDC_CLAIM_PREFIX: &str = "OIDC_CLAIM_";
/// The user name variable of CGI, FastCGI and mod_auth_openidc alike.
pub const REMOTE_USER: &str = "REMOTE_USER";
/// nginx variable of mod_auth_openidc's REMOTE_USER (`sub@issuer`).
pub const OIDC_REMOTE_USER_VARIABLE: &str = "sesame_oidc_remote_user";
/// Prefix of a data call's environment / FastCGI name: `SESAME_DATA_<NAME>` (the JSON text),
/// `SESAME_DATA_<NAME>_ERROR` (why there is none).
const DATA_ENV_PREFIX: &str = "SESAME_DATA_";
const DATA_ERROR_SUFFIX: &str = "_ERROR";
/// nginx prefix variable of a data call: `$sesame_data_<name>`, `$sesame_data_<name>_error`.
pub const DATA_VARIABLE_PREFIX: &str = "sesame_data_";
const DATA_ERROR_VARIABLE_SUFFIX: &str = "_error";

/// What a backend sees besides the claims, one value per identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixed {
    /// `REMOTE_USER`: the configured claim (`sub` by default).
    RemoteUser,
    /// `SESAME_PROVIDER`: the provider's configured name.
    Provider,
    /// `SESAME_ACR`: the level the provider asserted.
    Acr,
    /// `SESAME_USER`: the stable user key (issuer + sub).
    User,
    /// `SESAME_CLAIMS`: every claim as one JSON object, so that no claim is lost on a server
    /// that only passes the parameters it is told to.
    Claims,
    /// `SESAME_DATA`: every data call's JSON result as one object `{"NAME": ...}`.
    Data,
    /// `SESAME_DATA_ERRORS`: every failed data call's reason as one object `{"NAME": "timeout"}`.
    DataErrors,
}

impl Fixed {
    /// In the order backends are given them.
    pub const ALL: [Fixed; 7] = [
        Fixed::RemoteUser,
        Fixed::Provider,
        Fixed::Acr,
        Fixed::User,
        Fixed::Claims,
        Fixed::Data,
        Fixed::DataErrors,
    ];

    /// Environment / FastCGI parameter name.
    pub fn env_name(self) -> &'static str {
        match self {
            Fixed::RemoteUser => REMOTE_USER,
            Fixed::Provider => "SESAME_PROVIDER",
            Fixed::Acr => "SESAME_ACR",
            Fixed::User => "SESAME_USER",
            Fixed::Claims => "SESAME_CLAIMS",
            Fixed::Data => "SESAME_DATA",
            Fixed::DataErrors => "SESAME_DATA_ERRORS",
        }
    }

    /// Request header name; None for REMOTE_USER, whose configurable claim could hold any
    /// text and which proxies and backends trust as the authenticated user: applications read
    /// the header-encoded claim of their choice instead. None for the data results too: up to
    /// 64 KiB each, more than proxies accept in a header.
    pub fn header_name(self) -> Option<&'static str> {
        match self {
            Fixed::RemoteUser | Fixed::Data | Fixed::DataErrors => None,
            Fixed::Provider => Some("X-Sesame-Provider"),
            Fixed::Acr => Some("X-Sesame-Acr"),
            Fixed::User => Some("X-Sesame-User"),
            Fixed::Claims => Some("X-Sesame-Claims"),
        }
    }

    /// nginx variable holding the raw value.
    pub fn nginx_variable(self) -> &'static str {
        match self {
            Fixed::RemoteUser => "sesame_remote_user",
            Fixed::Provider => "sesame_provider",
            Fixed::Acr => "sesame_acr",
            Fixed::User => "sesame_user",
            Fixed::Claims => "sesame_claims",
            Fixed::Data => "sesame_data",
            Fixed::DataErrors => "sesame_data_errors",
        }
    }

    /// nginx variable for the request header: the raw variable when the value is header-safe
    /// by construction (provider names, acr and user key are checked visible ASCII), else a
    /// percent-encoded one. `sesame_claims_header`, not `sesame_header_claims`, which is the
    /// header variable of a claim named `claims`.
    pub fn nginx_header_variable(self) -> Option<&'static str> {
        match self {
            Fixed::Claims => Some("sesame_claims_header"),
            other => other.header_name().map(|_| other.nginx_variable()),
        }
    }
}

impl Fixed {
    /// This variable's value for an identity (raw).
    pub fn value(self, id: &Identity) -> &str {
        match self {
            Fixed::RemoteUser => id.remote_user(),
            Fixed::Provider => id.provider(),
            Fixed::Acr => id.acr(),
            Fixed::User => id.user_key(),
            Fixed::Claims => id.claims_json(),
            Fixed::Data => id.data_object(),
            Fixed::DataErrors => id.data_errors(),
        }
    }

    /// This variable's value for a request header: percent-encoded (`SESAME_CLAIMS`'s is built
    /// once per identity).
    pub fn header_value(self, id: &Identity) -> Cow<'_, str> {
        match self {
            Fixed::Claims => Cow::Borrowed(id.claims_json_header()),
            other => Cow::Owned(encode_header_value(other.value(id))),
        }
    }
}

/// The access token handed to the backend (`sesame_pass_access_token`): environment and
/// FastCGI only. No request header carries it: a proxied application gets it only in a header
/// the operator writes by name (`proxy_set_header Authorization "Bearer $sesame_access_token"`),
/// and the "all claims" header sets never include it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handed {
    /// `SESAME_ACCESS_TOKEN`: the bearer token as the provider issued it.
    AccessToken,
    /// `SESAME_ACCESS_TOKEN_EXPIRES`: Unix seconds after which it is no longer valid.
    AccessTokenExpires,
    /// `SESAME_SCOPE`: the scopes granted with it, space-separated.
    Scope,
}

impl Handed {
    pub const ALL: [Handed; 3] = [
        Handed::AccessToken,
        Handed::AccessTokenExpires,
        Handed::Scope,
    ];

    /// Environment / FastCGI parameter name.
    pub fn env_name(self) -> &'static str {
        match self {
            Handed::AccessToken => "SESAME_ACCESS_TOKEN",
            Handed::AccessTokenExpires => "SESAME_ACCESS_TOKEN_EXPIRES",
            Handed::Scope => "SESAME_SCOPE",
        }
    }

    /// nginx variable holding the value.
    pub fn nginx_variable(self) -> &'static str {
        match self {
            Handed::AccessToken => "sesame_access_token",
            Handed::AccessTokenExpires => "sesame_access_token_expires",
            Handed::Scope => "sesame_scope",
        }
    }

    /// The value for this request, or None when no token is handed over with it.
    pub fn value(self, id: &Identity) -> Option<&str> {
        let t = id.access()?;
        Some(match self {
            Handed::AccessToken => &t.token,
            Handed::AccessTokenExpires => &t.expires,
            Handed::Scope => &t.scope,
        })
    }
}

/// The names of an identity's claims, built once per set of claim names and shared by every
/// identity with those claims (Apache sets them on every request; nginx looks claims up by them).
impl Identity {
    /// The claims' environment names (`SESAME_CLAIM_<NAME>`), in claim order.
    pub fn claim_env_names(&self) -> &[Box<str>] {
        self.shape_names().env.get_or_init(|| {
            let names = self.claim_names().iter();
            names.map(|n| claim_env_name(n).into_boxed_str()).collect()
        })
    }

    /// The claims' request header names (`X-Sesame-Claim-<Name>`), in claim order.
    pub fn claim_header_names(&self) -> &[Box<str>] {
        self.shape_names().header.get_or_init(|| {
            let names = self.claim_names().iter();
            names
                .map(|n| claim_header_name(n).into_boxed_str())
                .collect()
        })
    }

    /// Each data result's environment names, `(SESAME_DATA_<NAME>, SESAME_DATA_<NAME>_ERROR)`,
    /// in [`Identity::data`] order.
    pub fn data_env_names(&self) -> &[(Box<str>, Box<str>)] {
        let Some(cell) = self.data_env_names_view() else {
            return &[];
        };
        cell.get_or_init(|| {
            self.data()
                .map(|d| {
                    (
                        data_env_name(d.name).into_boxed_str(),
                        data_error_env_name(d.name).into_boxed_str(),
                    )
                })
                .collect()
        })
    }

    /// True when every claim name is already in nginx's folded variable form, so that a
    /// folded lookup can be skipped.
    pub fn claim_names_are_folded(&self) -> bool {
        *self
            .shape_names()
            .folded
            .get_or_init(|| self.claim_names().iter().all(|n| is_nginx_form(n)))
    }
}

/// The environment variables of the `sesame` variable set for an identity, with their final
/// names, empty values left out (as nginx's `if_not_empty`): `SESAME_PROVIDER`, `SESAME_ACR`,
/// `SESAME_USER`, `SESAME_CLAIMS`, `SESAME_CLAIM_<NAME>` for every claim, then the present
/// uniform claims (`SESAME_GIVEN_NAME`...), and the access token when this request hands it
/// over ([`Handed`]). Not `REMOTE_USER`: a server sets it from its own
/// user field (Apache's `r->user`).
pub fn env_vars(id: &Identity) -> impl Iterator<Item = (&str, &str)> + '_ {
    let fixed = Fixed::ALL
        .into_iter()
        .filter(|f| *f != Fixed::RemoteUser)
        .map(move |f| (f.env_name(), f.value(id)));
    let claims = id
        .claim_env_names()
        .iter()
        .zip(id.claims())
        .map(|(name, c)| (&**name, c.value));
    let uniform = uniform_present(id).map(|(i, value)| (uniform_env_names()[i].as_str(), value));
    let handed = Handed::ALL
        .into_iter()
        .filter_map(move |h| Some((h.env_name(), h.value(id)?)));
    let data =
        id.data_env_names()
            .iter()
            .zip(id.data())
            .map(|((value_name, error_name), d)| match (d.json, d.error) {
                (Some(json), _) => (&**value_name, json),
                (None, reason) => (&**error_name, reason.unwrap_or_default()),
            });
    fixed
        .chain(claims)
        .chain(uniform)
        .chain(handed)
        .chain(data)
        .filter(|(_, value)| !value.is_empty())
}

/// The request headers for proxied applications, final names and percent-encoded values,
/// empty values left out: `X-Sesame-Provider`, `-Acr`, `-User`, `-Claims`,
/// `X-Sesame-Claim-<Name>` for every claim, then the present uniform claims.
pub fn header_vars(id: &Identity) -> impl Iterator<Item = (&str, Cow<'_, str>)> + '_ {
    let fixed = Fixed::ALL.into_iter().filter_map(move |f| {
        let name = f.header_name()?;
        (!f.value(id).is_empty()).then(|| (name, f.header_value(id)))
    });
    let claims = id
        .claim_header_names()
        .iter()
        .zip(id.claims())
        .filter(|(_, c)| !c.value.is_empty())
        .map(|(name, c)| (&**name, Cow::Owned(encode_header_value(c.value))));
    let uniform = uniform_present(id)
        .filter(|(_, value)| !value.is_empty())
        .map(|(i, value)| {
            (
                uniform_header_names()[i].as_str(),
                Cow::Owned(encode_header_value(value)),
            )
        });
    fixed.chain(claims).chain(uniform)
}

/// `(index in UNIFORM_CLAIMS, value)` of the uniform claims the identity has.
fn uniform_present(id: &Identity) -> impl Iterator<Item = (usize, &str)> + '_ {
    (0..UNIFORM_CLAIMS.len()).filter_map(move |i| id.uniform_at(i).map(|(_, value)| (i, value)))
}

/// [`uniform_env_name`] of each uniform claim, built once per process.
fn uniform_env_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| UNIFORM_CLAIMS.iter().map(|u| uniform_env_name(u)).collect())
}

/// [`uniform_header_name`] of each uniform claim, built once per process.
fn uniform_header_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        UNIFORM_CLAIMS
            .iter()
            .map(|u| uniform_header_name(u))
            .collect()
    })
}

/// One byte of an environment name.
fn env_byte(b: u8) -> char {
    if b.is_ascii_alphanumeric() {
        char::from(b.to_ascii_uppercase())
    } else {
        '_'
    }
}

/// One byte of an nginx variable name (nginx lower-cases them).
fn nginx_byte(b: u8) -> u8 {
    if b.is_ascii_alphanumeric() {
        b.to_ascii_lowercase()
    } else {
        b'_'
    }
}

fn env_form(name: &str) -> impl Iterator<Item = char> + '_ {
    name.bytes().map(env_byte)
}

fn nginx_form(name: &str) -> String {
    name.bytes().map(|b| char::from(nginx_byte(b))).collect()
}

/// Words of ASCII letters and digits, each capitalised, every other byte `-`.
fn header_form(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut word_start = true;
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(char::from(if word_start {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            }));
            word_start = false;
        } else {
            out.push('-');
            word_start = true;
        }
    }
    out
}

/// `SESAME_CLAIM_<NAME>`: `chorusdt:matricule` is `SESAME_CLAIM_CHORUSDT_MATRICULE`.
pub fn claim_env_name(claim: &str) -> String {
    CLAIM_ENV_PREFIX.chars().chain(env_form(claim)).collect()
}

/// `X-Sesame-Claim-<Name>`: `given_name` is `X-Sesame-Claim-Given-Name`.
pub fn claim_header_name(claim: &str) -> String {
    format!("{CLAIM_HEADER_PREFIX}{}", header_form(claim))
}

/// `sesame_claim_<name>`: `chorusdt:matricule` is `$sesame_claim_chorusdt_matricule`.
pub fn claim_nginx_variable(claim: &str) -> String {
    format!("{CLAIM_VARIABLE_PREFIX}{}", nginx_form(claim))
}

/// `sesame_header_<name>`: the claim percent-encoded for a header.
pub fn claim_nginx_header_variable(claim: &str) -> String {
    format!("{CLAIM_HEADER_VARIABLE_PREFIX}{}", nginx_form(claim))
}

/// `OIDC_CLAIM_<claim>` as mod_auth_openidc writes it: the name as the provider wrote it (case
/// kept), HTTP separators and control characters replaced by `-` (`chorusdt:matricule` is
/// `OIDC_CLAIM_chorusdt-matricule`).
pub fn oidc_claim_name(claim: &str) -> String {
    const SEPARATORS: &str = "()<>@,;:\\\"/[]?={} \t";
    let suffix = claim.chars().map(|c| {
        if (c as u32) < 32 || c as u32 == 127 || SEPARATORS.contains(c) {
            '-'
        } else {
            c
        }
    });
    OIDC_CLAIM_PREFIX.chars().chain(suffix).collect()
}

/// `sesame_oidc_claim_<name>`: the nginx variable of a claim's mod_auth_openidc value.
pub fn oidc_claim_nginx_variable(claim: &str) -> String {
    format!("{OIDC_CLAIM_VARIABLE_PREFIX}{}", nginx_form(claim))
}

/// `SESAME_DATA_<NAME>` of data call `NAME` (its JSON result).
pub fn data_env_name(name: &str) -> String {
    DATA_ENV_PREFIX.chars().chain(env_form(name)).collect()
}

/// `SESAME_DATA_<NAME>_ERROR` of data call `NAME` (why it gave nothing).
pub fn data_error_env_name(name: &str) -> String {
    format!("{}{DATA_ERROR_SUFFIX}", data_env_name(name))
}

/// What a `$sesame_data_<suffix>` variable reads for an identity: the JSON result of the call
/// the suffix names, or with `_error` its reason (names are compared as nginx folds them; no
/// data name ends in `_ERROR`, so the two cannot be confused).
pub fn data_for_nginx_suffix<'a>(id: &'a Identity, suffix: &str) -> Option<&'a str> {
    let (name, error) = match suffix.strip_suffix(DATA_ERROR_VARIABLE_SUFFIX) {
        Some(name) => (name, true),
        None => (suffix, false),
    };
    let d = id.data().find(|d| nginx_suffix_names(d.name, name))?;
    if error {
        d.error
    } else {
        d.json
    }
}

/// `SESAME_<NAME>` of a uniform claim (`SESAME_FAMILY_NAME`).
pub fn uniform_env_name(uniform: &str) -> String {
    ENV_PREFIX.chars().chain(env_form(uniform)).collect()
}

/// `X-Sesame-<Name>` of a uniform claim (`X-Sesame-Family-Name`).
pub fn uniform_header_name(uniform: &str) -> String {
    format!("{HEADER_PREFIX}{}", header_form(uniform))
}

/// `sesame_<name>` of a uniform claim (`$sesame_family_name`).
pub fn uniform_nginx_variable(uniform: &str) -> String {
    format!("{UNIFORM_VARIABLE_PREFIX}{}", nginx_form(uniform))
}

/// `sesame_uniform_header_<name>` of a uniform claim, header-encoded.
pub fn uniform_nginx_header_variable(uniform: &str) -> String {
    format!("{UNIFORM_HEADER_VARIABLE_PREFIX}{}", nginx_form(uniform))
}

/// Does the nginx variable suffix (after a claim prefix) name this claim, by the rule of
/// [`claim_nginx_variable`]? Compared in place: nginx asks once per parameter per request.
pub fn nginx_suffix_names(claim: &str, suffix: &str) -> bool {
    claim.len() == suffix.len()
        && claim
            .bytes()
            .zip(suffix.bytes())
            .all(|(c, s)| nginx_byte(c) == s)
}

/// Is `name` its own nginx variable form (lower case letters, digits, `_`)? Then a folded
/// lookup finds nothing an exact one would not.
pub fn is_nginx_form(name: &str) -> bool {
    name.bytes().all(|b| nginx_byte(b) == b)
}

/// The uniform claims' names, in `UNIFORM_CLAIMS` order.
pub fn uniform_claims() -> &'static [&'static str] {
    UNIFORM_CLAIMS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_names_follow_one_rule_per_kind() {
        assert_eq!(claim_env_name("given_name"), "SESAME_CLAIM_GIVEN_NAME");
        assert_eq!(claim_header_name("given_name"), "X-Sesame-Claim-Given-Name");
        assert_eq!(
            claim_nginx_variable("given_name"),
            "sesame_claim_given_name"
        );
        assert_eq!(
            claim_nginx_header_variable("given_name"),
            "sesame_header_given_name"
        );
        assert_eq!(oidc_claim_name("given_name"), "OIDC_CLAIM_given_name");
        assert_eq!(
            oidc_claim_nginx_variable("given_name"),
            "sesame_oidc_claim_given_name"
        );
    }

    #[test]
    fn claim_names_that_are_not_valid_env_names_are_rewritten_byte_by_byte() {
        assert_eq!(
            claim_env_name("chorusdt:matricule"),
            "SESAME_CLAIM_CHORUSDT_MATRICULE"
        );
        assert_eq!(
            claim_header_name("chorusdt:matricule"),
            "X-Sesame-Claim-Chorusdt-Matricule"
        );
        assert_eq!(
            claim_nginx_variable("chorusdt:matricule"),
            "sesame_claim_chorusdt_matricule"
        );
        assert_eq!(
            oidc_claim_name("chorusdt:matricule"),
            "OIDC_CLAIM_chorusdt-matricule"
        );
        assert_eq!(oidc_claim_name("Custom Claim"), "OIDC_CLAIM_Custom-Claim");
        // é is two bytes: two replacements, on every server alike.
        assert_eq!(claim_env_name("né"), "SESAME_CLAIM_N__");
        assert_eq!(claim_header_name("a::b"), "X-Sesame-Claim-A--B");
        assert_eq!(claim_nginx_variable("Né"), "sesame_claim_n__");
    }

    #[test]
    fn nginx_lookup_uses_the_rule_that_builds_the_names() {
        for claim in [
            "given_name",
            "chorusdt:matricule",
            "Custom Claim",
            "né",
            "éa",
        ] {
            let variable = claim_nginx_variable(claim);
            let suffix = &variable[CLAIM_VARIABLE_PREFIX.len()..];
            assert!(nginx_suffix_names(claim, suffix), "{claim}");
        }
        assert!(!nginx_suffix_names("given_name", "given_nam"));
        assert!(!nginx_suffix_names("given", "given_name"));
        assert!(is_nginx_form("given_name_2"));
        assert!(!is_nginx_form("Given"));
        assert!(!is_nginx_form("a:b"));
    }

    #[test]
    fn the_access_token_reaches_the_environment_only_when_handed_over_and_never_a_header() {
        use crate::identity::{HandedToken, IdentityFields};
        let id = Identity::new(
            IdentityFields {
                provider: "fc",
                issuer: "https://idp",
                sub: "s",
                acr: "eidas1",
                user_key: "k",
                remote_user: "s",
            },
            &[],
        );
        let env_has = |id: &Identity, name: &str| env_vars(id).any(|(n, _)| n == name);
        assert!(!env_has(&id, "SESAME_ACCESS_TOKEN"));
        let handed = id.with_access(HandedToken {
            token: "tok.en-1".into(),
            expires: "1700000060".into(),
            scope: "openid email".into(),
        });
        let env: Vec<(&str, &str)> = env_vars(&handed).collect();
        assert!(env.contains(&("SESAME_ACCESS_TOKEN", "tok.en-1")));
        assert!(env.contains(&("SESAME_ACCESS_TOKEN_EXPIRES", "1700000060")));
        assert!(env.contains(&("SESAME_SCOPE", "openid email")));
        assert!(
            header_vars(&handed)
                .all(|(n, v)| !v.contains("tok.en-1") && !n.to_ascii_lowercase().contains("token")),
            "no request header carries the token"
        );
        assert!(
            id.access().is_none(),
            "the shared identity stays without it"
        );
    }

    #[test]
    fn data_results_are_passed_under_their_names_and_as_one_object() {
        let id = Identity::new(crate::identity::IdentityFields::default(), &[]).with_data(
            [
                ("QF", Ok(r#"{"data":{"valeur":812}}"#)),
                ("BOURSE", Err("timeout")),
            ]
            .into_iter(),
        );
        let env: Vec<(&str, &str)> = env_vars(&id).collect();
        assert!(env.contains(&("SESAME_DATA_QF", r#"{"data":{"valeur":812}}"#)));
        assert!(env.contains(&("SESAME_DATA_BOURSE_ERROR", "timeout")));
        assert!(env.contains(&("SESAME_DATA", r#"{"QF":{"data":{"valeur":812}}}"#)));
        assert!(env.contains(&("SESAME_DATA_ERRORS", r#"{"BOURSE":"timeout"}"#)));
        assert!(!env.iter().any(|(n, _)| *n == "SESAME_DATA_BOURSE"));
        assert_eq!(
            data_for_nginx_suffix(&id, "qf"),
            Some(r#"{"data":{"valeur":812}}"#)
        );
        assert_eq!(data_for_nginx_suffix(&id, "bourse_error"), Some("timeout"));
        assert_eq!(data_for_nginx_suffix(&id, "bourse"), None);
        assert_eq!(data_for_nginx_suffix(&id, "qf_error"), None);
        let none = Identity::new(crate::identity::IdentityFields::default(), &[]);
        assert!(!env_vars(&none).any(|(n, _)| n.starts_with("SESAME_DATA")));
    }

    #[test]
    fn uniform_and_fixed_names() {
        assert_eq!(uniform_env_name("family_name"), "SESAME_FAMILY_NAME");
        assert_eq!(uniform_header_name("family_name"), "X-Sesame-Family-Name");
        assert_eq!(uniform_nginx_variable("family_name"), "sesame_family_name");
        assert_eq!(
            uniform_nginx_header_variable("family_name"),
            "sesame_uniform_header_family_name"
        );
        assert_eq!(Fixed::Claims.env_name(), "SESAME_CLAIMS");
        assert_eq!(Fixed::Claims.header_name(), Some("X-Sesame-Claims"));
        assert_eq!(Fixed::RemoteUser.header_name(), None);
        assert_eq!(
            Fixed::Provider.nginx_header_variable(),
            Some("sesame_provider")
        );
    }

    #[test]
    fn every_name_a_backend_reads_is_scrubbed_from_incoming_headers() {
        // A client header spelling any of these (CGI and FastCGI map `-` and `_` alike) could
        // pass for what Sesame sets: each must be removed before the backend sees the request.
        let mut names: Vec<String> = Vec::new();
        for f in Fixed::ALL {
            names.push(f.env_name().into());
            names.extend(f.header_name().map(String::from));
        }
        for u in uniform_claims() {
            names.extend([uniform_env_name(u), uniform_header_name(u)]);
        }
        for h in Handed::ALL {
            names.push(h.env_name().into());
        }
        for claim in ["sub", "chorusdt:matricule", "x"] {
            names.extend([
                claim_env_name(claim),
                claim_header_name(claim),
                oidc_claim_name(claim),
            ]);
        }
        for name in &names {
            assert!(crate::claims::is_spoofable_header(name), "{name}");
        }
    }

    #[test]
    fn no_fixed_or_uniform_name_can_be_taken_by_a_claim() {
        // A claim's names all carry the claim prefixes, and the fixed and uniform names none
        // of them: no claim can shadow or be shadowed.
        let mut names: Vec<String> = Vec::new();
        for f in Fixed::ALL {
            names.push(f.env_name().into());
            names.extend(f.header_name().map(String::from));
            names.push(f.nginx_variable().into());
            names.extend(f.nginx_header_variable().map(String::from));
        }
        for u in uniform_claims() {
            names.extend([
                uniform_env_name(u),
                uniform_header_name(u),
                uniform_nginx_variable(u),
                uniform_nginx_header_variable(u),
            ]);
        }
        for h in Handed::ALL {
            names.extend([h.env_name().into(), h.nginx_variable().into()]);
        }
        for name in &names {
            for prefix in [
                CLAIM_ENV_PREFIX,
                CLAIM_HEADER_PREFIX,
                CLAIM_VARIABLE_PREFIX,
                CLAIM_HEADER_VARIABLE_PREFIX,
                OIDC_CLAIM_VARIABLE_PREFIX,
            ] {
                assert!(!name.starts_with(prefix), "{name} under {prefix}");
            }
        }
    }
}
