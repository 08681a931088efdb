//! Every way a request can fail, as a page for the browser and an actionable log line for the
//! operator, tied together by one reference id. Provider-supplied text only reaches the log,
//! sanitised; pages carry fixed wording.

use crate::directives::registry::{
    http_name, location_name, provider_name, render as in_server_spelling,
};
use crate::engine::Outcome;
use crate::log::LogLevel;
use crate::log::{emit, Verdict, LINES_PER_CLIENT};
use crate::metrics::Failure;
use crate::oidc::OidcError;
use crate::pages::Page;
use crate::pages::{new_reference, render, render_with, PageText};
use crate::session::StoreError;

use super::Provider;

/// Provider- or attacker-supplied text made safe for one log line: no control characters, no
/// invisible format characters (bidi overrides, zero-width...), at most 300 characters.
pub fn log_safe(text: &str) -> String {
    crate::log::strip_unsafe(text, 300)
}

/// An error's text for one log line: the directives the core's own words name in it are
/// spelled as the running server writes them (`SesameRedis`), then the whole is made
/// `log_safe` (which would strip the markers naming them, so it comes second; what a
/// provider or Redis sent can only turn into a directive's name, never into anything else).
fn error_text(provider: &Provider, text: &str) -> String {
    log_safe(&in_server_spelling(text, provider.syntax))
}

fn page_and_log(
    status: u16,
    level: LogLevel,
    provider: &Provider,
    client_addr: &str,
    what: &str,
    text: PageText<'_>,
) -> Page {
    let reference = new_reference();
    let client = log_safe(client_addr);
    let name = provider.name();
    // Directives named in the line, in the running server's spelling (nginx `sesame_redis`,
    // Apache `SesameRedis`), as configuration errors are.
    let what = in_server_spelling(what, provider.syntax);
    match provider
        .log_limiter
        .admit(client_addr, std::time::Instant::now())
    {
        Verdict::Write { suppressed } => {
            if suppressed > 0 {
                emit(
                    LogLevel::Warn,
                    &format!(
                        "sesame: provider \"{name}\": {suppressed} more failure lines of client {client} were suppressed in the previous minute"
                    ),
                );
            }
            emit(
                level,
                &format!("sesame: provider \"{name}\": {what} [ref {reference}, client {client}]"),
            );
        }
        Verdict::Notice => emit(
            LogLevel::Warn,
            &format!(
                "sesame: provider \"{name}\": client {client} caused more than {LINES_PER_CLIENT} failure lines within a minute; its further failure lines are suppressed until the minute ends, then counted (rate-limit the callback path: see limit_req in the documentation) [ref {reference}]"
            ),
        ),
        Verdict::Drop => {}
    }
    render_with(
        status,
        &reference,
        &text,
        provider.support_contact.as_deref(),
    )
}

/// `page` answers a failure of `cause` (the audit log's outcome; see docs/logging.md).
fn because(mut page: Page, cause: impl Into<String>) -> Page {
    if let Some(failure) = page.failure.as_mut() {
        failure.cause = cause.into();
    }
    page
}

/// The audit cause of an OpenID Connect failure.
pub fn cause_of(err: &OidcError) -> String {
    match err {
        OidcError::Unavailable(_) => "provider_unavailable".into(),
        OidcError::Protocol(_) => "protocol_error".into(),
        OidcError::ProviderError { error, .. } => format!("provider_error:{}", cause_code(error)),
        OidcError::BadCallback(_) => "bad_callback".into(),
        OidcError::InvalidToken(_) => "token_invalid".into(),
        OidcError::TokenRefused(_) => "token_refused".into(),
        OidcError::InsufficientAcr { .. } => "insufficient_level".into(),
    }
}

/// A provider's error code as it may appear in a cause: OAuth error codes are ASCII
/// (RFC 6749 §5.2); anything else is cut to its first 64 such characters.
fn cause_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(64)
        .collect()
}

pub fn with_cookies(mut page: Page, cookies: Vec<String>) -> Outcome {
    page.set_cookies.extend(cookies);
    Outcome::Page(page)
}

/// Redis unreachable or failing: 503 within redis_timeout, nothing else attempted.
pub fn store_down(provider: &Provider, client_addr: &str, err: &StoreError) -> Page {
    provider.count_failure(Failure::StoreDown);
    let page = page_and_log(
        503,
        LogLevel::Error,
        provider,
        client_addr,
        &format!(
            "session store unavailable ({}); check that Redis is running and reachable at the {} URL, and {}",
            error_text(provider, &err.0),
            http_name("redis"),
            http_name("redis_timeout")
        ),
        PageText {
            title: "Service momentanément indisponible",
            message: "Le service de connexion ne répond pas. Merci de réessayer dans quelques instants.",
            english: "The login service is temporarily unavailable. Please try again in a moment.",
            retry: None,
        },
    );
    because(page, "store_unavailable")
}

/// Why a request is answered 401 instead of reaching the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthenticated {
    /// No usable session (none, expired, invalid, another provider's).
    LoginRequired,
    /// A session below the level this location asks (`sesame_acr`).
    StepUpRequired,
}

/// A 401 instead of a redirect to the provider: for a request that is not a page navigation
/// (`fetch()`, XHR, POST...), or any request at a `sesame_unauth_action 401` location. Scripts
/// get JSON they can act on: `{"error": "login_required" | "step_up_required", "login_url":
/// PATH | null}`, where `login_url` is a same-origin path to send the browser to (top level)
/// so that it logs in and comes back (null when this location never starts a login); page
/// navigations (401 locations only) get the HTML page. Both carry `WWW-Authenticate` and no
/// cookie: no login state is created.
pub fn unauthenticated(
    provider: &Provider,
    client_addr: &str,
    method: &str,
    why: Unauthenticated,
    login_url: Option<&str>,
    json: bool,
) -> Page {
    let error = match why {
        Unauthenticated::LoginRequired => "login_required",
        Unauthenticated::StepUpRequired => "step_up_required",
    };
    let mut page = page_and_log(
        401,
        LogLevel::Debug,
        provider,
        client_addr,
        &format!(
            "{} request without a session that satisfies this location answered 401 {error} (only page navigations are sent to the provider; see {})",
            log_safe(method),
            location_name("unauth_action")
        ),
        PageText {
            title: "Connexion requise",
            message: "Vous devez vous connecter pour accéder à cette page.",
            english: "You must log in to access this page.",
            retry: None,
        },
    );
    if json {
        page.content_type = "application/json".into();
        page.body = serde_json::json!({ "error": error, "login_url": login_url }).to_string();
        page.body.push('\n');
    }
    page.headers.push((
        "WWW-Authenticate".into(),
        format!("Sesame realm=\"{}\", error=\"{error}\"", provider.name()),
    ));
    page
}

/// The callback's state matches no login started in this browser.
pub fn state_mismatch(provider: &Provider, client_addr: &str, detail: &str) -> Page {
    provider.count_failure(Failure::StateMismatch);
    let page = page_and_log(
        400,
        LogLevel::Warn,
        provider,
        client_addr,
        &format!(
            "state does not match a login started in this browser (replayed, tampered or expired){detail}; if this happens to every user, check that the browser keeps the login cookie (https redirect_uri with Secure cookies, same host)"
        ),
        PageText {
            title: "Connexion expirée ou invalide",
            message: "Cette tentative de connexion n'est plus valable. Retournez à la page d'accueil et connectez-vous à nouveau.",
            english: "This login attempt is no longer valid. Go back to the home page and log in again.",
            retry: Some("/"),
        },
    );
    because(page, "state_mismatch")
}

/// The logout return's state does not match the logout this browser started.
pub fn logout_state_mismatch(provider: &Provider, client_addr: &str) -> Page {
    provider.count_failure(Failure::LogoutStateMismatch);
    page_and_log(
        400,
        LogLevel::Warn,
        provider,
        client_addr,
        "logout return: state does not match the logout started in this browser (replayed, tampered or expired); the local session was already ended",
        PageText {
            title: "Déconnexion non reconnue",
            message: "Cette déconnexion n'a pas été demandée depuis ce navigateur. Votre session locale est fermée.",
            english: "This logout was not started from this browser. Your local session is closed.",
            retry: Some("/"),
        },
    )
}

/// Metadata could not be fetched before sending the browser to the provider.
pub fn provider_unavailable(provider: &Provider, client_addr: &str, err: &OidcError) -> Page {
    provider.count_failure(Failure::ProviderUnavailable);
    let page = page_and_log(
        503,
        LogLevel::Error,
        provider,
        client_addr,
        &format!(
            "cannot reach the identity provider ({}); check that this server reaches {} (DNS, firewall, proxy, ca_file) and http_timeout",
            error_text(provider, &err.to_string()),
            provider.cfg.settings.discovery_url
        ),
        PageText {
            title: "Fournisseur d'identité indisponible",
            message: "Le service d'identification ne répond pas pour le moment. Merci de réessayer dans quelques minutes.",
            english: "The identity provider is not responding. Please try again in a few minutes.",
            retry: None,
        },
    );
    because(page, "provider_unavailable")
}

/// Every provider slot of this process is taken (`sesame_provider_concurrency`): answered at
/// once, before any job, so that a slow provider or a flood of callbacks cannot take every
/// server thread.
pub fn provider_busy(provider: &Provider, client_addr: &str, limit: usize) -> Page {
    provider.count_failure(Failure::ProviderBusy);
    let mut page = page_and_log(
        503,
        LogLevel::Warn,
        provider,
        client_addr,
        &format!(
            "provider busy: {limit} provider exchanges already in flight in this process ({}); the provider is slow or logins arrive faster than it answers",
            http_name("provider_concurrency")
        ),
        PageText {
            title: "Service de connexion saturé",
            message: "Trop de connexions sont en cours. Merci de réessayer dans quelques instants.",
            english: "Too many logins are in progress. Please try again in a moment.",
            retry: None,
        },
    );
    page.headers
        .push(("Retry-After".to_owned(), "5".to_owned()));
    because(page, "provider_busy")
}

/// `error=...` on the redirect_uri (docs/federations.md §7.4).
pub fn provider_error(
    provider: &Provider,
    client_addr: &str,
    error: &str,
    description: Option<&str>,
    retry: &str,
) -> Page {
    provider.count_failure(Failure::ProviderError { error, description });
    let page = provider_error_page(provider, client_addr, error, description, retry);
    because(page, format!("provider_error:{}", cause_code(error)))
}

fn provider_error_page(
    provider: &Provider,
    client_addr: &str,
    error: &str,
    description: Option<&str>,
    retry: &str,
) -> Page {
    let detail = format!(
        "the provider returned error={}{}",
        log_safe(error),
        description
            .map(|d| format!(" ({})", log_safe(d)))
            .unwrap_or_default()
    );
    let y = description.and_then(crate::translate::find_y_code);
    let y_fix = y
        .and_then(crate::translate::y_code)
        .map(|t| format!("; {}", t.fix))
        .unwrap_or_default();
    if crate::federation::rules(provider.cfg.settings.federation).translates_callback_errors() {
        if let Some(t) = crate::translate::callback_error(error, description) {
            let is_config = t.title == "Erreur de configuration du service";
            let (status, level) = match error {
                "server_error" | "temporarily_unavailable" => (503, LogLevel::Warn),
                _ if is_config => (502, LogLevel::Error),
                "invalid_idp_hint" | "idp_hint_not_found" => (400, LogLevel::Warn),
                _ => (403, LogLevel::Info),
            };
            return page_and_log_kind(
                error,
                status,
                level,
                provider,
                client_addr,
                &format!("{detail}: {}{y_fix}", t.fix),
                PageText {
                    title: t.title,
                    message: t.message,
                    english: t.english,
                    retry: (!is_config).then_some(retry),
                },
            );
        }
    }
    let detail = format!("{detail}{y_fix}");
    match error {
        "access_denied" | "login_required" => page_and_log(
            403,
            LogLevel::Info,
            provider,
            client_addr,
            &format!("{detail}: login cancelled by the user or the required level could not be reached"),
            PageText {
                title: "Connexion annulée",
                message: "La connexion a été annulée, ou le niveau de sécurité demandé n'a pas pu être atteint. Vous pouvez réessayer.",
                english: "The login was cancelled, or the required security level could not be reached. You may try again.",
                retry: Some(retry),
            },
        ),
        "server_error" | "temporarily_unavailable" => page_and_log(
            503,
            LogLevel::Warn,
            provider,
            client_addr,
            &format!("{detail}: failure on the provider's side, nothing to change here"),
            PageText {
                title: "Fournisseur d'identité indisponible",
                message: "Le service d'identification a rencontré un problème. Merci de réessayer dans quelques minutes.",
                english: "The identity provider ran into a problem. Please try again in a few minutes.",
                retry: Some(retry),
            },
        ),
        "invalid_idp_hint" | "idp_hint_not_found" => page_and_log(
            400,
            LogLevel::Warn,
            provider,
            client_addr,
            &format!("{detail}: the identity provider hint was refused"),
            PageText {
                title: "Connexion impossible",
                message: "Le fournisseur d'identité choisi n'est pas disponible. Vous pouvez réessayer.",
                english: "The chosen identity provider is not available. You may try again.",
                retry: Some(retry),
            },
        ),
        _ => page_and_log(
            502,
            LogLevel::Error,
            provider,
            client_addr,
            &format!(
                "{detail}: the provider refused the authorization request, a configuration problem: check scope, acr_values, client_id and that redirect_uri is registered exactly"
            ),
            PageText {
                title: "Erreur de configuration du service",
                message: "La connexion n'a pas pu aboutir à cause d'un problème de configuration de ce site. L'administrateur a été informé.",
                english: "The login failed because of a configuration problem on this site. The administrator has been notified.",
                retry: None,
            },
        ),
    }
}

/// A session that does not hold a claim value the location requires (`sesame_require`).
pub fn claim_refused(provider: &Provider, client_addr: &str, user: &str, why: &str) -> Page {
    provider.count_failure(Failure::ClaimRefused);
    page_and_log_kind(
        "forbidden",
        403,
        LogLevel::Info,
        provider,
        client_addr,
        &format!(
            "access refused to user {user}: {why} ({} of this location)",
            location_name("require")
        ),
        PageText {
            title: "Accès refusé",
            message: "Votre compte ne donne pas accès à cette page (organisation, adresse électronique ou rôle non autorisés). Si vous pensez que c'est une erreur, contactez l'administrateur du service.",
            english: "Your account does not give access to this page.",
            retry: None,
        },
    )
}

/// The login came back at a level the location did not ask for (or without a second factor).
pub fn level_refused(provider: &Provider, client_addr: &str, why: &str, retry: &str) -> Page {
    provider.count_failure(Failure::LevelRefused);
    page_and_log_kind(
        "insufficient_level",
        403,
        LogLevel::Warn,
        provider,
        client_addr,
        &format!(
            "login refused: {why}; the provider did not deliver the level asked ({} of this location)",
            location_name("acr")
        ),
        PageText {
            title: "Niveau de sécurité insuffisant",
            message: "Cette page demande une authentification plus forte (par exemple une double authentification). Reconnectez-vous avec un moyen d'authentification adapté.",
            english: "This page needs a stronger authentication (e.g. multi-factor). Log in again with a suitable method.",
            retry: Some(retry),
        },
    )
}

/// Step-up came back with another user than the session it was upgrading.
pub fn identity_changed(provider: &Provider, client_addr: &str, retry: &str) -> Page {
    provider.count_failure(Failure::IdentityChanged);
    page_and_log_kind(
        "identity_changed",
        403,
        LogLevel::Warn,
        provider,
        client_addr,
        "step-up refused: the re-authentication returned another sub than the session being upgraded (another account was used); the session is kept unchanged",
        PageText {
            title: "Compte différent",
            message: "Vous vous êtes reconnecté avec un autre compte que celui de votre session. Reconnectez-vous avec le même compte.",
            english: "You logged in again with another account than your session's. Use the same account.",
            retry: Some(retry),
        },
    )
}

/// Like `page_and_log`, but the administrator may replace the page (`error_pages` directory of
/// the provider: `<kind>.html`, `{reference}` replaced by the reference id).
fn page_and_log_kind(
    kind: &str,
    status: u16,
    level: LogLevel,
    provider: &Provider,
    client_addr: &str,
    what: &str,
    text: PageText<'_>,
) -> Page {
    let mut page = because(
        page_and_log(status, level, provider, client_addr, what, text),
        kind,
    );
    if let Some(template) = provider.cfg.error_pages.get(kind) {
        let reference = page
            .body
            .split("<code>")
            .nth(1)
            .and_then(|r| r.split("</code>").next())
            .unwrap_or_default()
            .to_owned();
        page.body = template.replace("{reference}", &crate::pages::html_escape(&reference));
        // The operator's page may carry its own styles; it still may not be framed.
        crate::pages::use_template_csp(&mut page);
    }
    page
}

/// A callback refused before any I/O (`iss` missing or foreign, no code).
pub fn bad_callback(provider: &Provider, client_addr: &str, err: &OidcError) -> Page {
    provider.count_failure(Failure::BadCallback);
    let page = page_and_log(
        400,
        LogLevel::Warn,
        provider,
        client_addr,
        &format!(
            "{}; the answer did not come from issuer {} as configured (mix-up or tampering), or the {} directive is wrong",
            error_text(provider, &err.to_string()),
            provider.cfg.settings.issuer,
            provider_name("issuer")
        ),
        PageText {
            title: "Réponse de connexion invalide",
            message: "La réponse du service d'identification n'a pas pu être vérifiée. Retournez à la page d'accueil et connectez-vous à nouveau.",
            english: "The identity provider's answer could not be verified. Go back to the home page and log in again.",
            retry: Some("/"),
        },
    );
    because(page, "bad_callback")
}

/// Token exchange or verification failed.
pub fn login_failed(provider: &Provider, client_addr: &str, err: &OidcError, retry: &str) -> Page {
    provider.count_failure(match err {
        OidcError::Unavailable(_) => Failure::ProviderUnavailable,
        OidcError::TokenRefused(_) => Failure::TokenRefused,
        OidcError::InvalidToken(message) => Failure::TokenRejected(message),
        OidcError::InsufficientAcr { .. } => Failure::InsufficientAcr,
        OidcError::ProviderError { error, description } => Failure::ProviderError {
            error,
            description: description.as_deref(),
        },
        OidcError::BadCallback(_) => Failure::BadCallback,
        OidcError::Protocol(_) => Failure::Protocol,
    });
    let settings = &provider.cfg.settings;
    let (status, level, hint) = match err {
        OidcError::Unavailable(_) => (
            503,
            LogLevel::Error,
            format!(
                "check that this server reaches {} and {}",
                settings.issuer,
                provider_name("http_timeout")
            ),
        ),
        OidcError::TokenRefused(_) => (
            502,
            LogLevel::Error,
            format!(
                "check {}, {} and that {} is registered byte for byte; codes are single-use and short-lived",
                provider_name("client_id"),
                provider_name("client_secret_file"),
                provider_name("redirect_uri")
            ),
        ),
        OidcError::InvalidToken(_) => (
            502,
            LogLevel::Error,
            format!(
                "check {} matches the algorithm registered for this client, the {}, and this server's clock (NTP)",
                provider_name("id_token_alg"),
                provider_name("issuer")
            ),
        ),
        OidcError::InsufficientAcr { .. } => (
            403,
            LogLevel::Warn,
            format!(
                "the user authenticated below {}",
                provider_name("required_acr")
            ),
        ),
        OidcError::ProviderError { .. } | OidcError::BadCallback(_) | OidcError::Protocol(_) => (
            502,
            LogLevel::Error,
            format!(
                "check {}, {} and {} mode against the provider's documentation",
                provider_name("issuer"),
                provider_name("discovery_url"),
                provider_name("userinfo")
            ),
        ),
    };
    let what = format!(
        "login failed: {}; {hint}",
        error_text(provider, &err.to_string())
    );
    let text = match err {
        OidcError::Unavailable(_) => PageText {
            title: "Fournisseur d'identité indisponible",
            message: "Le service d'identification ne répond pas pour le moment. Merci de réessayer dans quelques minutes.",
            english: "The identity provider is not responding. Please try again in a few minutes.",
            retry: Some(retry),
        },
        OidcError::InsufficientAcr { .. } => PageText {
            title: "Niveau de sécurité insuffisant",
            message: "Le moyen de connexion utilisé n'offre pas le niveau de sécurité exigé par ce service.",
            english: "The login method used does not meet the security level this service requires.",
            retry: Some(retry),
        },
        _ => PageText {
            title: "Connexion impossible",
            message: "La connexion n'a pas pu être vérifiée. Merci de réessayer ; si le problème persiste, contactez l'administrateur du site.",
            english: "The login could not be verified. Please try again; if it persists, contact the site administrator.",
            retry: Some(retry),
        },
    };
    let page = page_and_log(status, level, provider, client_addr, &what, text);
    because(page, cause_of(err))
}

/// A Rust panic caught at the boundary: a plain 500 page.
pub(crate) fn internal_error(context: &str) -> Page {
    let reference = new_reference();
    emit(
        LogLevel::Error,
        &format!("sesame: internal error in {context}; this is a bug, please report it [ref {reference}]"),
    );
    render(
        500,
        &reference,
        &PageText {
            title: "Erreur interne",
            message: "Une erreur inattendue s'est produite. Merci de réessayer.",
            english: "An unexpected error occurred. Please try again.",
            retry: None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directives::Syntax;
    use std::sync::Arc;

    /// A core with one provider, its log lines meant for `syntax`'s server.
    fn core_for(syntax: Syntax) -> (super::super::Sesame, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "sesame-failures-{}-{}",
            std::process::id(),
            hex::encode(crate::session::random_bytes::<4>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("secret"), "a failures test secret of 32+ bytes!").unwrap();
        std::fs::write(dir.join("client_secret"), "client-secret").unwrap();
        let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let mut b = crate::ConfigBuilder::new();
        b.set_syntax(syntax);
        b.set_global("redis", "redis://127.0.0.1:1/0").unwrap();
        b.set_global("secret_file", &path("secret")).unwrap();
        b.add_provider("op").unwrap();
        for (k, v) in [
            ("issuer", "https://op.example"),
            ("client_id", "client"),
            ("client_secret_file", &path("client_secret")),
            ("redirect_uri", "https://app.example/sesame/callback"),
            ("id_token_alg", "ES256"),
        ] {
            b.set_provider("op", k, v).unwrap();
        }
        (b.build().unwrap(), dir)
    }

    /// The log lines `fail` writes through the provider of a core built for `syntax`.
    fn lines_for(syntax: Syntax, fail: impl Fn(&Provider)) -> String {
        let _guard = crate::log::TEST_SINK_LOCK.lock();
        let lines: Arc<parking_lot::Mutex<Vec<String>>> = Arc::default();
        let sink_lines = Arc::clone(&lines);
        crate::log::set_sink(Box::new(move |_, msg| {
            sink_lines.lock().push(msg.to_owned())
        }));
        let (core, dir) = core_for(syntax);
        fail(&core.inner.providers[0]);
        crate::log::reset_sink();
        let _ = std::fs::remove_dir_all(dir);
        let text = lines.lock().join("\n");
        text
    }

    /// Each line kind names its directives in both spellings, never in the other server's.
    fn assert_spelled(fail: impl Fn(&Provider), nginx: &[&str], apache: &[&str]) {
        let (on_nginx, on_apache) = (
            lines_for(Syntax::Nginx, &fail),
            lines_for(Syntax::Apache, &fail),
        );
        for name in nginx {
            assert!(on_nginx.contains(name), "nginx: {name} in {on_nginx}");
            assert!(!on_apache.contains(name), "apache: {name} in {on_apache}");
        }
        for name in apache {
            assert!(on_apache.contains(name), "apache: {name} in {on_apache}");
        }
        assert!(
            !on_apache.contains('\u{1}') && !on_apache.contains("\\u{1}"),
            "{on_apache}"
        );
    }

    #[test]
    fn store_down_names_the_redis_directives_as_the_server_writes_them() {
        let unconfigured = crate::session::RedisStore::unconfigured();
        let err = crate::session::Store::get(&unconfigured, "k").unwrap_err();
        assert_spelled(
            |p| drop(store_down(p, "1.2.3.4", &err)),
            &[
                "sesame_redis is not configured",
                "at the sesame_redis URL, and sesame_redis_timeout",
            ],
            &[
                "SesameRedis is not configured",
                "at the SesameRedis URL, and SesameRedisTimeout",
            ],
        );
    }

    #[test]
    fn a_401_names_the_unauth_action_directive_as_the_server_writes_it() {
        assert_spelled(
            |p| {
                drop(unauthenticated(
                    p,
                    "1.2.3.4",
                    "POST",
                    Unauthenticated::LoginRequired,
                    None,
                    true,
                ))
            },
            &["see sesame_unauth_action)"],
            &["see SesameUnauthAction)"],
        );
    }

    #[test]
    fn provider_busy_names_the_concurrency_directive_as_the_server_writes_it() {
        assert_spelled(
            |p| drop(provider_busy(p, "1.2.3.4", 8)),
            &["(sesame_provider_concurrency)"],
            &["(SesameProviderConcurrency)"],
        );
    }

    #[test]
    fn refusals_name_the_location_rule_as_the_server_writes_it() {
        assert_spelled(
            |p| drop(claim_refused(p, "1.2.3.4", "u", "claim siret missing")),
            &["(sesame_require of this location)"],
            &["(SesameRequireClaim of this location)"],
        );
        assert_spelled(
            |p| drop(level_refused(p, "1.2.3.4", "acr eidas1", "/")),
            &["(sesame_acr of this location)"],
            &["(SesameAcr of this location)"],
        );
    }

    #[test]
    fn login_failures_name_variables_and_provider_keys_as_the_server_writes_them() {
        let err = OidcError::InvalidToken(format!(
            "id_token: acr \"x\" refused, it would reach the backend in {} / X-Sesame-Acr",
            crate::directives::registry::variable_name("acr")
        ));
        assert_spelled(
            |p| drop(login_failed(p, "1.2.3.4", &err, "/")),
            &[
                "in $sesame_acr / X-Sesame-Acr",
                "check id_token_alg matches",
            ],
            &["in SESAME_ACR / X-Sesame-Acr", "check IdTokenAlg matches"],
        );
    }

    #[test]
    fn logged_request_values_lose_bidi_overrides_and_zero_width_characters() {
        // A client address or provider error that would make the line read "ok" backwards.
        assert_eq!(
            log_safe("1.2.3.4\u{202e}\u{2066}ko\u{2069}\u{200b}\u{feff}\r\n[error] forged"),
            "1.2.3.4ko[error] forged"
        );
        assert_eq!(log_safe(&"é".repeat(400)).chars().count(), 300);
    }
}
