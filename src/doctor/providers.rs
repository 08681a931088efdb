//! Each provider: its discovery document fetched as a login would fetch it (same CA file, same
//! timeout) and validated, the provider's clock read from its `Date` header, the redirect_uri's
//! scheme and host.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{parse_http_date, Deployment, Finding, Verdict, SKEW_WARN_SECS};
use crate::directives::registry::provider_name;
use crate::http::{HttpClient, HttpError};
use crate::oidc::OidcSettings;

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A transport error, with what to do when the provider's certificate was refused.
fn explain(e: &HttpError, settings: &OidcSettings) -> String {
    let text = e.to_string();
    let tls = [
        "certificate",
        "UnknownIssuer",
        "CertNotValid",
        "NotValidForName",
    ]
    .iter()
    .any(|w| text.contains(w));
    if !tls {
        return text;
    }
    match &settings.ca_file {
        Some(ca) => format!(
            "{text}: the provider's TLS certificate is not signed by a CA of {} \"{ca}\" (give the CA that signed it, or remove {} to trust the system's roots)",
            provider_name("ca_file"),
            provider_name("ca_file")
        ),
        None => format!(
            "{text}: the provider's TLS certificate is not trusted by the system's roots (a private CA: give it with {})",
            provider_name("ca_file")
        ),
    }
}

pub fn check(settings: &OidcSettings, deployment: &Deployment) -> Vec<Finding> {
    let name = &settings.name;
    let mut findings = vec![discovery_and_clock(settings)];
    findings.push(redirect_uri(settings, deployment));
    if settings.site_keys.encrypts() {
        findings.push(Finding::new(
            Verdict::Ok,
            format!("provider {name}: keys"),
            "encryption keys loaded (private, mode checked), published at the jwks_uri",
        ));
    }
    findings
}

fn discovery_and_clock(settings: &OidcSettings) -> Finding {
    let check = format!("provider {}: discovery", settings.name);
    let url = &settings.discovery_url;
    let http = match HttpClient::new(settings.http_timeout, settings.ca_file.as_deref()) {
        Ok(http) => http,
        Err(e) => return Finding::new(Verdict::Fail, check, e.to_string()),
    };
    let asked = unix_now();
    let resp = match http.get(
        crate::http::Exchange::Discovery,
        url,
        &[("Accept", "application/json")],
    ) {
        Ok(resp) => resp,
        Err(e) => {
            return Finding::new(
                Verdict::Fail,
                check,
                format!("{url} unreachable: {}", explain(&e, settings)),
            )
        }
    };
    let answered = unix_now();
    if resp.status != 200 {
        return Finding::new(
            Verdict::Fail,
            check,
            format!(
                "{url} answered HTTP {} (check {})",
                resp.status,
                provider_name("issuer")
            ),
        );
    }
    if let Err(e) = crate::oidc::discovery::parse(&resp.body, settings) {
        return Finding::new(Verdict::Fail, check, e.to_string());
    }
    let Some(date) = resp.date.as_deref().and_then(parse_http_date) else {
        return Finding::new(
            Verdict::Warn,
            check,
            format!("{url} valid, but its answer has no Date header: the provider's clock cannot be compared"),
        );
    };
    // The provider stamped its answer between our request and its arrival.
    let skew = (date as f64 - (asked + answered) / 2.0).round() as i64;
    let leeway = settings.leeway.as_secs() as i64;
    let ahead = if skew > 0 { "ahead of" } else { "behind" };
    if skew.abs() > leeway {
        return Finding::new(
            Verdict::Fail,
            check,
            format!(
                "the provider's clock is {}s {ahead} this machine's, more than the {leeway}s {} accepts: ID tokens will be refused (synchronise this machine's clock with NTP: timedatectl set-ntp true)",
                skew.abs(),
                provider_name("leeway")
            ),
        );
    }
    if skew.abs() > SKEW_WARN_SECS {
        return Finding::new(
            Verdict::Warn,
            check,
            format!(
                "the provider's clock is {}s {ahead} this machine's ({} accepts {leeway}s): check this machine's NTP synchronisation",
                skew.abs(),
                provider_name("leeway")
            ),
        );
    }
    Finding::new(
        Verdict::Ok,
        check,
        format!("{url} valid, clocks within {SKEW_WARN_SECS}s (skew {skew}s)"),
    )
}

fn redirect_uri(settings: &OidcSettings, deployment: &Deployment) -> Finding {
    let check = format!("provider {}: redirect_uri", settings.name);
    let raw = &settings.redirect_uri;
    let Ok(url) = url::Url::parse(raw) else {
        return Finding::new(Verdict::Fail, check, format!("\"{raw}\" is not a URL"));
    };
    if url.scheme() != "https" {
        return Finding::new(
            Verdict::Fail,
            check,
            format!(
                "{} {raw} is not https: the browser would bring the code back in clear text and without the Secure login cookie (write the https:// URL registered with the provider)",
                provider_name("redirect_uri")
            ),
        );
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let is_address = matches!(
        url.host(),
        Some(url::Host::Ipv4(_)) | Some(url::Host::Ipv6(_))
    );
    let served = deployment.served_hosts.iter().any(|h| served_by(h, &host));
    if !deployment.served_hosts.is_empty() && !served && !is_address {
        return Finding::new(
            Verdict::Warn,
            check,
            format!(
                "{} {raw}: no server of this configuration is named \"{host}\" (server names: {}), so the login may come back to another server",
                provider_name("redirect_uri"),
                deployment.served_hosts.join(" ")
            ),
        );
    }
    Finding::new(Verdict::Ok, check, raw.clone())
}

/// A server name as nginx and Apache match it: exact, `*.example.fr` or `.example.fr`.
fn served_by(name: &str, host: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if let Some(suffix) = name.strip_prefix("*.") {
        return host.ends_with(&format!(".{suffix}"));
    }
    if let Some(suffix) = name.strip_prefix('.') {
        return host == suffix || host.ends_with(&format!(".{suffix}"));
    }
    name == host
}

#[cfg(test)]
pub(super) fn served_by_for_tests(name: &str, host: &str) -> bool {
    served_by(name, host)
}
