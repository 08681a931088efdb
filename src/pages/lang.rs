//! The language of a page: French unless the browser's `Accept-Language` prefers English.

/// A page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    /// The language `Accept-Language` prefers among French and English (RFC 9110 §12.5.4):
    /// English only when an `en` range has a higher quality than every `fr` range (a browser
    /// set to French, or to neither, gets French: the federations' texts are French first).
    pub fn negotiate(accept_language: &str) -> Lang {
        let (mut fr, mut en) = (0u16, 0u16);
        for range in accept_language.split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map_or(1000, |(_, v)| crate::http::quality(v.trim()));
            let primary = tag.split('-').next().unwrap_or_default();
            match primary {
                "fr" => fr = fr.max(q),
                "en" => en = en.max(q),
                _ => {}
            }
        }
        if en > fr {
            Lang::En
        } else {
            Lang::Fr
        }
    }

    /// The `lang` attribute.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// `fr` or `en` of a text pair.
    pub fn pick<'a>(self, fr: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn french_unless_english_is_preferred() {
        assert_eq!(Lang::negotiate(""), Lang::Fr);
        assert_eq!(Lang::negotiate("fr-FR,fr;q=0.9,en;q=0.8"), Lang::Fr);
        assert_eq!(Lang::negotiate("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::negotiate("en;q=0.5, fr;q=0.9"), Lang::Fr);
        assert_eq!(Lang::negotiate("de-DE,de;q=0.9"), Lang::Fr);
        assert_eq!(Lang::negotiate("en;q=0.4,de"), Lang::En);
        assert_eq!(Lang::negotiate("en;q=bogus"), Lang::Fr);
    }
}
