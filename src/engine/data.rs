//! The data calls of a login (`data NAME URL ...` of the provider), run inside the callback job
//! right after the token exchange, and the log line that tells the operator what each gave.

use std::collections::BTreeMap;

use crate::claims::user_key;
use crate::data::{fetch_all, DataError};
use crate::log::{emit, LogLevel};
use crate::oidc::LoginResult;
use crate::session::SessionData;

use super::failures::log_safe;
use super::Provider;

/// Blocking: every data call of `provider` for this login, in parallel; the results by name.
/// Empty when the provider has none. The access token is sent to the data APIs only.
pub(crate) fn fetch(
    provider: &Provider,
    login: &LoginResult,
    client: &str,
) -> BTreeMap<String, SessionData> {
    let sources = &provider.cfg.data;
    let Some(http) = provider
        .cfg
        .data_http
        .as_ref()
        .filter(|_| !sources.is_empty())
    else {
        return BTreeMap::new();
    };
    // The granted scope is the token answer's `scope`, else the scope asked (RFC 6749 §5.1).
    let grant = login.access.as_ref();
    let granted: Vec<&str> = grant
        .map(|g| g.scope.split_whitespace().collect())
        .unwrap_or_default();
    let outcomes = fetch_all(
        http,
        sources,
        grant.map(|g| g.access_token.as_str()),
        &granted,
    );
    let mut summary = Vec::with_capacity(outcomes.len());
    let mut failed = false;
    let mut data = BTreeMap::new();
    for o in outcomes {
        let ms = o.elapsed.as_millis();
        let stored = match o.result {
            Ok(json) => {
                summary.push(format!("{} {} bytes in {ms} ms", o.name, json.len()));
                SessionData::Json(json)
            }
            Err(e) => {
                failed |= e != DataError::ScopeNotGranted;
                let detail = o
                    .detail
                    .map(|d| format!(" ({})", log_safe(&d)))
                    .unwrap_or_default();
                summary.push(format!("{} {}{detail} in {ms} ms", o.name, e.reason()));
                SessionData::Error(e.reason())
            }
        };
        data.insert(o.name, stored);
    }
    emit(
        if failed {
            LogLevel::Warn
        } else {
            LogLevel::Info
        },
        &format!(
            "sesame: provider \"{}\": data of user {}: {} [client {}]",
            provider.name(),
            user_key(&provider.cfg.settings.issuer, &login.sub),
            summary.join(", "),
            log_safe(client)
        ),
    );
    data
}
