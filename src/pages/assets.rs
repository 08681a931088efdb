//! The only assets Sesame's pages use, compiled in: the official login buttons (standalone CSS
//! and the two logos, from the State design system's "connect" component: provenance and
//! licence in `assets/NOTICE`) and the pages' own small style sheet.

use std::sync::OnceLock;

const CONNECT_CSS: &str = include_str!("assets/connect.css");
const LAYOUT_CSS: &str = include_str!("assets/layout.css");
const FRANCECONNECT_SVG: &str = include_str!("assets/franceconnect.svg");
const PROCONNECT_SVG: &str = include_str!("assets/proconnect.svg");

/// The style sheet of every page: layout, then the button with its logos inlined as data:
/// URIs (no request leaves the page).
pub(crate) fn style_sheet() -> &'static str {
    static SHEET: OnceLock<String> = OnceLock::new();
    SHEET.get_or_init(|| {
        let button = CONNECT_CSS
            .replace("{fc_logo}", &svg_data(FRANCECONNECT_SVG))
            .replace("{pc_logo}", &svg_data(PROCONNECT_SVG));
        format!("{LAYOUT_CSS}{button}")
    })
}

/// An SVG for `url("data:image/svg+xml;charset=utf8,...")`: the characters a CSS string or a
/// data: URI cannot hold as they are, percent-encoded.
fn svg_data(svg: &str) -> String {
    let mut out = String::with_capacity(svg.len() + svg.len() / 8);
    for c in svg.trim().chars() {
        match c {
            '"' => out.push_str("%22"),
            '#' => out.push_str("%23"),
            '%' => out.push_str("%25"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_style_sheet_inlines_both_logos_and_names_no_other_resource() {
        let sheet = super::style_sheet();
        assert!(!sheet.contains("{fc_logo}") && !sheet.contains("{pc_logo}"));
        assert_eq!(sheet.matches("url(").count(), 2);
        assert_eq!(sheet.matches("url(\"data:image/svg+xml").count(), 2);
        assert!(!sheet.contains("@import") && !sheet.contains("@font-face"));
        assert!(sheet.contains("width:209px") && sheet.contains("width:214px"));
    }
}
