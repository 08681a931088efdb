//! The audit log's records of login outcomes (`sesame_audit_log`): what the callback decided,
//! with the reference id its page or its log line carries. Only these fields, never a token or
//! another claim; provider-supplied values made log-safe.

use crate::engine::Outcome;
use crate::log::audit::{audit, rfc3339_utc, AuditRecord};
use crate::session::Session;

use super::failures::log_safe;
use super::Provider;

/// A callback that answered a failure page: recorded with the page's cause and reference.
pub(crate) fn failed(provider: &Provider, client_addr: &str, outcome: &Outcome) {
    let (Some(log), Outcome::Page(page)) = (&provider.audit, outcome) else {
        return;
    };
    let Some(failure) = &page.failure else {
        return;
    };
    let cause = if failure.cause.is_empty() {
        "error"
    } else {
        &failure.cause
    };
    audit(
        log,
        &AuditRecord {
            time: rfc3339_utc(std::time::SystemTime::now()),
            provider: provider.name().to_owned(),
            outcome: cause.to_owned(),
            acr: None,
            amr: None,
            idp_id: None,
            user: None,
            client: log_safe(client_addr),
            reference: failure.reference.clone(),
        },
    );
}

/// A login that created `session` for user `user_key`.
pub(crate) fn succeeded(
    provider: &Provider,
    client_addr: &str,
    session: &Session,
    user_key: &str,
    reference: &str,
) {
    let Some(log) = &provider.audit else {
        return;
    };
    let amr = session.claims.get("amr").map(|amr| match amr {
        serde_json::Value::Array(items) => items
            .iter()
            .map(|v| log_safe(v.as_str().unwrap_or_default()))
            .collect(),
        serde_json::Value::String(one) => vec![log_safe(one)],
        _ => Vec::new(),
    });
    audit(
        log,
        &AuditRecord {
            time: rfc3339_utc(std::time::SystemTime::now()),
            provider: provider.name().to_owned(),
            outcome: "success".to_owned(),
            acr: Some(log_safe(&session.acr)),
            amr,
            idp_id: session
                .claims
                .get("idp_id")
                .and_then(|v| v.as_str())
                .map(log_safe),
            user: Some(user_key.to_owned()),
            client: log_safe(client_addr),
            reference: reference.to_owned(),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A core with one provider `op` whose audit log is `dir/audit.log`.
    fn core_with_audit(dir: &std::path::Path) -> super::super::Sesame {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("secret"), "an audit test secret of 32+ bytes!!").unwrap();
        std::fs::write(dir.join("client_secret"), "client-secret").unwrap();
        let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let mut b = crate::ConfigBuilder::new();
        b.set_global("redis", "redis://127.0.0.1:1/0").unwrap();
        b.set_global("secret_file", &path("secret")).unwrap();
        b.set_global("audit_log", &path("audit.log")).unwrap();
        b.add_provider("op").unwrap();
        for (k, v) in [
            ("issuer", "https://op.example"),
            ("client_id", "client"),
            ("client_secret_file", &path("client_secret")),
            ("redirect_uri", "https://app.example/sesame/callback"),
            ("id_token_alg", "ES256"),
        ] {
            b.set_provider("op", k, v).unwrap();
        }
        b.build().unwrap()
    }

    #[test]
    fn a_hostile_claim_cannot_break_an_audit_line_nor_add_a_field_and_other_claims_stay_out() {
        let dir = std::env::temp_dir().join(format!(
            "sesame-engine-audit-{}-{}",
            std::process::id(),
            hex::encode(crate::session::random_bytes::<4>())
        ));
        let core = core_with_audit(&dir);
        let provider = &core.inner.providers[0];
        let hostile = "idp\"\n{\"outcome\":\"success\",\"user\":\"admin\"}\u{2028}\u{202e}";
        let mut claims = serde_json::Map::new();
        claims.insert("idp_id".into(), hostile.into());
        claims.insert(
            "amr".into(),
            serde_json::json!(["pwd\",\"x\":\"y", "mfa\r\n"]),
        );
        claims.insert("given_name".into(), "Secret-Given-Name".into());
        claims.insert("email".into(), "agent@example.org".into());
        let session = Session {
            provider: "op".into(),
            issuer: "https://op.example".into(),
            sub: "the-sub-in-clear".into(),
            acr: "eidas1\"\n".into(),
            claims,
            id_token: "eyJhbGciOiJFUzI1NiJ9.payload.signature".into(),
            created: 0,
            refreshed: 0,
            expires: 0,
            mfa: false,
            auth_time: 0,
            token_until: 0,
            data: Default::default(),
        };
        succeeded(provider, "192.0.2.7\n", &session, "userkey", "0123456789ab");
        let text = std::fs::read_to_string(dir.join("audit.log")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert!(
            !text.contains('\u{2028}') && !text.contains('\u{202e}'),
            "{text}"
        );
        let record: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text.trim_end()).unwrap();
        let mut keys: Vec<&str> = record.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["acr", "amr", "client", "idp_id", "outcome", "provider", "ref", "time", "user"]
        );
        assert_eq!(record["user"], "userkey");
        assert_eq!(record["outcome"], "success");
        assert_eq!(
            record["idp_id"],
            "idp\"{\"outcome\":\"success\",\"user\":\"admin\"}"
        );
        assert_eq!(record["amr"], serde_json::json!(["pwd\",\"x\":\"y", "mfa"]));
        assert_eq!(record["client"], "192.0.2.7");
        for absent in [
            "the-sub-in-clear",
            "Secret-Given-Name",
            "agent@example.org",
            "eyJ",
        ] {
            assert!(!text.contains(absent), "{absent} in {text}");
        }
    }
}
