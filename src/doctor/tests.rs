use super::providers::served_by_for_tests as served_by;
use super::*;

#[test]
fn http_dates_read_as_unix_seconds() {
    assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
    assert_eq!(
        parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT"),
        Some(1_700_000_000)
    );
    assert_eq!(
        parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"),
        Some(951_782_400)
    );
    for bad in [
        "",
        "yesterday",
        "Tue, 14 Nov 2023 22:13:20 UTC",
        "Tue, 14 Nov 2023 25:13:20 GMT",
        "Tue, 14 Nux 2023 22:13:20 GMT",
        "Tuesday, 14-Nov-23 22:13:20 GMT",
        "Tue, 4 Nov 2023 22:13:20 GMT",
    ] {
        assert_eq!(parse_http_date(bad), None, "{bad}");
    }
}

#[test]
fn server_names_match_like_the_servers_do() {
    assert!(served_by("www.example.fr", "www.example.fr"));
    assert!(served_by("WWW.example.fr", "www.example.fr"));
    assert!(served_by("*.example.fr", "www.example.fr"));
    assert!(!served_by("*.example.fr", "example.fr"));
    assert!(served_by(".example.fr", "example.fr"));
    assert!(!served_by("example.fr", "www.example.fr"));
}
