//! Error translation room: provider error codes → what the operator must fix (log line) and
//! what the user reads (French page). ProConnect Y-codes (docs/federations.md §7.2), FranceConnect
//! codes the site can cause (§7.3) and the OIDC errors arriving on the redirect_uri (§7.4).

/// One translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    /// What happened and what to change, for the log.
    pub fix: &'static str,
    /// Page title and message (French) and the English line.
    pub title: &'static str,
    pub message: &'static str,
    pub english: &'static str,
}

const CONFIG_TITLE: &str = "Erreur de configuration du service";
const CONFIG_MESSAGE: &str = "La connexion n'a pas pu aboutir à cause d'un problème de configuration de ce site. L'administrateur a été informé.";
const CONFIG_EN: &str = "The login failed because of a configuration problem on this site.";

const fn config(fix: &'static str) -> Translation {
    Translation {
        fix,
        title: CONFIG_TITLE,
        message: CONFIG_MESSAGE,
        english: CONFIG_EN,
    }
}

const fn user(
    fix: &'static str,
    title: &'static str,
    message: &'static str,
    english: &'static str,
) -> Translation {
    Translation {
        fix,
        title,
        message,
        english,
    }
}

/// Every provider error code [`y_code`] translates (the metrics' `code` label takes these,
/// any other code counts as `other`).
pub const Y_CODES: &[&str] = &[
    "Y000400", "Y000404", "Y030031", "Y030110", "Y030111", "Y04A586", "Y500015", "Y500001",
    "Y500006", "Y500024", "Y500025", "Y500027", "Y020032", "Y190001", "Y030007", "Y04EA6EF",
    "Y04C013C", "Y04CFAEF", "Y100009",
];

/// Every OIDC `error` [`callback_error`] translates (same use).
pub const CALLBACK_ERRORS: &[&str] = &[
    "access_denied",
    "login_required",
    "invalid_scope",
    "invalid_request",
    "unsupported_response_type",
    "invalid_acr",
    "invalid_idp_hint",
    "idp_hint_not_found",
    "server_error",
    "temporarily_unavailable",
];

/// A provider error code (`Y000400`, `Y030031`...), as shown on ProConnect/FranceConnect pages or
/// quoted in an `error_description`.
pub fn y_code(code: &str) -> Option<Translation> {
    Some(match code {
        "Y000400" => config("ProConnect Y000400: an authorize or logout parameter failed validation (malformed redirect_uri, empty scope, login_hint not an e-mail, siret_hint not 14 digits, or a parameter outside the documented list); check scope, redirect_uri and the sesame_*_hint values"),
        "Y000404" => config("ProConnect Y000404: wrong URL at ProConnect; the issuer must end with /api/v2 (use a proconnect-* preset)"),
        "Y030031" => config("ProConnect Y030031: redirect_uri is not registered for this client on this ProConnect server (Internet/RIE x integration/production each have their own client database); register it exactly, trailing slash included"),
        "Y030110" => user("ProConnect Y030110: the ProConnect session cookie was missing (cookies blocked, flow resumed in another browser, or expired); nothing to change if rare", "Session expirée", "Votre session de connexion a expiré ou les cookies sont bloqués. Recommencez depuis la page du service.", "Your login session expired or cookies are blocked. Start again from the service."),
        "Y030111" => config("ProConnect Y030111: post_logout_redirect_uri does not match the registered one byte for byte (encoding, trailing slash); fix post_logout_redirect_uri or the registration"),
        "Y04A586" => config("ProConnect Y04A586: client not found or invalid for this environment (credentials of another environment, or http/localhost redirect in production); check the preset against the client_id"),
        "Y500015" => user("ProConnect Y500015: this service is not registered to accept private-sector users; ask ProConnect to enable them if they should get in", "Accès réservé aux agents publics", "Ce service est réservé aux agents de la fonction publique.", "This service is reserved to public servants."),
        "Y500001" => user("ProConnect Y500001: no identity provider for the user's e-mail domain (user side)", "Connexion impossible", "Aucun fournisseur d'identité ne correspond à votre adresse électronique.", "No identity provider matches your e-mail address."),
        "Y500006" => user("ProConnect Y500006: the identity provider returned an invalid identity (identity provider side)", "Connexion impossible", "Votre fournisseur d'identité a transmis une identité incomplète.", "Your identity provider sent an incomplete identity."),
        "Y500024" | "Y500025" | "Y500027" => user("ProConnect Y50002x: account blocked, e-mail not authorised or invalid e-mail domain (user side)", "Connexion impossible", "Votre compte ne peut pas être utilisé pour vous connecter.", "Your account cannot be used to log in."),
        "Y020032" => user("ProConnect Y020032: the identity provider could not deliver any of the acr values asked (sesame_acr); the user needs another authentication means", "Niveau de sécurité insuffisant", "Votre fournisseur d'identité ne permet pas le niveau de sécurité demandé par cette page.", "Your identity provider cannot reach the security level this page needs."),
        "Y190001" => user("session at the provider expired (user side)", "Session expirée", "Votre session a expiré. Recommencez depuis la page du service.", "Your session expired. Start again."),
        "Y030007" => config("FranceConnect Y030007: an authorize parameter was refused (only the whitelisted ones, acr_values eidas1, nonce >= 22); use the franceconnect-* preset and no FranceConnect-incompatible location option"),
        "Y04EA6EF" => config("FranceConnect Y04EA6EF: unknown client_id for this environment; check the preset and client_id"),
        "Y04C013C" => config("FranceConnect Y04C013C: redirect_uri not registered exactly for this client"),
        "Y04CFAEF" => config("FranceConnect Y04CFAEF: post_logout_redirect_uri not registered exactly for this client"),
        "Y100009" => config("FranceConnect Y100009: amr asked but this client is not authorised for it"),
        _ => return None,
    })
}

/// The first Y-code in a provider text (`error_description`, `error_uri`), if any.
pub fn find_y_code(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    (0..bytes.len()).find_map(|i| {
        if bytes[i] != b'Y' || (i > 0 && bytes[i - 1].is_ascii_alphanumeric()) {
            return None;
        }
        let len = bytes[i + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b))
            .count();
        ((6..=8).contains(&len)).then(|| &text[i..i + 1 + len])
    })
}

/// An `error` arriving on the redirect_uri (docs/federations.md §7.4).
pub fn callback_error(error: &str, description: Option<&str>) -> Option<Translation> {
    let acr = description.is_some_and(|d| d.contains("ACR"));
    Some(match error {
        "access_denied" if acr => user("the provider could not satisfy the essential acr values asked (sesame_acr): the user's identity provider cannot do that level (e.g. no second factor)", "Niveau de sécurité insuffisant", "Cette page demande une authentification plus forte (par exemple une double authentification) que celle que votre compte permet. Contactez votre administrateur ou utilisez un autre moyen de connexion.", "This page needs a stronger authentication (e.g. multi-factor) than your account allows."),
        "access_denied" => user("the user cancelled the login at the provider", "Connexion annulée", "La connexion a été annulée. Vous pouvez réessayer.", "The login was cancelled. You may try again."),
        "login_required" => user("prompt=none found no session at the provider", "Connexion nécessaire", "Vous devez vous connecter pour accéder à cette page.", "You need to log in to reach this page."),
        "invalid_scope" => config("a scope is not allowed for this client at the provider: remove it from `scope` or ask the provider to allow it"),
        "invalid_request" => config("the provider refused the request (scope without openid, prompt combination, PKCE): check scope, sesame_prompt and pkce"),
        "unsupported_response_type" => config("response_type refused: the provider only does the code flow"),
        "invalid_acr" => config("FranceConnect refused acr_values: only eidas1 on FranceConnect (eidas2/eidas3 are FranceConnect+)"),
        "invalid_idp_hint" | "idp_hint_not_found" => user("the identity provider hint (sesame_idp_hint) is unknown to the provider: fix or remove it", "Connexion impossible", "Le fournisseur d'identité choisi n'est pas disponible. Vous pouvez réessayer.", "The chosen identity provider is not available."),
        "server_error" | "temporarily_unavailable" => user("failure on the provider's side, nothing to change here", "Fournisseur d'identité indisponible", "Le service d'identification a rencontré un problème. Merci de réessayer dans quelques minutes.", "The identity provider ran into a problem. Please try again in a few minutes."),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_proconnect_code_is_translated() {
        for code in [
            "Y000400", "Y000404", "Y030031", "Y030110", "Y030111", "Y04A586", "Y500015", "Y500001",
            "Y500006", "Y500024", "Y500025", "Y500027", "Y020032", "Y190001",
        ] {
            let t = y_code(code).unwrap_or_else(|| panic!("{code} untranslated"));
            assert!(!t.fix.is_empty() && !t.message.is_empty());
        }
        assert!(y_code("Y999999").is_none());
    }

    #[test]
    fn the_listed_codes_are_exactly_translated_ones() {
        for code in Y_CODES {
            assert!(y_code(code).is_some(), "{code} is listed but untranslated");
        }
        for error in CALLBACK_ERRORS {
            assert!(
                callback_error(error, None).is_some(),
                "{error} is listed but untranslated"
            );
        }
    }

    #[test]
    fn y_codes_are_found_inside_provider_text() {
        assert_eq!(find_y_code("Code d'erreur : Y000400 bad"), Some("Y000400"));
        assert_eq!(
            find_y_code("see https://x/erreurs#Y04A586"),
            Some("Y04A586")
        );
        assert_eq!(find_y_code("HEY0000001"), None);
        assert_eq!(find_y_code("nothing"), None);
    }

    #[test]
    fn essential_acr_refusal_reads_as_insufficient_level() {
        let t = callback_error(
            "access_denied",
            Some("requested ACRs could not be satisfied"),
        )
        .unwrap();
        assert_eq!(t.title, "Niveau de sécurité insuffisant");
        let t = callback_error("access_denied", Some("user authentication aborted")).unwrap();
        assert_eq!(t.title, "Connexion annulée");
        assert!(callback_error("weird", None).is_none());
    }
}
