//! The Prometheus text exposition format 0.0.4: `# HELP`, `# TYPE`, one line per series,
//! label values escaped (backslash, double quote, line feed), histograms as cumulative
//! `_bucket{le=...}` lines with `_sum` and `_count`.

use std::fmt::Write;

use super::{
    exchange_label, Metrics, BUCKETS_US, EXCHANGES, HISTOGRAM_CELLS, IDP_SLOTS, JOB_KINDS,
    REDIS_OPS,
};

/// A label value as the format requires it: `\` → `\\`, `"` → `\"`, line feed → `\n`.
pub(super) fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// `{a="x",b="y"}` (empty labels: nothing).
fn labels(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, pairs: &[(&str, &str)], value: u64) {
    let _ = writeln!(out, "{name}{} {value}", labels(pairs));
}

/// Seconds from microseconds, as the format's float.
fn seconds(us: u64) -> String {
    let s = us as f64 / 1e6;
    format!("{s}")
}

fn histogram(out: &mut String, m: &Metrics, name: &str, pairs: &[(&str, &str)], at: usize) {
    let mut cumulative = 0;
    for (i, bound) in BUCKETS_US.iter().enumerate() {
        cumulative += m.cell(at + i).load(std::sync::atomic::Ordering::Relaxed);
        let le = seconds(*bound);
        let mut with_le = pairs.to_vec();
        with_le.push(("le", &le));
        sample(out, &format!("{name}_bucket"), &with_le, cumulative);
    }
    cumulative += m
        .cell(at + BUCKETS_US.len())
        .load(std::sync::atomic::Ordering::Relaxed);
    let mut with_le = pairs.to_vec();
    with_le.push(("le", "+Inf"));
    sample(out, &format!("{name}_bucket"), &with_le, cumulative);
    let sum = m
        .cell(at + BUCKETS_US.len() + 1)
        .load(std::sync::atomic::Ordering::Relaxed);
    let _ = writeln!(out, "{name}_sum{} {}", labels(pairs), seconds(sum));
    sample(out, &format!("{name}_count"), pairs, cumulative);
}

pub(super) fn render(m: &Metrics) -> String {
    let l = m.layout();
    let load = |i: usize| m.cell(i).load(std::sync::atomic::Ordering::Relaxed);
    let mut out = String::with_capacity(16 * 1024);
    let providers = &l.providers;

    family(
        &mut out,
        "sesame_logins_started_total",
        "counter",
        "Browsers sent to the provider's authorization endpoint.",
    );
    for (p, name) in providers.iter().enumerate() {
        sample(
            &mut out,
            "sesame_logins_started_total",
            &[("provider", name)],
            load(l.started + p),
        );
    }

    family(
        &mut out,
        "sesame_logins_completed_total",
        "counter",
        "Logins that created a session, by level granted (acr; other: a value outside the federation's and the configuration's).",
    );
    for (p, name) in providers.iter().enumerate() {
        let row = l.completed + p * (l.acr.len() + 1);
        for (a, acr) in l
            .acr
            .iter()
            .chain(std::iter::once(&"other".to_owned()))
            .enumerate()
        {
            sample(
                &mut out,
                "sesame_logins_completed_total",
                &[("provider", name), ("acr", acr)],
                load(row + a),
            );
        }
    }

    family(
        &mut out,
        "sesame_logins_failed_total",
        "counter",
        "Failed logins and refused requests, by cause (and provider code or reason).",
    );
    for (p, name) in providers.iter().enumerate() {
        let row = l.failed + p * l.failures.len();
        for (i, (cause, code)) in l.failures.iter().enumerate() {
            let n = load(row + i);
            if n > 0 {
                sample(
                    &mut out,
                    "sesame_logins_failed_total",
                    &[("provider", name), ("cause", cause), ("code", code)],
                    n,
                );
            }
        }
    }

    family(
        &mut out,
        "sesame_logins_by_idp_total",
        "counter",
        "Completed logins by identity provider (ProConnect idp_id; other: beyond the table's slots).",
    );
    let idps = m.idp_names();
    for (p, name) in providers.iter().enumerate() {
        let row = l.idp_counts + p * (IDP_SLOTS + 1);
        for (slot, idp) in &idps {
            let n = load(row + slot);
            if n > 0 {
                sample(
                    &mut out,
                    "sesame_logins_by_idp_total",
                    &[("provider", name), ("idp_id", idp)],
                    n,
                );
            }
        }
        let other = load(row + IDP_SLOTS);
        if other > 0 {
            sample(
                &mut out,
                "sesame_logins_by_idp_total",
                &[("provider", name), ("idp_id", "other")],
                other,
            );
        }
    }

    for (metric, help, base) in [
        (
            "sesame_step_ups_total",
            "Sessions sent back to the provider for a higher level or a fresh authentication.",
            l.step_ups,
        ),
        (
            "sesame_logouts_total",
            "Sessions ended by a logout location.",
            l.logouts,
        ),
    ] {
        family(&mut out, metric, "counter", help);
        for (p, name) in providers.iter().enumerate() {
            sample(&mut out, metric, &[("provider", name)], load(base + p));
        }
    }

    family(
        &mut out,
        "sesame_session_cache_total",
        "counter",
        "Requests with a valid session cookie, by whether the process's session cache answered (hit) or Redis was read (miss).",
    );
    sample(
        &mut out,
        "sesame_session_cache_total",
        &[("result", "hit")],
        load(l.cache),
    );
    sample(
        &mut out,
        "sesame_session_cache_total",
        &[("result", "miss")],
        load(l.cache + 1),
    );

    family(
        &mut out,
        "sesame_redis_duration_seconds",
        "histogram",
        "Time of one Redis command (connection included when one was opened).",
    );
    for (i, (_, op)) in REDIS_OPS.iter().enumerate() {
        histogram(
            &mut out,
            m,
            "sesame_redis_duration_seconds",
            &[("op", op)],
            l.redis + i * HISTOGRAM_CELLS,
        );
    }
    family(
        &mut out,
        "sesame_redis_errors_total",
        "counter",
        "Redis commands that failed (unreachable, timeout, refused).",
    );
    for (i, (_, op)) in REDIS_OPS.iter().enumerate() {
        sample(
            &mut out,
            "sesame_redis_errors_total",
            &[("op", op)],
            load(l.redis_errors + i),
        );
    }

    family(
        &mut out,
        "sesame_provider_exchange_duration_seconds",
        "histogram",
        "Time of one HTTPS exchange with the provider, by endpoint.",
    );
    for (p, name) in providers.iter().enumerate() {
        for (e, exchange) in EXCHANGES.iter().enumerate() {
            histogram(
                &mut out,
                m,
                "sesame_provider_exchange_duration_seconds",
                &[("provider", name), ("exchange", exchange_label(*exchange))],
                l.exchanges + (p * EXCHANGES.len() + e) * HISTOGRAM_CELLS,
            );
        }
    }
    family(
        &mut out,
        "sesame_provider_exchange_errors_total",
        "counter",
        "Exchanges with the provider that got no HTTP answer (unreachable, timeout, TLS).",
    );
    for (p, name) in providers.iter().enumerate() {
        for (e, exchange) in EXCHANGES.iter().enumerate() {
            sample(
                &mut out,
                "sesame_provider_exchange_errors_total",
                &[("provider", name), ("exchange", exchange_label(*exchange))],
                load(l.exchange_errors + p * EXCHANGES.len() + e),
            );
        }
    }

    for (metric, help, offset) in [
        (
            "sesame_jobs_queued",
            "Jobs (Redis or provider work) made and not started yet.",
            0,
        ),
        ("sesame_jobs_running", "Jobs running now.", JOB_KINDS.len()),
    ] {
        family(&mut out, metric, "gauge", help);
        for (k, (_, kind)) in JOB_KINDS.iter().enumerate() {
            sample(
                &mut out,
                metric,
                &[("kind", kind)],
                load(l.jobs + offset + k),
            );
        }
    }
    out
}
