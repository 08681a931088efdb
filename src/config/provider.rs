//! One `sesame_provider NAME { ... }` block: raw directive values, their syntax checks (at once,
//! in `set`) and the cross-checks + file reads done when the configuration is complete.

use std::time::Duration;

use super::presets::{Preset, PRESET_NAMES};
use super::read_text_file;
use crate::data::DataSource;
use crate::directives::parse_duration;
use crate::directives::registry::{
    self, provider_name as named, written, Parser, ProviderKey, Scope,
};
use crate::http::HttpClient;
use crate::oidc::{OidcSettings, SigningAlg, TokenAuth, UserinfoMode};
use crate::site_keys::{EncAlg, KeyRole, SiteKeys};

/// A provider block as written; every field is `None` until its directive is seen.
#[derive(Debug, Default)]
pub struct ProviderDraft {
    preset: Option<Preset>,
    issuer: Option<String>,
    discovery_url: Option<String>,
    client_id: Option<String>,
    client_secret_file: Option<String>,
    /// Kept as written (the provider compares it byte for byte) next to its parsed form.
    redirect_uri: Option<(String, url::Url)>,
    post_logout_redirect_uri: Option<(String, url::Url)>,
    logout_redirect: Option<String>,
    scope: Option<Vec<String>>,
    acr_values: Option<Vec<String>>,
    required_acr: Option<String>,
    id_token_alg: Option<SigningAlg>,
    userinfo: Option<UserinfoMode>,
    token_auth: Option<TokenAuth>,
    pkce: Option<bool>,
    ca_file: Option<String>,
    remote_user_claim: Option<String>,
    http_timeout: Option<Duration>,
    metadata_ttl: Option<Duration>,
    leeway: Option<Duration>,
    error_pages: Option<String>,
    /// `data NAME URL ...` lines, in order (names unique).
    data: Vec<DataSource>,
    keys: KeyDraft,
}

/// The site's own keys as written in a provider block.
#[derive(Debug, Default)]
struct KeyDraft {
    encryption_key_files: Option<Vec<String>>,
    encryption_alg: Option<EncAlg>,
    jwks_uri: Option<(String, url::Url)>,
    client_signing_key_file: Option<String>,
}

/// A validated provider, ready for `OidcClient::new` and the engine.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The preset the block named (`generic` without one); the federation rules read
    /// `settings.federation`, which the preset chose.
    #[allow(dead_code)]
    pub preset: Preset,
    pub settings: OidcSettings,
    /// Local path the browser lands on after logout.
    pub logout_redirect: String,
    pub remote_user_claim: String,
    /// Pages the administrator replaces (`error_pages DIR`: `<kind>.html`), by kind.
    pub error_pages: std::collections::BTreeMap<String, String>,
    /// Data fetched with the access token right after each login's token exchange.
    pub data: Vec<DataSource>,
    /// The client of those calls (the provider's trust anchors, each call its own timeout);
    /// None without `data` lines.
    pub data_http: Option<HttpClient>,
}

/// A cross-check that failed: the provider key it is about and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFault {
    pub key: &'static str,
    pub message: String,
}

fn fault(key: &'static str, message: String) -> KeyFault {
    KeyFault { key, message }
}

/// A provider key with its value inside a sentence ("with preset franceconnect-production").
fn written_inline(key: &str, value: &str) -> String {
    format!("{} {value}", named(key))
}

/// Stores `value` in `slot` unless it was already set (a repeated directive is a mistake).
fn once<T>(slot: &mut Option<T>, key: &str, value: T) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!(
            "{} is duplicate (write it once per provider block)",
            named(key)
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn parse_url(key: &str, value: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(value)
        .map_err(|e| format!("{} \"{value}\" is not an absolute URL ({e})", named(key)))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(format!(
            "{} \"{value}\" must start with https://",
            named(key)
        ));
    }
    if url.fragment().is_some() {
        return Err(format!(
            "{} \"{value}\" must not contain a #fragment",
            named(key)
        ));
    }
    if url.host_str().is_none() {
        return Err(format!("{} \"{value}\" has no host", named(key)));
    }
    Ok(url)
}

fn parse_words(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_owned).collect()
}

fn parse_time(key: &str, value: &str) -> Result<Duration, String> {
    parse_duration(value).ok_or_else(|| {
        format!(
            "{} \"{value}\" is not a duration (write e.g. 500ms, 5s, 10m or 12h)",
            named(key)
        )
    })
}

fn is_local_path(path: &str) -> bool {
    crate::directives::local_path::is_safe_local_path(path)
}

impl ProviderDraft {
    /// Syntax check of one directive; the message lacks the `sesame_provider "NAME": ` prefix.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("{} needs a value", named(key)));
        }
        match registry::lookup(Scope::Provider, key).map(|d| d.parser) {
            Some(Parser::ProviderKey(parsed_as)) => self.parse(parsed_as, key, value),
            _ => Err(format!(
                "unknown directive \"{key}\" (expected one of: {})",
                registry::provider_keys()
                    .map(|d| named(d.key))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// One key's value (not empty), by its registry entry.
    fn parse(&mut self, parsed_as: ProviderKey, key: &str, value: &str) -> Result<(), String> {
        let n = named(key);
        match parsed_as {
            ProviderKey::Preset => {
                let preset = Preset::parse(value).ok_or_else(|| {
                    format!(
                        "unknown {} \"{value}\" (expected one of {PRESET_NAMES})",
                        named("preset")
                    )
                })?;
                once(&mut self.preset, key, preset)
            }
            ProviderKey::Issuer => {
                parse_url(key, value)?;
                once(&mut self.issuer, key, value.to_owned())
            }
            ProviderKey::DiscoveryUrl => {
                parse_url(key, value)?;
                once(&mut self.discovery_url, key, value.to_owned())
            }
            ProviderKey::ClientId => once(&mut self.client_id, key, value.to_owned()),
            ProviderKey::ClientSecretFile => {
                once(&mut self.client_secret_file, key, value.to_owned())
            }
            ProviderKey::RedirectUri => {
                let url = parse_url(key, value)?;
                once(&mut self.redirect_uri, key, (value.to_owned(), url))
            }
            ProviderKey::PostLogoutRedirectUri => {
                let url = parse_url(key, value)?;
                once(
                    &mut self.post_logout_redirect_uri,
                    key,
                    (value.to_owned(), url),
                )
            }
            ProviderKey::LogoutRedirect => {
                if !is_local_path(value) {
                    return Err(format!(
                        "{n} \"{value}\" must be a local path such as / or /goodbye"
                    ));
                }
                once(&mut self.logout_redirect, key, value.to_owned())
            }
            ProviderKey::Scope => {
                let words = parse_words(value);
                if !words.iter().any(|w| w == "openid") {
                    return Err(format!(
                        "{n} \"{value}\" must contain openid (write e.g. {example})",
                        example = written(Scope::Provider, "scope", "openid email")
                    ));
                }
                once(&mut self.scope, key, words)
            }
            ProviderKey::AcrValues => once(&mut self.acr_values, key, parse_words(value)),
            ProviderKey::RequiredAcr => {
                if value.contains(char::is_whitespace) {
                    return Err(format!("{n} \"{value}\" must be one level, e.g. eidas1"));
                }
                once(&mut self.required_acr, key, value.to_owned())
            }
            ProviderKey::IdTokenAlg => {
                let alg = match value {
                    "ES256" => SigningAlg::ES256,
                    "RS256" => SigningAlg::RS256,
                    "HS256"
                        if self.preset.is_some_and(|p| {
                            crate::federation::rules(p.federation()).accepts_shared_secret_alg()
                        }) =>
                    {
                        SigningAlg::HS256
                    }
                    _ => {
                        return Err(format!(
                            "{n} \"{value}\" is not supported (expected ES256 or RS256; HS256 only for a client registered so at ProConnect, after {preset} proconnect-...)",
                            preset = named("preset")
                        ))
                    }
                };
                once(&mut self.id_token_alg, key, alg)
            }
            ProviderKey::Userinfo => {
                let mode = match value {
                    "jwt" => UserinfoMode::SignedJwt,
                    "json" => UserinfoMode::Json,
                    "off" => UserinfoMode::Skip,
                    _ => {
                        return Err(format!(
                            "{n} \"{value}\" is not valid (expected jwt, json or off)"
                        ))
                    }
                };
                once(&mut self.userinfo, key, mode)
            }
            ProviderKey::TokenAuth => {
                let auth = match value {
                    "client_secret_post" => TokenAuth::ClientSecretPost,
                    "client_secret_basic" => TokenAuth::ClientSecretBasic,
                    "private_key_jwt" => TokenAuth::PrivateKeyJwt,
                    _ => return Err(format!(
                        "{n} \"{value}\" is not valid (expected client_secret_post, client_secret_basic or private_key_jwt)"
                    )),
                };
                once(&mut self.token_auth, key, auth)
            }
            ProviderKey::Pkce => {
                let on = match value {
                    "on" => true,
                    "off" => false,
                    _ => return Err(format!("{n} \"{value}\" is not valid (expected on or off)")),
                };
                once(&mut self.pkce, key, on)
            }
            ProviderKey::CaFile => once(&mut self.ca_file, key, value.to_owned()),
            ProviderKey::RemoteUserClaim => {
                if value.contains(char::is_whitespace) {
                    return Err(format!("{n} \"{value}\" must be one claim name"));
                }
                once(&mut self.remote_user_claim, key, value.to_owned())
            }
            ProviderKey::HttpTimeout => {
                let d = parse_time(key, value)?;
                if d.is_zero() {
                    return Err(format!("{n} must be greater than 0"));
                }
                once(&mut self.http_timeout, key, d)
            }
            ProviderKey::MetadataTtl => {
                let d = parse_time(key, value)?;
                once(&mut self.metadata_ttl, key, d)
            }
            ProviderKey::Leeway => {
                let d = parse_time(key, value)?;
                once(&mut self.leeway, key, d)
            }
            ProviderKey::ErrorPages => once(&mut self.error_pages, key, value.to_owned()),
            ProviderKey::Data => {
                let source = DataSource::parse(value)?;
                if self.data.iter().any(|d| d.name == source.name) {
                    return Err(format!(
                        "{n} {}: the name is duplicate (names are upper-cased: each SESAME_DATA_<NAME> is one call)",
                        source.name
                    ));
                }
                self.data.push(source);
                Ok(())
            }
            ProviderKey::EncryptionKeyFile => {
                once(&mut self.keys.encryption_key_files, key, parse_words(value))
            }
            ProviderKey::EncryptionAlg => {
                let alg = EncAlg::parse(value).ok_or_else(|| {
                    format!("{n} \"{value}\" is not valid (expected ECDH-ES, RSA-OAEP-256 or RSA-OAEP; the content encryption is always A256GCM)")
                })?;
                once(&mut self.keys.encryption_alg, key, alg)
            }
            ProviderKey::JwksUri => {
                let url = parse_url(key, value)?;
                if url.query().is_some() {
                    return Err(format!(
                        "{n} \"{value}\" must not have a ?query (Sesame answers its path)"
                    ));
                }
                once(&mut self.keys.jwks_uri, key, (value.to_owned(), url))
            }
            ProviderKey::ClientSigningKeyFile => once(
                &mut self.keys.client_signing_key_file,
                key,
                value.to_owned(),
            ),
        }
    }

    /// Cross-checks, defaults and file reads: the key a mistake is about, and the message
    /// (without the provider prefix).
    pub fn finish(self, name: &str) -> Result<ProviderConfig, KeyFault> {
        let preset = self.preset.unwrap_or(Preset::Generic);
        let defaults = preset.defaults();
        let with_preset = format!("with {}", written_inline("preset", preset.name()));

        let issuer = match (self.issuer, defaults.issuer) {
            (Some(issuer), _) => issuer,
            (None, Some(issuer)) => issuer.to_owned(),
            (None, None) => {
                return Err(fault(
                    "issuer",
                    format!(
                        "{} is missing (write e.g. {} or use a preset)",
                        named("issuer"),
                        written(Scope::Provider, "issuer", "https://idp.example/realms/x")
                    ),
                ))
            }
        };
        let client_id = self.client_id.ok_or_else(|| {
            fault(
                "client_id",
                format!(
                    "{} is missing (write the client_id the provider gave you)",
                    named("client_id")
                ),
            )
        })?;
        let token_auth = self.token_auth.unwrap_or(defaults.token_auth);
        let secret_path = match (&self.client_secret_file, token_auth) {
            (Some(path), _) => Some(path.clone()),
            (None, TokenAuth::PrivateKeyJwt) => None,
            (None, _) => {
                return Err(fault(
                    "client_secret_file",
                    format!(
                        "{} is missing (write the path of a file holding the client secret)",
                        named("client_secret_file")
                    ),
                ))
            }
        };
        let (redirect_raw, redirect_uri) = self.redirect_uri.ok_or_else(|| {
            fault(
                "redirect_uri",
                format!(
                    "{} is missing (write the callback URL registered with the provider, e.g. https://www.example.fr/sesame/callback)",
                    named("redirect_uri")
                ),
            )
        })?;

        if preset.is_production() {
            if redirect_uri.scheme() != "https" {
                return Err(fault(
                    "redirect_uri",
                    format!("{} must be https {with_preset}", named("redirect_uri")),
                ));
            }
            if let Some((_, uri)) = &self.post_logout_redirect_uri {
                if uri.scheme() != "https" {
                    return Err(fault(
                        "post_logout_redirect_uri",
                        format!(
                            "{} must be https {with_preset}",
                            named("post_logout_redirect_uri")
                        ),
                    ));
                }
            }
            if !issuer.starts_with("https://") {
                return Err(fault(
                    "issuer",
                    format!("{} must be https {with_preset}", named("issuer")),
                ));
            }
        }
        if let Some((_, post_logout)) = &self.post_logout_redirect_uri {
            if post_logout.path() == redirect_uri.path() {
                return Err(fault(
                    "post_logout_redirect_uri",
                    format!(
                        "{} must have a different path than {}",
                        named("post_logout_redirect_uri"),
                        named("redirect_uri")
                    ),
                ));
            }
        }

        let mut scopes = self.scope.unwrap_or_else(|| parse_words(defaults.scope));
        // The data calls' scopes are asked at every login, so that the token can open them.
        for needed in self.data.iter().flat_map(|d| &d.scopes) {
            if !scopes.contains(needed) {
                scopes.push(needed.clone());
            }
        }
        let acr_values = self
            .acr_values
            .unwrap_or_else(|| defaults.acr_values.iter().map(|s| s.to_string()).collect());
        let pkce = self.pkce.unwrap_or(defaults.pkce);
        let userinfo = self.userinfo.unwrap_or(defaults.userinfo);

        let federation = crate::federation::rules(defaults.federation);
        if self.id_token_alg == Some(SigningAlg::HS256) && !federation.accepts_shared_secret_alg() {
            return Err(fault(
                "id_token_alg",
                format!(
                    "{} HS256 is only accepted with a ProConnect preset (a shared-secret algorithm elsewhere invites algorithm confusion) {with_preset}",
                    named("id_token_alg")
                ),
            ));
        }
        federation
            .check_provider(&crate::federation::ProviderFacts {
                acr_values: &acr_values,
                required_acr: self.required_acr.as_deref(),
                pkce,
                has_post_logout_redirect_uri: self.post_logout_redirect_uri.is_some(),
                userinfo_json: userinfo == UserinfoMode::Json,
                signing_alg: match self.id_token_alg.unwrap_or(defaults.id_token_alg) {
                    SigningAlg::ES256 => "ES256",
                    SigningAlg::RS256 => "RS256",
                    SigningAlg::HS256 => "HS256",
                },
                has_encryption_keys: self.keys.encryption_key_files.is_some(),
                has_jwks_uri: self.keys.jwks_uri.is_some(),
                redirect_host: redirect_uri.host_str().unwrap_or(""),
                named: &named,
                with_preset: &with_preset,
            })
            .map_err(|f| fault(f.key, f.message))?;

        let site_keys = self
            .keys
            .load(token_auth, &redirect_uri, preset, &with_preset)?;
        if let Some(sig) = &site_keys.sig {
            let accepted = federation.client_assertion_algs();
            if !accepted.contains(&sig.alg.name()) {
                return Err(fault(
                    "client_signing_key_file",
                    format!(
                        "{} \"{}\" is a key for {}: the federation accepts client assertions signed with {} only {with_preset} (create an EC P-256 key: sesame keygen --enc ec NEW-FILE)",
                        named("client_signing_key_file"),
                        sig.path,
                        sig.alg.name(),
                        accepted.join(" or ")
                    ),
                ));
            }
        }
        let client_secret = match &secret_path {
            Some(secret_path) => {
                let text = read_text_file(secret_path).map_err(|e| {
                    fault(
                        "client_secret_file",
                        format!(
                            "cannot read {} \"{secret_path}\": {e}",
                            named("client_secret_file")
                        ),
                    )
                })?;
                let text = text.trim().to_owned();
                if text.is_empty() {
                    return Err(fault(
                        "client_secret_file",
                        format!("{} \"{secret_path}\" is empty", named("client_secret_file")),
                    ));
                }
                text
            }
            None => String::new(),
        };

        if let Some(ca) = &self.ca_file {
            read_text_file(ca).map_err(|e| {
                fault(
                    "ca_file",
                    format!("cannot read {} \"{ca}\": {e}", named("ca_file")),
                )
            })?;
        }

        let discovery_url = self.discovery_url.unwrap_or_else(|| {
            format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            )
        });
        let settings = OidcSettings {
            name: name.to_owned(),
            federation: defaults.federation,
            issuer,
            discovery_url,
            client_id,
            client_secret,
            redirect_uri: redirect_raw,
            post_logout_redirect_uri: self.post_logout_redirect_uri.map(|(raw, _)| raw),
            scopes,
            acr_values,
            required_acr: self.required_acr,
            id_token_alg: self.id_token_alg.unwrap_or(defaults.id_token_alg),
            userinfo,
            token_auth,
            jwks_uri: self.keys.jwks_uri.map(|(raw, _)| raw),
            site_keys: std::sync::Arc::new(site_keys),
            pkce,
            ca_file: self.ca_file,
            http_timeout: self.http_timeout.unwrap_or(Duration::from_secs(5)),
            leeway: self.leeway.unwrap_or(Duration::from_secs(30)),
            metadata_ttl: self.metadata_ttl.unwrap_or(Duration::from_secs(600)),
        };
        let data_http = match self.data.iter().map(|d| d.timeout).max() {
            None => None,
            Some(longest) => Some(
                HttpClient::new(longest, settings.ca_file.as_deref())
                    .map_err(|e| fault("data", format!("{}: {e}", named("data"))))?,
            ),
        };
        Ok(ProviderConfig {
            data: self.data,
            data_http,
            preset,
            settings,
            logout_redirect: self.logout_redirect.unwrap_or_else(|| "/".into()),
            remote_user_claim: self.remote_user_claim.unwrap_or_else(|| "sub".into()),
            error_pages: match &self.error_pages {
                Some(dir) => read_error_pages(dir).map_err(|m| fault("error_pages", m))?,
                None => Default::default(),
            },
        })
    }
}

impl ProviderDraft {
    /// The preset written, if any (the session defaults depend on it).
    pub fn preset(&self) -> Option<Preset> {
        self.preset
    }
}

impl KeyDraft {
    /// The site's own keys and their cross-checks: `encryption_key_file` (with
    /// `encryption_alg`), `client_signing_key_file` (with `token_auth private_key_jwt`),
    /// `jwks_uri` (which publishes them).
    fn load(
        &self,
        token_auth: TokenAuth,
        redirect_uri: &url::Url,
        preset: Preset,
        with_preset: &str,
    ) -> Result<SiteKeys, KeyFault> {
        let enc_paths = self.encryption_key_files.clone().unwrap_or_default();
        if self.encryption_alg.is_some() && enc_paths.is_empty() {
            return Err(fault(
                "encryption_alg",
                format!(
                    "{} needs {} (the keys it applies to)",
                    named("encryption_alg"),
                    named("encryption_key_file")
                ),
            ));
        }
        match (token_auth, &self.client_signing_key_file) {
            (TokenAuth::PrivateKeyJwt, None) => {
                return Err(fault(
                    "client_signing_key_file",
                    format!(
                        "{} private_key_jwt needs {} (the private key that signs the client assertions; create one with: sesame keygen --enc ec /etc/sesame/client-sig.pem)",
                        named("token_auth"),
                        named("client_signing_key_file")
                    ),
                ))
            }
            (TokenAuth::PrivateKeyJwt, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(fault(
                    "client_signing_key_file",
                    format!(
                        "{} is only used with {} (the default stays client_secret_post)",
                        named("client_signing_key_file"),
                        written_inline("token_auth", "private_key_jwt")
                    ),
                ))
            }
        }
        if let Some((raw, url)) = &self.jwks_uri {
            if enc_paths.is_empty() && self.client_signing_key_file.is_none() {
                return Err(fault(
                    "jwks_uri",
                    format!(
                        "{} \"{raw}\" would publish no key: write {} or {}",
                        named("jwks_uri"),
                        named("encryption_key_file"),
                        named("client_signing_key_file")
                    ),
                ));
            }
            if url.path() == redirect_uri.path() {
                return Err(fault(
                    "jwks_uri",
                    format!(
                        "{} must have a different path than {}",
                        named("jwks_uri"),
                        named("redirect_uri")
                    ),
                ));
            }
            if preset.is_production() && url.scheme() != "https" {
                return Err(fault(
                    "jwks_uri",
                    format!("{} must be https {with_preset}", named("jwks_uri")),
                ));
            }
        }
        SiteKeys::load(
            &enc_paths,
            self.encryption_alg,
            self.client_signing_key_file.as_deref(),
        )
        .map_err(|(role, message)| {
            let key = match role {
                KeyRole::Enc => "encryption_key_file",
                KeyRole::Sig => "client_signing_key_file",
            };
            fault(key, format!("{} {message}", named(key)))
        })
    }
}

/// Kinds of page an administrator may replace with `error_pages DIR` (`DIR/<kind>.html`).
pub const ERROR_PAGE_KINDS: &[&str] = &[
    "forbidden",
    "insufficient_level",
    "identity_changed",
    "access_denied",
    "login_required",
    "invalid_scope",
    "invalid_request",
    "idp_hint_not_found",
    "server_error",
    "temporarily_unavailable",
];

/// Reads `DIR/<kind>.html` for every known kind present; at least one must exist.
fn read_error_pages(dir: &str) -> Result<std::collections::BTreeMap<String, String>, String> {
    let meta = std::fs::metadata(dir).map_err(|e| {
        format!(
            "{} \"{dir}\": cannot read the directory: {e}",
            named("error_pages")
        )
    })?;
    if !meta.is_dir() {
        return Err(format!(
            "{} \"{dir}\" is not a directory",
            named("error_pages")
        ));
    }
    let mut pages = std::collections::BTreeMap::new();
    for kind in ERROR_PAGE_KINDS {
        let path = format!("{}/{kind}.html", dir.trim_end_matches('/'));
        if std::path::Path::new(&path).exists() {
            let text = read_text_file(&path).map_err(|e| format!("cannot read \"{path}\": {e}"))?;
            pages.insert((*kind).to_owned(), text);
        }
    }
    if pages.is_empty() {
        return Err(format!(
            "{} \"{dir}\" holds none of {} (.html)",
            named("error_pages"),
            ERROR_PAGE_KINDS.join(", ")
        ));
    }
    Ok(pages)
}
