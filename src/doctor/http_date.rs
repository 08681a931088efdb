//! The HTTP `Date` header (RFC 9110 §5.6.7, IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`), the
//! form a server sends, read into Unix seconds.

use time::format_description::BorrowedFormatItem;

fn imf_fixdate() -> &'static [BorrowedFormatItem<'static>] {
    static FORMAT: std::sync::OnceLock<Vec<BorrowedFormatItem<'static>>> =
        std::sync::OnceLock::new();
    FORMAT.get_or_init(|| {
        time::format_description::parse_borrowed::<1>(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT",
        )
        .unwrap_or_default()
    })
}

/// Unix seconds of an IMF-fixdate, None when `text` is not one.
pub fn parse_http_date(text: &str) -> Option<i64> {
    time::PrimitiveDateTime::parse(text.trim(), imf_fixdate())
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::parse_http_date;

    #[test]
    fn imf_fixdates_and_nothing_else() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date(" Tue, 01 Dec 2026 21:48:48 GMT "),
            Some(1_796_161_728)
        );
        for bad in [
            "",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }
}
