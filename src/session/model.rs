//! The session record kept (encrypted) in Redis.

use serde::{Deserialize, Serialize};

/// Inactivity refreshes are written at most this often (coalesced writes)...
pub const REFRESH_EVERY_SECS: u64 = 60;

/// ...or twice per idle timeout when that is shorter than two minutes, so that an active user
/// is never logged out by a short idle timeout.
pub fn refresh_interval(idle_secs: u64) -> u64 {
    REFRESH_EVERY_SECS.min(idle_secs / 2).max(1)
}

/// What one data call of the login gave (`data NAME URL ...` of the provider).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionData {
    /// The JSON text exactly as the data API sent it.
    Json(String),
    /// Why there is none (`timeout`, `http_404`, `scope_not_granted`...).
    Error(String),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Provider name as configured (`fc`).
    pub provider: String,
    pub issuer: String,
    pub sub: String,
    pub acr: String,
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// Kept server-side only, as the logout `id_token_hint`.
    pub id_token: String,
    /// Unix seconds.
    pub created: u64,
    /// Last time activity was recorded (idle timeout counts from here).
    pub refreshed: u64,
    /// Absolute end of the session.
    pub expires: u64,
    /// Verified at login: `acr` is a multi-factor value and `amr`, when the provider sent it,
    /// shows two factor classes (`federation::proves_mfa`). Records written before this field
    /// existed decode as `false`: never taken for MFA (fail closed).
    #[serde(default)]
    pub mfa: bool,
    /// Unix seconds of the user's authentication at the provider: the id_token's `auth_time`
    /// (never later than the login), else the login time. Records written before this field
    /// existed decode as 0: older than any `sesame_max_auth_age` (fail closed).
    #[serde(default)]
    pub auth_time: u64,
    /// Unix seconds until which an access token of this login is kept beside the session
    /// (`Sessions::keep_tokens`); 0 when none is. A request at a location that hands the token
    /// to the backend reads it only before this time, so other requests cost no extra I/O.
    #[serde(default)]
    pub token_until: u64,
    /// The data calls of the last login or data refresh, by upper-cased name. Records written
    /// before this field existed, and sessions of providers without `data`, have none.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub data: std::collections::BTreeMap<String, SessionData>,
}

impl Session {
    /// Still usable at `now` under the idle timeout (seconds)?
    pub fn is_live(&self, now: u64, idle_secs: u64) -> bool {
        now < self.expires && now < self.refreshed.saturating_add(idle_secs)
    }

    /// Redis TTL: the sooner of the idle and the absolute deadline (at least 1 s).
    pub fn ttl(&self, now: u64, idle_secs: u64) -> u64 {
        idle_secs.min(self.expires.saturating_sub(now)).max(1)
    }

    /// Is it time to record activity again?
    pub fn needs_refresh(&self, now: u64, idle_secs: u64) -> bool {
        now >= self.refreshed.saturating_add(refresh_interval(idle_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(created: u64, refreshed: u64, expires: u64) -> Session {
        Session {
            provider: "fc".into(),
            issuer: "https://idp".into(),
            sub: "s".into(),
            acr: "eidas1".into(),
            claims: Default::default(),
            id_token: "t".into(),
            created,
            refreshed,
            expires,
            ..Default::default()
        }
    }

    #[test]
    fn record_written_before_the_mfa_fact_existed_is_not_mfa() {
        let mut old = serde_json::to_value(session(1, 1, 2)).unwrap();
        old.as_object_mut().unwrap().remove("mfa");
        old.as_object_mut().unwrap().remove("auth_time");
        let decoded: Session = serde_json::from_value(old).unwrap();
        assert!(decoded.data.is_empty(), "no data before the field existed");
        assert!(!decoded.mfa);
        assert_eq!(
            decoded.auth_time, 0,
            "older than any maximum authentication age"
        );
    }

    #[test]
    fn a_session_without_data_is_stored_without_the_field() {
        let plain = serde_json::to_string(&session(1, 1, 2)).unwrap();
        assert!(!plain.contains("\"data\""), "{plain}");
        let mut with = session(1, 1, 2);
        with.data
            .insert("QF".into(), SessionData::Json("{\"a\":1}".into()));
        with.data
            .insert("B".into(), SessionData::Error("timeout".into()));
        let text = serde_json::to_string(&with).unwrap();
        assert_eq!(serde_json::from_str::<Session>(&text).unwrap(), with);
    }

    #[test]
    fn session_expires_after_idle_timeout() {
        let s = session(1000, 1000, 1000 + 43_200);
        assert!(s.is_live(1000 + 1799, 1800));
        assert!(!s.is_live(1000 + 1800, 1800));
    }

    #[test]
    fn session_expires_at_absolute_lifetime_even_when_active() {
        let s = session(1000, 1000 + 43_100, 1000 + 43_200);
        assert!(s.is_live(1000 + 43_199, 1800));
        assert!(!s.is_live(1000 + 43_200, 1800));
        assert_eq!(
            s.ttl(1000 + 43_150, 1800),
            50,
            "TTL never outlives the absolute end"
        );
        assert_eq!(s.ttl(1000 + 100, 1800), 1800);
    }

    #[test]
    fn activity_is_written_at_most_once_a_minute() {
        let s = session(1000, 1000, 99_999);
        assert!(!s.needs_refresh(1059, 1800));
        assert!(s.needs_refresh(1060, 1800));
        // A short idle timeout is refreshed often enough to keep an active user in.
        assert!(!s.needs_refresh(1004, 10));
        assert!(s.needs_refresh(1005, 10));
    }
}
