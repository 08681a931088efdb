//! The frame of every page: doctype, language, viewport, the one inline style sheet (allowed
//! by its hash in the Content-Security-Policy), a `main` column.

use std::sync::OnceLock;

use super::{assets, html_escape, Lang};

/// `'sha256-...'` of the inline style sheet, for `style-src`.
pub(crate) fn style_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        use base64::Engine;
        use sha2::Digest;
        let digest = sha2::Sha256::digest(assets::style_sheet().as_bytes());
        format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    })
}

/// The `<style>` element of the pages (also the `{style}` placeholder of an operator's
/// login page template).
pub(crate) fn style_element() -> String {
    format!("<style>{}</style>", assets::style_sheet())
}

/// A whole document around `main_html` (already escaped HTML).
pub(crate) fn document(lang: Lang, title: &str, main_html: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n<title>{title}</title>\n\
         {style}\n</head>\n<body>\n<main>\n{main_html}</main>\n</body>\n</html>\n",
        lang = lang.code(),
        title = html_escape(title),
        style = style_element(),
    )
}
