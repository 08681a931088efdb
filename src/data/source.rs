//! One `data` line of a provider block, checked at configuration time.

use std::time::Duration;

use crate::directives::parse_duration;
use crate::directives::registry::{provider_name as named, written, Scope};

/// How long one call may take unless its line says otherwise: the FranceConnect access token
/// lives 60 s and the browser waits on the callback meanwhile.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest answer kept unless the line says otherwise (API Particulier's answers are a few
/// hundred bytes; the whole session must stay small in Redis).
pub const DEFAULT_MAX_SIZE: usize = 64 * 1024;
/// Upper bounds an operator may write: past them a login would wait too long, or a session
/// grow too big for Redis and FastCGI.
const MAX_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_MAX_SIZE: usize = 1024 * 1024;
const MAX_NAME_LEN: usize = 64;

/// One data call, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSource {
    /// Upper-cased: the backend reads `SESAME_DATA_<NAME>` (nginx `$sesame_data_<name>`).
    pub name: String,
    /// Called with `recipient` added to its query.
    pub url: url::Url,
    /// The scopes the granted `scope` must contain for the call to be made; also added to the
    /// authorization request's `scope`.
    pub scopes: Vec<String>,
    /// SIRET of the public body that uses the data (API Particulier requires it).
    pub recipient: Option<String>,
    pub timeout: Duration,
    pub max_size: usize,
}

impl DataSource {
    /// `NAME URL [scope=SCOPE ...] [recipient=SIRET] [timeout=TIME] [max_size=BYTES]`; the
    /// message lacks the provider prefix.
    pub fn parse(value: &str) -> Result<DataSource, String> {
        let n = named("data");
        let example = written(
            Scope::Provider,
            "data",
            "QF https://particulier.api.gouv.fr/v3/dss/quotient_familial/france_connect scope=cnaf_quotient_familial recipient=21750001600019",
        );
        let mut words = value.split_whitespace();
        let (Some(raw_name), Some(raw_url)) = (words.next(), words.next()) else {
            return Err(format!("{n} needs a NAME and a URL (write e.g. {example})"));
        };
        let name = parse_name(raw_name)?;
        let url = parse_url(raw_url)?;
        let mut source = DataSource {
            name,
            url,
            scopes: Vec::new(),
            recipient: None,
            timeout: DEFAULT_TIMEOUT,
            max_size: DEFAULT_MAX_SIZE,
        };
        let (mut timeout_seen, mut size_seen) = (false, false);
        for word in words {
            let Some((key, v)) = word.split_once('=') else {
                return Err(format!(
                    "{n} {raw_name}: \"{word}\" is not an option (expected scope=SCOPE, recipient=SIRET, timeout=TIME or max_size=BYTES)"
                ));
            };
            match key {
                "scope" if !v.is_empty() && v.bytes().all(is_scope_byte) => {
                    if !source.scopes.iter().any(|s| s == v) {
                        source.scopes.push(v.to_owned());
                    }
                }
                "scope" => {
                    return Err(format!(
                        "{n} {raw_name}: scope \"{v}\" is not a scope name (e.g. cnaf_quotient_familial)"
                    ))
                }
                "recipient" if source.recipient.is_some() => {
                    return Err(format!("{n} {raw_name}: recipient is duplicate"))
                }
                "recipient" if is_siret(v) => source.recipient = Some(v.to_owned()),
                "recipient" => {
                    return Err(format!(
                        "{n} {raw_name}: recipient \"{v}\" is not a SIRET (14 digits whose Luhn checksum holds, e.g. 21750001600019: the SIRET of the public body using the data)"
                    ))
                }
                "timeout" if timeout_seen => {
                    return Err(format!("{n} {raw_name}: timeout is duplicate"))
                }
                "timeout" => {
                    timeout_seen = true;
                    source.timeout = parse_duration(v)
                        .filter(|d| !d.is_zero() && *d <= MAX_TIMEOUT)
                        .ok_or_else(|| {
                            format!(
                                "{n} {raw_name}: timeout \"{v}\" must be a duration above 0 and at most 30s (e.g. 500ms or 3s)"
                            )
                        })?;
                }
                "max_size" if size_seen => {
                    return Err(format!("{n} {raw_name}: max_size is duplicate"))
                }
                "max_size" => {
                    size_seen = true;
                    source.max_size = parse_size(v)
                        .filter(|s| (1..=MAX_MAX_SIZE).contains(s))
                        .ok_or_else(|| {
                            format!(
                                "{n} {raw_name}: max_size \"{v}\" must be a size from 1 byte to 1m (e.g. 65536, 64k)"
                            )
                        })?;
                }
                _ => {
                    return Err(format!(
                        "{n} {raw_name}: unknown option \"{key}\" (expected scope, recipient, timeout or max_size)"
                    ))
                }
            }
        }
        Ok(source)
    }

    /// The URL called: the configured one with `recipient` added to its query.
    pub fn request_url(&self) -> String {
        let mut url = self.url.clone();
        if let Some(siret) = &self.recipient {
            url.query_pairs_mut().append_pair("recipient", siret);
        }
        url.into()
    }
}

/// `[A-Za-z0-9_]+`, upper-cased; not ending in `_ERROR` (that is the error variable of another
/// name) and not `ERRORS` (`SESAME_DATA_ERRORS` holds every error).
fn parse_name(raw: &str) -> Result<String, String> {
    let n = named("data");
    let valid = !raw.is_empty()
        && raw.len() <= MAX_NAME_LEN
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(format!(
            "{n} \"{raw}\": the name must be 1 to {MAX_NAME_LEN} letters, digits or _ (it becomes the variable SESAME_DATA_<NAME>)"
        ));
    }
    let name = raw.to_ascii_uppercase();
    if name.ends_with("_ERROR") || name == "ERRORS" {
        return Err(format!(
            "{n} \"{raw}\": the name must not end in _ERROR nor be ERRORS (SESAME_DATA_<NAME>_ERROR and SESAME_DATA_ERRORS carry the failures)"
        ));
    }
    Ok(name)
}

/// https only: the access token goes in the request. Plain http only to this machine (tests,
/// a local relay).
fn parse_url(raw: &str) -> Result<url::Url, String> {
    let n = named("data");
    let url =
        url::Url::parse(raw).map_err(|e| format!("{n}: \"{raw}\" is not an absolute URL ({e})"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(format!(
                "{n}: \"{raw}\" must start with https:// (the access token is sent with it; http:// only to 127.0.0.1, ::1 or localhost)"
            ))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{n}: \"{raw}\" has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{n}: \"{raw}\" must not carry a user or password"));
    }
    if url.fragment().is_some() {
        return Err(format!("{n}: \"{raw}\" must not contain a #fragment"));
    }
    Ok(url)
}

/// RFC 6749 §3.3 scope-token characters.
fn is_scope_byte(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)
}

/// `65536`, `64k`, `1m`.
fn parse_size(v: &str) -> Option<usize> {
    let (digits, unit) = match v.as_bytes().last()? {
        b'k' | b'K' => (&v[..v.len() - 1], 1024),
        b'm' | b'M' => (&v[..v.len() - 1], 1024 * 1024),
        _ => (v, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<usize>().ok()?.checked_mul(unit)
}

/// A SIRET: 14 digits whose Luhn checksum holds (INSEE). La Poste's establishments (SIREN
/// 356000000) are numbered outside Luhn: their digits add up to a multiple of 5.
pub fn is_siret(v: &str) -> bool {
    if v.len() != 14 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits = v.bytes().map(|b| u32::from(b - b'0'));
    if v.starts_with("356000000") && v != "35600000000048" {
        return digits.sum::<u32>() % 5 == 0;
    }
    let sum: u32 = digits
        .rev()
        .enumerate()
        .map(|(i, d)| match (i % 2 == 1, d * 2) {
            (true, twice) if twice > 9 => twice - 9,
            (true, twice) => twice,
            (false, _) => d,
        })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const QF: &str = "https://particulier.api.gouv.fr/v3/dss/quotient_familial/france_connect";

    #[test]
    fn a_full_line_parses_with_its_options() {
        let s = DataSource::parse(&format!(
            "qf {QF} scope=cnaf_quotient_familial recipient=21750001600019 timeout=1500ms max_size=8k"
        ))
        .unwrap();
        assert_eq!(s.name, "QF");
        assert_eq!(s.scopes, ["cnaf_quotient_familial"]);
        assert_eq!(s.recipient.as_deref(), Some("21750001600019"));
        assert_eq!(s.timeout, Duration::from_millis(1500));
        assert_eq!(s.max_size, 8192);
        assert_eq!(s.request_url(), format!("{QF}?recipient=21750001600019"));
    }

    #[test]
    fn defaults_are_three_seconds_and_64_kib() {
        let s = DataSource::parse(&format!("QF {QF}")).unwrap();
        assert_eq!((s.timeout, s.max_size), (DEFAULT_TIMEOUT, 65536));
        assert!(s.scopes.is_empty() && s.recipient.is_none());
        assert_eq!(s.request_url(), QF);
    }

    #[test]
    fn names_that_cannot_be_variables_are_refused() {
        for bad in ["q-f", "qf.json", "é", "QF_ERROR", "errors", ""] {
            let e = DataSource::parse(&format!("{bad} {QF}")).unwrap_err();
            assert!(e.contains("name") || e.contains("NAME"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_url_must_be_https_except_to_this_machine() {
        for bad in [
            "http://particulier.api.gouv.fr/v3/x",
            "ftp://x/y",
            "https://u:p@x.fr/y",
            "https://x.fr/y#f",
            "/relative",
        ] {
            assert!(DataSource::parse(&format!("QF {bad}")).is_err(), "{bad}");
        }
        for good in [
            "http://127.0.0.1:8080/qf",
            "http://[::1]/qf",
            "http://localhost/qf",
        ] {
            assert!(DataSource::parse(&format!("QF {good}")).is_ok(), "{good}");
        }
    }

    #[test]
    fn recipient_must_be_a_siret_with_its_checksum() {
        assert!(is_siret("21750001600019"), "Ville de Paris");
        assert!(is_siret("13002526500013"), "DINUM");
        assert!(!is_siret("21750001600018"), "one digit off");
        assert!(!is_siret("2175000160001"), "13 digits");
        assert!(!is_siret("2175000160001a"));
        assert!(is_siret("35600000000048"), "La Poste head office (Luhn)");
        // Another La Poste establishment: digits adding up to 29, not a multiple of 5.
        assert!(!is_siret("35600000012345"));
        assert!(is_siret("35600000012346"), "digits adding up to 30");
        let e = DataSource::parse(&format!("QF {QF} recipient=21750001600018")).unwrap_err();
        assert!(e.contains("not a SIRET"), "{e}");
    }

    #[test]
    fn bad_options_are_named() {
        for (line, says) in [
            ("timeout=0s", "timeout"),
            ("timeout=31s", "timeout"),
            ("timeout=soon", "timeout"),
            ("max_size=0", "max_size"),
            ("max_size=2m", "max_size"),
            ("colour=blue", "unknown option"),
            ("scope", "not an option"),
            ("scope=a\"b", "scope"),
        ] {
            let e = DataSource::parse(&format!("QF {QF} {line}")).unwrap_err();
            assert!(e.contains(says), "{line}: {e}");
        }
        let e = DataSource::parse("QF").unwrap_err();
        assert!(e.contains("needs a NAME and a URL"), "{e}");
    }
}
