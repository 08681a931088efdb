//! The data calls of one login, in parallel: one thread per call inside the callback job, each
//! bounded by its own timeout, so the login waits for the slowest call, not for their sum.

use std::time::{Duration, Instant};

use super::DataSource;
use crate::http::{HttpClient, HttpError};

/// Why a call gave nothing; the backend reads [`DataError::reason`] in
/// `SESAME_DATA_<NAME>_ERROR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    /// No complete answer within the call's timeout.
    Timeout,
    /// The API answered with another status than 200.
    Http(u16),
    /// The user did not grant (or the provider did not give) a scope the call needs: it was
    /// not made.
    ScopeNotGranted,
    /// The answer was not JSON.
    InvalidJson,
    /// The answer was larger than the call's `max_size`.
    TooLarge,
    /// No connection (DNS, TCP, TLS), or no access token to send.
    Unreachable,
}

impl DataError {
    /// The short machine-readable reason: `timeout`, `http_404`, `scope_not_granted`,
    /// `invalid_json`, `too_large`, `unreachable`.
    pub fn reason(&self) -> String {
        match self {
            DataError::Timeout => "timeout".into(),
            DataError::Http(status) => format!("http_{status}"),
            DataError::ScopeNotGranted => "scope_not_granted".into(),
            DataError::InvalidJson => "invalid_json".into(),
            DataError::TooLarge => "too_large".into(),
            DataError::Unreachable => "unreachable".into(),
        }
    }
}

/// What one call gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataOutcome {
    pub name: String,
    /// The JSON text exactly as the API sent it, or why there is none.
    pub result: Result<String, DataError>,
    /// Wall-clock time of the call (zero when it was not made), for the log line.
    pub elapsed: Duration,
    /// A detail for the operator's log line (transport error text); never the token.
    pub detail: Option<String>,
}

/// Blocking: every call of `sources` whose scopes `granted` holds, in parallel, with `Bearer
/// access_token`. Results in `sources` order.
pub fn fetch_all(
    http: &HttpClient,
    sources: &[DataSource],
    access_token: Option<&str>,
    granted: &[&str],
) -> Vec<DataOutcome> {
    let skipped = |s: &DataSource, error| DataOutcome {
        name: s.name.clone(),
        result: Err(error),
        elapsed: Duration::ZERO,
        detail: None,
    };
    std::thread::scope(|scope| {
        let calls: Vec<_> = sources
            .iter()
            .map(|s| {
                if !s.scopes.iter().all(|need| granted.contains(&need.as_str())) {
                    return Err(skipped(s, DataError::ScopeNotGranted));
                }
                let Some(token) = access_token.filter(|t| !t.is_empty()) else {
                    return Err(skipped(s, DataError::Unreachable));
                };
                let spawned = std::thread::Builder::new()
                    .name("sesame-data".into())
                    .spawn_scoped(scope, move || call(http, s, token));
                // No thread to be had (resource limits): make the call here, in turn.
                Ok(spawned.map_err(|_| call(http, s, token)))
            })
            .collect();
        calls
            .into_iter()
            .map(|c| match c {
                Err(done) | Ok(Err(done)) => done,
                Ok(Ok(handle)) => handle.join().unwrap_or_else(|_| DataOutcome {
                    name: String::new(),
                    result: Err(DataError::Unreachable),
                    elapsed: Duration::ZERO,
                    detail: Some("the call's thread panicked".into()),
                }),
            })
            .zip(sources)
            .map(|(mut outcome, s)| {
                if outcome.name.is_empty() {
                    outcome.name = s.name.clone();
                }
                outcome
            })
            .collect()
    })
}

fn call(http: &HttpClient, source: &DataSource, token: &str) -> DataOutcome {
    let started = Instant::now();
    let bearer = format!("Bearer {token}");
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Accept", "application/json"),
    ];
    let url = source.request_url();
    let answer = http.get_bounded(
        crate::http::Exchange::Data,
        &url,
        &headers,
        source.timeout,
        source.max_size as u64,
    );
    let (result, detail) = match answer {
        Ok(resp) if resp.status != 200 => (Err(DataError::Http(resp.status)), None),
        Ok(resp) => match String::from_utf8(resp.body) {
            Ok(text) if serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok() => {
                (Ok(text), None)
            }
            _ => (Err(DataError::InvalidJson), None),
        },
        Err(HttpError::Timeout(_)) => (Err(DataError::Timeout), None),
        Err(HttpError::TooLarge(_)) => (Err(DataError::TooLarge), None),
        Err(e) => (Err(DataError::Unreachable), Some(e.to_string())),
    };
    // A deadline hit while reading the body surfaces as a transport error on some paths.
    let result = match result {
        Err(DataError::Unreachable) if started.elapsed() >= source.timeout => {
            Err(DataError::Timeout)
        }
        other => other,
    };
    DataOutcome {
        name: source.name.clone(),
        result,
        elapsed: started.elapsed(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_the_documented_words() {
        assert_eq!(DataError::Http(404).reason(), "http_404");
        assert_eq!(DataError::ScopeNotGranted.reason(), "scope_not_granted");
        assert_eq!(DataError::Timeout.reason(), "timeout");
        assert_eq!(DataError::InvalidJson.reason(), "invalid_json");
        assert_eq!(DataError::TooLarge.reason(), "too_large");
        assert_eq!(DataError::Unreachable.reason(), "unreachable");
    }

    #[test]
    fn a_call_whose_scope_was_not_granted_is_not_made() {
        let http = HttpClient::new(Duration::from_secs(1), None).unwrap();
        let source =
            DataSource::parse("QF https://127.0.0.1:1/qf scope=cnaf_quotient_familial").unwrap();
        let out = fetch_all(&http, &[source], Some("token"), &["openid"]);
        assert_eq!(out[0].result, Err(DataError::ScopeNotGranted));
        assert_eq!(out[0].elapsed, Duration::ZERO, "no call made");
    }

    #[test]
    fn an_unreachable_api_is_named_so_and_its_deadline_holds() {
        let http = HttpClient::new(Duration::from_secs(1), None).unwrap();
        let source = DataSource::parse("QF http://127.0.0.1:1/qf timeout=1s").unwrap();
        let out = fetch_all(&http, &[source], Some("token"), &[]);
        assert_eq!(out[0].result, Err(DataError::Unreachable));
        assert!(out[0].elapsed < Duration::from_secs(2));
    }
}
