//! The directive registry: every directive an operator can write, on either server, once.
//!
//! Each entry says how nginx and Apache spell it, where it goes, how many arguments it takes,
//! whether it may repeat, how a nested location inherits it and which parser takes it. The
//! core's parsers dispatch through it: `ConfigBuilder::set_global` and `ProviderDraft::set` on
//! the entry's [`GlobalKey`] / [`ProviderKey`], which their parsers match exhaustively, so that
//! adding a directive is its entry here and its parser (the compiler points at a missing one);
//! `LocationRules::parse` and `LocationSpec::inherit` read location options here. The nginx
//! command tables, the Apache `sesame_cmds` / `provider_keys[]` and the `sesame config check`
//! reader are checked against this table by tests, so a directive added here and forgotten in
//! an adapter fails a test.

/// A server's directive syntax: how [`render`] spells the directives a message names, in
/// configuration errors and in the log lines of the running core (set with
/// [`ConfigBuilder::set_syntax`](crate::ConfigBuilder::set_syntax)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Syntax {
    /// `sesame_secret_file PATH;`, `sesame_provider "fc": client_id`.
    #[default]
    Nginx,
    /// `SesameSecretFile PATH`, `<SesameProvider fc>: ClientID`.
    Apache,
}

/// Where a directive is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// nginx `http {}`, Apache server config / virtual host.
    Http,
    /// Inside `sesame_provider NAME { }` / `<SesameProvider NAME>`.
    Provider,
    /// nginx `location {}`, Apache `<Location>` / `<Directory>` / `.htaccess`.
    Location,
}

/// How many arguments a directive takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// No argument (`sesame_metrics;`).
    Zero,
    One,
    OneOrTwo,
    OneOrMore,
    /// A name then at least one value (`sesame_require CLAIM VALUE...`).
    TwoOrMore,
    /// Apache's On/Off flag.
    Flag,
}

impl Arity {
    /// True when `n` arguments fit.
    pub fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Zero => n == 0,
            Arity::One | Arity::Flag => n == 1,
            Arity::OneOrTwo => n == 1 || n == 2,
            Arity::OneOrMore => n >= 1,
            Arity::TwoOrMore => n >= 2,
        }
    }
}

/// What a nested location does with an option its enclosing location wrote (same provider).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inherit {
    /// Not a location option (http and provider directives are not inherited by locations).
    None,
    /// The nested location's own value replaces the enclosing one.
    Replace,
    /// Both hold (every `sesame_require` rule must be met).
    Accumulate,
}

/// One directive (not comparable: it holds its parser, a function).
#[derive(Debug, Clone, Copy)]
pub struct Directive {
    /// The core's name: what adapters hand to `ConfigBuilder` / `LocationSpec::options`.
    pub key: &'static str,
    /// As written in nginx.conf; None when the directive only exists on Apache.
    pub nginx: Option<&'static str>,
    /// As written in httpd.conf; None when the directive only exists on nginx.
    pub apache: Option<&'static str>,
    pub scope: Scope,
    pub arity: Arity,
    /// May appear more than once in one block or section.
    pub repeatable: bool,
    pub inherit: Inherit,
    /// Which parser takes the value.
    pub parser: Parser,
    /// One line for the references.
    pub doc: &'static str,
}

/// Which parser takes a directive's value. The core's parsers dispatch on it: `Global`,
/// `ProviderKey` and `LocationOption` name the directive, and their parsers match those names
/// exhaustively, so a directive added here does not compile until its parser exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parser {
    /// `ConfigBuilder::set_global` (`ConfigBuilder::parse_global`).
    Global(GlobalKey),
    /// `ConfigBuilder::set_provider` (`ProviderDraft::set`).
    ProviderKey(ProviderKey),
    /// `LocationSpec::options`, checked by `LocationRules::parse` in `Sesame::location`
    /// (`policy::parse_option` matches the key).
    LocationOption(LocationKey),
    /// Chooses the `LocationSpec` mode and provider (`sesame`, `sesame_logout`).
    LocationMode,
    /// The adapter's own business (thread pools, provider blocks, Apache's header and
    /// variable styles).
    Adapter,
}

/// The http-level directives the core parses (`ConfigBuilder::parse_global`), one per entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalKey {
    Redis,
    SecretFile,
    RedisTimeout,
    SessionCache,
    SessionIdleTimeout,
    SessionLifetime,
    RedisCaFile,
    RedisCertFile,
    RedisKeyFile,
    ProviderConcurrency,
    SupportContact,
    AuditLog,
}

/// The location options the core parses (`policy::parse_option`), one per entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationKey {
    Acr,
    Require,
    Prompt,
    LoginHint,
    IdpHint,
    SiretHint,
    UnauthAction,
    MaxAuthAge,
    LoginPage,
    LoginPageTitle,
    LoginPageEligibility,
    LoginPageOwnLogin,
    LoginPageOffer,
    PassAccessToken,
    DataRefresh,
}

/// The keys of a provider block (`ProviderDraft::parse`), one per entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKey {
    Preset,
    Issuer,
    DiscoveryUrl,
    ClientId,
    ClientSecretFile,
    RedirectUri,
    PostLogoutRedirectUri,
    LogoutRedirect,
    Scope,
    AcrValues,
    RequiredAcr,
    IdTokenAlg,
    Userinfo,
    TokenAuth,
    Pkce,
    CaFile,
    RemoteUserClaim,
    HttpTimeout,
    MetadataTtl,
    Leeway,
    ErrorPages,
    Data,
    EncryptionKeyFile,
    EncryptionAlg,
    JwksUri,
    ClientSigningKeyFile,
}

const fn http(
    key: &'static str,
    global: GlobalKey,
    nginx: &'static str,
    apache: &'static str,
    doc: &'static str,
) -> Directive {
    Directive {
        parser: Parser::Global(global),
        ..adapter_http(key, nginx, apache, doc)
    }
}

/// An http-level directive the adapter handles itself.
const fn adapter_http(
    key: &'static str,
    nginx: &'static str,
    apache: &'static str,
    doc: &'static str,
) -> Directive {
    Directive {
        key,
        nginx: Some(nginx),
        apache: Some(apache),
        scope: Scope::Http,
        arity: Arity::One,
        repeatable: false,
        inherit: Inherit::None,
        parser: Parser::Adapter,
        doc,
    }
}

const fn provider(
    key: &'static str,
    apache: &'static str,
    parsed_as: ProviderKey,
    arity: Arity,
    doc: &'static str,
) -> Directive {
    Directive {
        key,
        nginx: Some(key),
        apache: Some(apache),
        scope: Scope::Provider,
        arity,
        repeatable: false,
        inherit: Inherit::None,
        parser: Parser::ProviderKey(parsed_as),
        doc,
    }
}

const fn option(
    key: &'static str,
    nginx: &'static str,
    apache: &'static str,
    arity: Arity,
    inherit: Inherit,
    parsed_as: LocationKey,
    doc: &'static str,
) -> Directive {
    Directive {
        key,
        nginx: Some(nginx),
        apache: Some(apache),
        scope: Scope::Location,
        arity,
        repeatable: matches!(inherit, Inherit::Accumulate),
        inherit,
        parser: Parser::LocationOption(parsed_as),
        doc,
    }
}

/// Every directive of both servers. Keys of one scope are unique.
pub const DIRECTIVES: &[Directive] = &[
    // http level: values go to `ConfigBuilder::set_global`.
    http(
        "redis",
        GlobalKey::Redis,
        "sesame_redis",
        "SesameRedis",
        "redis:// URL where sessions live",
    ),
    http(
        "secret_file",
        GlobalKey::SecretFile,
        "sesame_secret_file",
        "SesameSecretFile",
        "file of at least 32 random bytes (keys, Redis namespace)",
    ),
    http(
        "redis_timeout",
        GlobalKey::RedisTimeout,
        "sesame_redis_timeout",
        "SesameRedisTimeout",
        "Redis connect and command timeout (default 1s)",
    ),
    http(
        "session_cache",
        GlobalKey::SessionCache,
        "sesame_session_cache",
        "SesameSessionCache",
        "how long a process reuses a session read from Redis (default 5s)",
    ),
    http(
        "session_idle_timeout",
        GlobalKey::SessionIdleTimeout,
        "sesame_session_idle_timeout",
        "SesameSessionIdleTimeout",
        "idle session lifetime (default 30m)",
    ),
    http(
        "session_lifetime",
        GlobalKey::SessionLifetime,
        "sesame_session_lifetime",
        "SesameSessionLifetime",
        "absolute session lifetime (default 12h)",
    ),
    http(
        "redis_ca_file",
        GlobalKey::RedisCaFile,
        "sesame_redis_ca_file",
        "SesameRedisCAFile",
        "CA certificates for rediss://",
    ),
    http(
        "redis_cert_file",
        GlobalKey::RedisCertFile,
        "sesame_redis_cert_file",
        "SesameRedisCertFile",
        "client certificate for rediss://",
    ),
    http(
        "redis_key_file",
        GlobalKey::RedisKeyFile,
        "sesame_redis_key_file",
        "SesameRedisKeyFile",
        "private key of the client certificate",
    ),
    http(
        "provider_concurrency",
        GlobalKey::ProviderConcurrency,
        "sesame_provider_concurrency",
        "SesameProviderConcurrency",
        "provider exchanges in flight per process; beyond, 503 at once (default 8)",
    ),
    http(
        "support_contact",
        GlobalKey::SupportContact,
        "sesame_support_contact",
        "SesameSupportContact",
        "TEXT: who to contact, shown on Sesame's error pages (an e-mail, a phone, a URL)",
    ),
    http(
        "audit_log",
        GlobalKey::AuditLog,
        "sesame_audit_log",
        "SesameAuditLog",
        "PATH: one JSON line per login outcome (time, provider, outcome, acr, amr, idp_id, user key, client, reference)",
    ),
    // http level, one server only: the adapter handles them itself.
    Directive {
        apache: None,
        ..adapter_http(
            "thread_pool",
            "sesame_thread_pool",
            "",
            "nginx thread pool for session reads (default: default)",
        )
    },
    Directive {
        apache: None,
        ..adapter_http(
            "provider_thread_pool",
            "sesame_provider_thread_pool",
            "",
            "nginx thread pool for provider exchanges (default: the session pool)",
        )
    },
    adapter_http(
        "provider",
        "sesame_provider",
        "<SesameProvider",
        "a provider block: sesame_provider NAME { ... }",
    ),
    // Inside a provider block: values go to `ConfigBuilder::set_provider`.
    provider(
        "preset",
        "Preset",
        ProviderKey::Preset,
        Arity::One,
        "federation preset (franceconnect-*, franceconnect-plus-*, proconnect-*, generic)",
    ),
    provider(
        "issuer",
        "Issuer",
        ProviderKey::Issuer,
        Arity::One,
        "issuer URL (presets set it)",
    ),
    provider(
        "discovery_url",
        "DiscoveryURL",
        ProviderKey::DiscoveryUrl,
        Arity::One,
        "discovery document URL (default: issuer + /.well-known/openid-configuration)",
    ),
    provider(
        "client_id",
        "ClientID",
        ProviderKey::ClientId,
        Arity::One,
        "client_id the provider gave you",
    ),
    provider(
        "client_secret_file",
        "ClientSecretFile",
        ProviderKey::ClientSecretFile,
        Arity::One,
        "file holding the client secret",
    ),
    provider(
        "redirect_uri",
        "RedirectURI",
        ProviderKey::RedirectUri,
        Arity::One,
        "callback URL registered with the provider",
    ),
    provider(
        "post_logout_redirect_uri",
        "PostLogoutRedirectURI",
        ProviderKey::PostLogoutRedirectUri,
        Arity::One,
        "logout return URL registered with the provider",
    ),
    provider(
        "logout_redirect",
        "LogoutRedirect",
        ProviderKey::LogoutRedirect,
        Arity::One,
        "local path the browser lands on after logout (default /)",
    ),
    provider(
        "scope",
        "Scope",
        ProviderKey::Scope,
        Arity::OneOrMore,
        "scopes asked (must contain openid)",
    ),
    provider(
        "acr_values",
        "AcrValues",
        ProviderKey::AcrValues,
        Arity::OneOrMore,
        "acr_values asked at login",
    ),
    provider(
        "required_acr",
        "RequiredAcr",
        ProviderKey::RequiredAcr,
        Arity::One,
        "lowest level every login must reach",
    ),
    provider(
        "id_token_alg",
        "IdTokenAlg",
        ProviderKey::IdTokenAlg,
        Arity::One,
        "id_token signing algorithm (ES256, RS256)",
    ),
    provider(
        "encryption_key_file",
        "EncryptionKeyFile",
        ProviderKey::EncryptionKeyFile,
        Arity::OneOrMore,
        "the site's private keys the provider encrypts tokens to (PEM, mode 0600; the first is current)",
    ),
    provider(
        "encryption_alg",
        "EncryptionAlg",
        ProviderKey::EncryptionAlg,
        Arity::One,
        "JWE alg registered: ECDH-ES, RSA-OAEP-256 or RSA-OAEP (default from each key's type)",
    ),
    provider(
        "jwks_uri",
        "JwksURI",
        ProviderKey::JwksUri,
        Arity::One,
        "URL where Sesame publishes the site's public keys (registered as the client's keys URL)",
    ),
    provider(
        "client_signing_key_file",
        "ClientSigningKeyFile",
        ProviderKey::ClientSigningKeyFile,
        Arity::One,
        "private key signing private_key_jwt client assertions (PEM, mode 0600)",
    ),
    provider(
        "userinfo",
        "Userinfo",
        ProviderKey::Userinfo,
        Arity::One,
        "userinfo format: jwt, json or off",
    ),
    provider(
        "token_auth",
        "TokenAuth",
        ProviderKey::TokenAuth,
        Arity::One,
        "client_secret_post, client_secret_basic or private_key_jwt",
    ),
    provider(
        "pkce",
        "PKCE",
        ProviderKey::Pkce,
        Arity::One,
        "on or off (never on with FranceConnect)",
    ),
    provider(
        "ca_file",
        "CAFile",
        ProviderKey::CaFile,
        Arity::One,
        "CA certificates for the provider's TLS",
    ),
    provider(
        "remote_user_claim",
        "RemoteUserClaim",
        ProviderKey::RemoteUserClaim,
        Arity::One,
        "claim that becomes REMOTE_USER (default sub)",
    ),
    provider(
        "http_timeout",
        "HttpTimeout",
        ProviderKey::HttpTimeout,
        Arity::One,
        "timeout of one exchange with the provider (default 5s)",
    ),
    provider(
        "metadata_ttl",
        "MetadataTTL",
        ProviderKey::MetadataTtl,
        Arity::One,
        "how long discovery and JWKS are cached (default 10m)",
    ),
    provider(
        "leeway",
        "Leeway",
        ProviderKey::Leeway,
        Arity::One,
        "clock skew allowed on exp/iat (default 30s)",
    ),
    provider(
        "error_pages",
        "ErrorPages",
        ProviderKey::ErrorPages,
        Arity::One,
        "directory of <kind>.html pages replacing Sesame's",
    ),
    Directive {
        repeatable: true,
        ..provider(
            "data",
            "Data",
            ProviderKey::Data,
            Arity::TwoOrMore,
            "NAME URL [scope=S ...] [recipient=SIRET] [timeout=T] [max_size=N]: data fetched at login",
        )
    },
    // Location level: what a location asks of Sesame (the adapter builds the `LocationSpec`).
    Directive {
        key: "protect",
        nginx: Some("sesame"),
        apache: Some("SesameUse"),
        scope: Scope::Location,
        arity: Arity::One,
        repeatable: false,
        inherit: Inherit::Replace,
        parser: Parser::LocationMode,
        doc: "provider whose login this location requires (nginx: or off)",
    },
    Directive {
        key: "logout",
        nginx: Some("sesame_logout"),
        apache: Some("SesameLogout"),
        scope: Scope::Location,
        arity: Arity::OneOrTwo,
        repeatable: false,
        inherit: Inherit::Replace,
        parser: Parser::LocationMode,
        doc: "NAME [local]: this location ends the session",
    },
    Directive {
        key: "pass_headers",
        nginx: None,
        apache: Some("SesamePassHeaders"),
        scope: Scope::Location,
        arity: Arity::Flag,
        repeatable: false,
        inherit: Inherit::Replace,
        parser: Parser::Adapter,
        doc: "On: also send X-Sesame-* request headers (proxied apps)",
    },
    Directive {
        key: "variables",
        nginx: None,
        apache: Some("SesameVariables"),
        scope: Scope::Location,
        arity: Arity::One,
        repeatable: false,
        inherit: Inherit::Replace,
        parser: Parser::Adapter,
        doc: "sesame (default) or mod_auth_openidc",
    },
    Directive {
        key: "metrics",
        nginx: Some("sesame_metrics"),
        // Apache: `SetHandler sesame-metrics`, a handler name rather than a directive.
        apache: None,
        scope: Scope::Location,
        arity: Arity::Zero,
        repeatable: false,
        inherit: Inherit::Replace,
        parser: Parser::Adapter,
        doc: "this location answers the Prometheus metrics of the whole server (Apache: SetHandler sesame-metrics)",
    },
    // Location options: values go to `LocationSpec::options`, checked by `LocationRules::parse`.
    option(
        "acr",
        "sesame_acr",
        "SesameAcr",
        Arity::OneOrMore,
        Inherit::Replace,
        LocationKey::Acr,
        "authentication levels this location accepts (step-up otherwise)",
    ),
    option(
        "require",
        "sesame_require",
        "SesameRequireClaim",
        Arity::OneOrMore,
        Inherit::Accumulate,
        LocationKey::Require,
        "CLAIM VALUE...: a claim this location requires (403 page otherwise)",
    ),
    option(
        "prompt",
        "sesame_prompt",
        "SesamePrompt",
        Arity::One,
        Inherit::Replace,
        LocationKey::Prompt,
        "login (re-authenticate) or none (silent SSO)",
    ),
    option(
        "login_hint",
        "sesame_login_hint",
        "SesameLoginHint",
        Arity::One,
        Inherit::Replace,
        LocationKey::LoginHint,
        "EMAIL or $arg_NAME: login_hint sent to the provider",
    ),
    option(
        "idp_hint",
        "sesame_idp_hint",
        "SesameIdpHint",
        Arity::One,
        Inherit::Replace,
        LocationKey::IdpHint,
        "IDP_ID or $arg_NAME: idp_hint sent to ProConnect",
    ),
    option(
        "siret_hint",
        "sesame_siret_hint",
        "SesameSiretHint",
        Arity::One,
        Inherit::Replace,
        LocationKey::SiretHint,
        "SIRET or $arg_NAME: siret_hint sent to ProConnect",
    ),
    option(
        "unauth_action",
        "sesame_unauth_action",
        "SesameUnauthAction",
        Arity::One,
        Inherit::Replace,
        LocationKey::UnauthAction,
        "login|401|pass: what a request without session gets",
    ),
    option(
        "max_auth_age",
        "sesame_max_auth_age",
        "SesameMaxAuthAge",
        Arity::One,
        Inherit::Replace,
        LocationKey::MaxAuthAge,
        "TIME: re-authenticate (prompt=login) when the login is older",
    ),
    option(
        "login_page",
        "sesame_login_page",
        "SesameLoginPage",
        Arity::One,
        Inherit::Replace,
        LocationKey::LoginPage,
        "on|off|FILE: a login page with the federation's button instead of the redirect",
    ),
    option(
        "login_page_title",
        "sesame_login_page_title",
        "SesameLoginPageTitle",
        Arity::One,
        Inherit::Replace,
        LocationKey::LoginPageTitle,
        "TEXT: the login page's title (default: Connexion)",
    ),
    option(
        "login_page_eligibility",
        "sesame_login_page_eligibility",
        "SesameLoginPageEligibility",
        Arity::One,
        Inherit::Replace,
        LocationKey::LoginPageEligibility,
        "TEXT: who may log in here, shown above the button",
    ),
    option(
        "login_page_own_login",
        "sesame_login_page_own_login",
        "SesameLoginPageOwnLogin",
        Arity::TwoOrMore,
        Inherit::Replace,
        LocationKey::LoginPageOwnLogin,
        "URL TEXT: the site's own login, offered after the « OU » separator",
    ),
    option(
        "login_page_offer",
        "sesame_login_page_offer",
        "SesameLoginPageOffer",
        Arity::TwoOrMore,
        Inherit::Replace,
        LocationKey::LoginPageOffer,
        "PROVIDER PATH: also offer the login of the location at PATH (another federation)",
    ),
    option(
        "pass_access_token",
        "sesame_pass_access_token",
        "SesamePassAccessToken",
        Arity::One,
        Inherit::Replace,
        LocationKey::PassAccessToken,
        "on|off: hand the access token to the backend (SESAME_ACCESS_TOKEN)",
    ),
    option(
        "data_refresh",
        "sesame_data_refresh",
        "SesameDataRefresh",
        Arity::One,
        Inherit::Replace,
        LocationKey::DataRefresh,
        "on|off: ?sesame_data_refresh on this page fetches the provider's data again",
    ),
];

impl Directive {
    /// The location option this entry is (None for any other directive).
    pub fn location_key(&self) -> Option<LocationKey> {
        match self.parser {
            Parser::LocationOption(key) => Some(key),
            _ => None,
        }
    }
}

/// The entry of `key` in `scope`.
pub fn lookup(scope: Scope, key: &str) -> Option<&'static Directive> {
    DIRECTIVES.iter().find(|d| d.scope == scope && d.key == key)
}

/// The entry whose nginx spelling is `name` (http and location directives; provider keys are
/// spelled as their key inside the block).
pub fn by_nginx_name(name: &str) -> Option<&'static Directive> {
    DIRECTIVES
        .iter()
        .find(|d| d.scope != Scope::Provider && d.nginx == Some(name))
}

/// The entries of one scope, in table order.
pub fn in_scope(scope: Scope) -> impl Iterator<Item = &'static Directive> {
    DIRECTIVES.iter().filter(move |d| d.scope == scope)
}

/// http-level keys `ConfigBuilder::set_global` takes (the core's, not one server's own).
pub fn global_keys() -> impl Iterator<Item = &'static Directive> {
    DIRECTIVES
        .iter()
        .filter(|d| matches!(d.parser, Parser::Global(_)))
}

/// The provider keys `ProviderDraft::set` takes.
pub fn provider_keys() -> impl Iterator<Item = &'static Directive> {
    DIRECTIVES
        .iter()
        .filter(|d| matches!(d.parser, Parser::ProviderKey(_)))
}

/// The location options `LocationRules::parse` takes.
pub fn location_options() -> impl Iterator<Item = &'static Directive> {
    DIRECTIVES
        .iter()
        .filter(|d| matches!(d.parser, Parser::LocationOption(_)))
}

/// The location option `key`, if it is one.
pub fn location_option(key: &str) -> Option<&'static Directive> {
    location_options().find(|d| d.key == key)
}

/// How nginx spells the directive of `key` in `scope` (a provider key as itself); a key the
/// registry does not know as nginx would read it (`sesame_KEY`, a provider key as written).
pub fn nginx_spelling(scope: Scope, key: &str) -> String {
    match (lookup(scope, key).and_then(|d| d.nginx), scope) {
        (Some(name), _) => name.to_owned(),
        (None, Scope::Provider) => key.to_owned(),
        (None, _) => format!("sesame_{key}"),
    }
}

/// How Apache spells the directive of `key` in `scope`, or the key as the core received it.
pub fn apache_spelling(scope: Scope, key: &str) -> String {
    lookup(scope, key)
        .and_then(|d| d.apache)
        .unwrap_or(key)
        .to_owned()
}

/// Messages name directives through these markers, so that each server reads its own
/// spelling: `OPEN scope-letter key [SPACE args] CLOSE`. Control characters cannot come from
/// a configuration value in a way that forms a known marker by accident (an unknown key is
/// left as written).
const OPEN: char = '\u{1}';
const CLOSE: char = '\u{2}';

fn scope_letter(scope: Scope) -> char {
    match scope {
        Scope::Http => 'h',
        Scope::Provider => 'p',
        Scope::Location => 'l',
    }
}

/// A directive's name in a message: nginx `sesame_secret_file`, Apache `SesameSecretFile`.
pub fn name(scope: Scope, key: &str) -> String {
    format!("{OPEN}{}{key}{CLOSE}", scope_letter(scope))
}

/// A directive as an operator writes it, for "write e.g. ..." hints: nginx
/// `sesame_redis redis://127.0.0.1:6379/0;`, Apache `SesameRedis redis://127.0.0.1:6379/0`.
pub fn written(scope: Scope, key: &str, args: &str) -> String {
    format!("{OPEN}{}{key} {args}{CLOSE}", scope_letter(scope))
}

/// A variable Sesame hands the backend, in a message: nginx `$sesame_acr`, Apache (the
/// environment) `SESAME_ACR`.
pub fn variable_name(key: &str) -> String {
    format!("{OPEN}{VARIABLE}{key}{CLOSE}")
}

/// The marker letter of a backend variable (not a directive scope).
const VARIABLE: char = 'v';

/// `name(Scope::Http, key)`.
pub fn http_name(key: &str) -> String {
    name(Scope::Http, key)
}

/// `name(Scope::Provider, key)`.
pub fn provider_name(key: &str) -> String {
    name(Scope::Provider, key)
}

/// `name(Scope::Location, key)`.
pub fn location_name(key: &str) -> String {
    name(Scope::Location, key)
}

/// The template with every marker replaced by the directive in `syntax`.
pub fn render(template: &str, syntax: Syntax) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len_utf8()..];
        let Some(end) = after.find(CLOSE) else {
            out.push_str(&rest[start..]);
            return out;
        };
        out.push_str(&render_marker(&after[..end], syntax));
        rest = &after[end + CLOSE.len_utf8()..];
    }
    out.push_str(rest);
    out
}

fn render_marker(marker: &str, syntax: Syntax) -> String {
    let mut chars = marker.chars();
    if let Some(key) = marker.strip_prefix(VARIABLE) {
        return match syntax {
            Syntax::Nginx => format!("$sesame_{key}"),
            Syntax::Apache => format!("SESAME_{}", key.to_ascii_uppercase()),
        };
    }
    let scope = match chars.next() {
        Some('h') => Scope::Http,
        Some('p') => Scope::Provider,
        _ => Scope::Location,
    };
    let body = chars.as_str();
    let (key, args) = match body.split_once(' ') {
        Some((key, args)) => (key, Some(args)),
        None => (body, None),
    };
    let spelled = match syntax {
        Syntax::Nginx => nginx_spelling(scope, key),
        Syntax::Apache => apache_spelling(scope, key),
    };
    match (args, syntax) {
        // A provider block by its name: `sesame_provider "fc"`, `<SesameProvider fc>`.
        (Some(name), Syntax::Nginx) if scope == Scope::Http && key == "provider" => {
            format!("{spelled} \"{name}\"")
        }
        (Some(name), Syntax::Apache) if scope == Scope::Http && key == "provider" => {
            format!("{spelled} {name}>")
        }
        (None, Syntax::Apache) if scope == Scope::Http && key == "provider" => {
            format!("{spelled}>")
        }
        (None, _) => spelled,
        (Some(args), Syntax::Nginx) => format!("{spelled} {args};"),
        (Some(args), Syntax::Apache) => format!("{spelled} {args}"),
    }
}

#[cfg(test)]
mod tests;
