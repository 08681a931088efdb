//! Error pages (access denied, insufficient level, provider unreachable, Redis down...) and
//! the logout confirmation, in the login page's look: French first with a short English line,
//! the reference id that also appears in the matching log line, a retry link, the site's
//! support contact (`sesame_support_contact`), never cached.

use super::{builtin_csp, html_escape, layout, security_headers, Failure, Lang, Page};

/// What one page says. `retry` is a local path offered as « Réessayer ».
#[derive(Debug, Clone)]
pub struct PageText<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub english: &'a str,
    pub retry: Option<&'a str>,
}

/// Renders a complete error page without a support contact.
pub fn render(status: u16, reference: &str, text: &PageText<'_>) -> Page {
    render_with(status, reference, text, None)
}

/// Renders a complete error page; `support` is the operator's contact line, if any.
pub fn render_with(
    status: u16,
    reference: &str,
    text: &PageText<'_>,
    support: Option<&str>,
) -> Page {
    let retry = text
        .retry
        .map(|href| {
            format!(
                "<p><a href=\"{}\">Réessayer</a> · <span lang=\"en\">Try again</span></p>\n",
                html_escape(href)
            )
        })
        .unwrap_or_default();
    let support = support
        .map(|contact| {
            format!(
                "<p>Besoin d’aide ? <span lang=\"en\">Need help?</span> {}</p>\n",
                html_escape(contact)
            )
        })
        .unwrap_or_default();
    // The reference is the page's first <code> element (an operator's error page template
    // gets it from there).
    let main = format!(
        "<h1>{title}</h1>\n<p>{message}</p>\n<p lang=\"en\">{english}</p>\n{retry}{support}\
         <p class=\"sesame-mention\">Référence / Reference : <code>{reference}</code></p>\n",
        title = html_escape(text.title),
        message = html_escape(text.message),
        english = html_escape(text.english),
        reference = html_escape(reference),
    );
    let mut headers = vec![("Cache-Control".to_string(), "no-store".to_string())];
    headers.extend(security_headers(&builtin_csp()));
    Page {
        status,
        content_type: "text/html; charset=utf-8".into(),
        body: layout::document(Lang::Fr, text.title, &main),
        set_cookies: Vec::new(),
        headers,
        failure: Some(Failure {
            cause: String::new(),
            reference: reference.to_owned(),
        }),
    }
}

/// « Se déconnecter ? »: the page a logout link followed from another site answers, so that no
/// site can log a user out (here and at the provider) with a link or an image. The button
/// POSTs to `action` (a local path carrying a token bound to the session). The page may not be
/// framed, so that another site cannot trick a click on the button.
pub fn confirm_logout(action: &str) -> Page {
    let main = format!(
        "<h1>Se déconnecter ?</h1>\n\
         <p>Un autre site vous a envoyé vers la déconnexion de ce service. Confirmez-vous vouloir \
         vous déconnecter ?</p>\n<p lang=\"en\">Another site sent you to this service's logout. \
         Do you want to log out?</p>\n<form method=\"post\" action=\"{action}\">\n\
         <p><button class=\"sesame-button\" type=\"submit\">Se déconnecter</button></p>\n</form>\n\
         <p><a href=\"/\">Annuler</a> · <span lang=\"en\">Cancel</span></p>\n",
        action = html_escape(action),
    );
    let mut headers = vec![("Cache-Control".to_string(), "no-store".to_string())];
    headers.extend(security_headers(&builtin_csp()));
    Page {
        status: 200,
        content_type: "text/html; charset=utf-8".into(),
        body: layout::document(Lang::Fr, "Se déconnecter ?", &main),
        set_cookies: Vec::new(),
        headers,
        failure: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(page: &'a Page, name: &str) -> Option<&'a str> {
        page.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn logout_confirmation_posts_to_its_escaped_action_and_cannot_be_framed() {
        let page = confirm_logout("/logout?confirm=a\"b");
        assert_eq!(page.status, 200);
        assert!(page
            .body
            .contains("<form method=\"post\" action=\"/logout?confirm=a&quot;b\">"));
        assert!(page.body.contains("Se déconnecter</button>"));
        assert_eq!(header(&page, "X-Frame-Options"), Some("DENY"));
        assert!(header(&page, "Content-Security-Policy")
            .is_some_and(|v| v.contains("frame-ancestors 'none'")));
    }

    #[test]
    fn pages_escape_everything_and_are_never_cached() {
        let page = render_with(
            400,
            "ref<1>",
            &PageText {
                title: "Connexion <annulée>",
                message: "\"x\" & 'y'",
                english: "<script>alert(1)</script>",
                retry: Some("/a?b=\"><script>"),
            },
            Some("<b>support</b>@example.org"),
        );
        assert_eq!(page.status, 400);
        assert!(!page.body.contains("<script>"));
        assert!(!page.body.contains("<b>"));
        assert!(page.body.contains("Connexion &lt;annulée&gt;"));
        assert!(page.body.contains("&quot;x&quot; &amp; &#39;y&#39;"));
        assert!(page.body.contains("ref&lt;1&gt;"));
        assert!(page.body.contains("href=\"/a?b=&quot;&gt;&lt;script&gt;\""));
        assert!(page.body.contains("&lt;b&gt;support&lt;/b&gt;@example.org"));
        assert_eq!(header(&page, "Cache-Control"), Some("no-store"));
        assert!(page.content_type.starts_with("text/html"));
    }

    #[test]
    fn error_pages_refuse_framing_and_allow_only_their_own_style() {
        let page = render(
            503,
            "abc",
            &PageText {
                title: "t",
                message: "m",
                english: "e",
                retry: None,
            },
        );
        let csp = header(&page, "Content-Security-Policy").unwrap_or_default();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(
            csp.contains(&format!("style-src '{}'", super::layout::style_hash())),
            "{csp}"
        );
        assert_eq!(header(&page, "X-Frame-Options"), Some("DENY"));
        // The hash is the style element's, byte for byte.
        assert!(page.body.contains(&super::layout::style_element()));
        assert!(!page.body.contains("Besoin d’aide"));
    }
}
