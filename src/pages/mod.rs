//! The pages Sesame answers with itself: the login page with the federations' buttons
//! (`login`), error pages, the 503 when Redis is down, the logout confirmation (`error`), in
//! one look (`layout`, `assets`). Every dynamic part is escaped; every page carries a
//! Content-Security-Policy that refuses framing (`frame-ancestors 'none'`, plus
//! `X-Frame-Options: DENY` for older browsers) and loads nothing from anywhere.

mod assets;
mod error;
pub mod lang;
mod layout;
pub mod login;

pub use error::{confirm_logout, render, render_with, PageText};

pub use lang::Lang;
pub use login::{Button, LoginPage};

/// A complete response produced by Sesame.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    pub set_cookies: Vec<String>,
    /// Extra response headers (e.g. `Cache-Control: no-store`).
    pub headers: Vec<(String, String)>,
    /// An error page's reference id and why it answers (the audit log's outcome).
    pub failure: Option<Failure>,
}

/// What an error page stands for: the reference id its log line shares, and a short cause
/// (`state_mismatch`, `provider_error:access_denied`...) for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub cause: String,
    pub reference: String,
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

/// The headers every Sesame page carries: its Content-Security-Policy (which includes
/// `frame-ancestors 'none'`), `X-Frame-Options: DENY` (qualification: no iframe), no MIME
/// sniffing, no referrer sent to the provider's or the "Qu'est-ce que" sites.
pub(crate) fn security_headers(csp: &str) -> Vec<(String, String)> {
    vec![
        ("Content-Security-Policy".into(), csp.to_owned()),
        ("X-Frame-Options".into(), "DENY".into()),
        ("X-Content-Type-Options".into(), "nosniff".into()),
        ("Referrer-Policy".into(), "same-origin".into()),
    ]
}

/// The policy of an operator's page (a `sesame_login_page FILE` template, an `error_pages`
/// page): its own same-site style sheets, inline styles and images, still never in a frame.
pub(crate) fn template_csp() -> String {
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'".to_owned()
}

/// Replaces `page`'s Content-Security-Policy with an operator page's ([`template_csp`]).
pub(crate) fn use_template_csp(page: &mut Page) {
    for (name, value) in &mut page.headers {
        if name.eq_ignore_ascii_case("Content-Security-Policy") {
            *value = template_csp();
        }
    }
}

/// The policy of a page built from Sesame's own layout: nothing but its one inline style
/// sheet (by hash) and the data: logos in it; no script, no form posting elsewhere than this
/// site... and never in a frame.
pub(crate) fn builtin_csp() -> String {
    format!(
        "default-src 'none'; style-src '{}'; img-src data:; base-uri 'none'; frame-ancestors 'none'",
        layout::style_hash()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn references_are_random_hex() {
        let a = super::new_reference();
        assert_eq!(a.len(), 12);
        assert_ne!(a, super::new_reference());
    }
}
