//! The small HTML pages Sesame answers with itself (errors, 503 when Redis is down, "login
//! cancelled"). French first with a short English line, every dynamic part escaped, never
//! cached, and a reference id that also appears in the matching log line so support can
//! find it.

/// A complete response produced by Sesame.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    pub set_cookies: Vec<String>,
    /// Extra response headers (e.g. `Cache-Control: no-store`).
    pub headers: Vec<(String, String)>,
}

/// What one page says. `retry` is a local path offered as « Réessayer ».
#[derive(Debug, Clone)]
pub struct PageText<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub english: &'a str,
    pub retry: Option<&'a str>,
}

/// A short random reference id (12 hex chars) shared by the page and the log line.
pub fn new_reference() -> String {
    hex::encode(crate::session::random_bytes::<6>())
}

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Renders a complete page.
pub fn render(status: u16, reference: &str, text: &PageText<'_>) -> Page {
    let retry = text
        .retry
        .map(|href| {
            format!(
                "<p><a href=\"{}\">Réessayer</a> · <span lang=\"en\">Try again</span></p>\n",
                html_escape(href)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n<p>{message}</p>\n\
         <p lang=\"en\">{english}</p>\n{retry}<p><small>Référence / Reference : \
         <code>{reference}</code></small></p>\n</main>\n</body>\n</html>\n",
        title = html_escape(text.title),
        message = html_escape(text.message),
        english = html_escape(text.english),
        reference = html_escape(reference),
    );
    Page {
        status,
        content_type: "text/html; charset=utf-8".into(),
        body,
        set_cookies: Vec::new(),
        headers: vec![("Cache-Control".into(), "no-store".into())],
    }
}

/// « Se déconnecter ? »: the page a logout link followed from another site answers, so that no
/// site can log a user out (here and at the provider) with a link or an image. The button
/// POSTs to `action` (a local path carrying a token bound to the session). The page may not be
/// framed, so that another site cannot trick a click on the button.
pub fn confirm_logout(action: &str) -> Page {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Se déconnecter ?</title>\n</head>\n<body>\n<main>\n<h1>Se déconnecter ?</h1>\n\
         <p>Un autre site vous a envoyé vers la déconnexion de ce service. Confirmez-vous vouloir \
         vous déconnecter ?</p>\n<p lang=\"en\">Another site sent you to this service's logout. \
         Do you want to log out?</p>\n<form method=\"post\" action=\"{action}\">\n\
         <button type=\"submit\">Se déconnecter</button>\n</form>\n\
         <p><a href=\"/\">Annuler</a> · <span lang=\"en\">Cancel</span></p>\n</main>\n</body>\n</html>\n",
        action = html_escape(action),
    );
    Page {
        status: 200,
        content_type: "text/html; charset=utf-8".into(),
        body,
        set_cookies: Vec::new(),
        headers: vec![
            ("Cache-Control".into(), "no-store".into()),
            (
                "Content-Security-Policy".into(),
                "frame-ancestors 'none'".into(),
            ),
            ("X-Frame-Options".into(), "DENY".into()),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logout_confirmation_posts_to_its_escaped_action_and_cannot_be_framed() {
        let page = confirm_logout("/logout?confirm=a\"b");
        assert_eq!(page.status, 200);
        assert!(page
            .body
            .contains("<form method=\"post\" action=\"/logout?confirm=a&quot;b\">"));
        assert!(page.body.contains("Se déconnecter</button>"));
        assert!(page
            .headers
            .contains(&("X-Frame-Options".to_string(), "DENY".to_string())));
        assert!(page
            .headers
            .iter()
            .any(|(k, v)| k == "Content-Security-Policy" && v.contains("frame-ancestors 'none'")));
    }

    #[test]
    fn pages_escape_everything_and_are_never_cached() {
        let page = render(
            400,
            "ref<1>",
            &PageText {
                title: "Connexion <annulée>",
                message: "\"x\" & 'y'",
                english: "<script>alert(1)</script>",
                retry: Some("/a?b=\"><script>"),
            },
        );
        assert_eq!(page.status, 400);
        assert!(!page.body.contains("<script>"));
        assert!(page.body.contains("Connexion &lt;annulée&gt;"));
        assert!(page.body.contains("&quot;x&quot; &amp; &#39;y&#39;"));
        assert!(page.body.contains("ref&lt;1&gt;"));
        assert!(page.body.contains("href=\"/a?b=&quot;&gt;&lt;script&gt;\""));
        assert!(page
            .headers
            .contains(&("Cache-Control".to_string(), "no-store".to_string())));
        assert!(page.content_type.starts_with("text/html"));
    }

    #[test]
    fn references_are_random_hex() {
        let a = new_reference();
        assert_eq!(a.len(), 12);
        assert_ne!(a, new_reference());
    }
}
