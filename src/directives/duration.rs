//! Durations as operators write them in nginx.conf: `500ms`, `5s`, `10m`, `12h`, `1d`, or a bare
//! number of seconds (nginx's own convention for time values).

use std::time::Duration;

/// Parses `500ms`, `5s`, `10m`, `12h`, `1d` or `30` (seconds). `None` when malformed or absurd.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits_end == 0 {
        return None;
    }
    let number: u64 = text[..digits_end].parse().ok()?;
    let millis_per_unit: u64 = match &text[digits_end..] {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    // Cap at ten years: anything larger is a typo, and it keeps arithmetic far from overflow.
    let millis = number.checked_mul(millis_per_unit)?;
    if millis > 10 * 365 * 86_400_000 {
        return None;
    }
    Some(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_the_usual_units() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("12h"), Some(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
    }

    #[test]
    fn durations_reject_garbage() {
        for bad in [
            "",
            "s",
            "5x",
            "-5s",
            "5 s",
            "1.5s",
            "99999999999999999999s",
            "5000000d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}
