//! The `sesame_redis` URL parser (standalone, TLS, unix socket, Sentinel, Cluster).

use crate::session::redis_target::Topology;
use crate::session::RedisTarget;

/// Never a panic; the label shown in messages never holds the password; the URL Sesame makes
/// for a Sentinel master or a cluster node parses back to the same node and credentials.
pub fn redis_url(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    let Ok(target) = RedisTarget::parse(&raw) else {
        return;
    };
    assert!(!target.label.contains('#'));
    assert!(!super::breaks_a_header(&target.label), "{:?}", target.label);
    // The redaction mark itself, with what stands around it, may spell a password that ends or
    // starts with `***` (`(ser:***` for the password `er:***`): the mark is not looked into.
    let shown = target.label.replace("***", "\u{1}");
    for secret in [target.password.as_deref(), sentinel_password(&target)]
        .into_iter()
        .flatten()
    {
        // Only a password that occurs once in the URL (as itself) can be looked for.
        if secret.len() >= 4 && raw.matches(secret).count() == 1 && !secret.contains("***") {
            assert!(
                !shown.contains(secret),
                "the label {:?} shows the password",
                target.label
            );
        }
    }
    let nodes = match &target.topology {
        Topology::Single { url } => {
            assert_eq!(url, &raw);
            return;
        }
        Topology::Sentinel { sentinels, db, .. } => {
            for s in sentinels {
                let url = target.sentinel_url(s);
                let back = RedisTarget::parse(&url);
                assert!(
                    back.is_ok(),
                    "sentinel URL {url:?} does not parse: {back:?}"
                );
            }
            sentinels.iter().map(|n| (n, *db)).collect::<Vec<_>>()
        }
        Topology::Cluster { seeds } => seeds.iter().map(|n| (n, 0)).collect(),
    };
    for (node, db) in nodes {
        let url = target.node_url(node, db);
        match RedisTarget::parse(&url) {
            Ok(back) => {
                assert_eq!(back.username, target.username, "{url}");
                assert_eq!(back.password, target.password, "{url}");
                assert_eq!(back.tls, target.tls, "{url}");
            }
            Err(e) => panic!("node URL {url:?} (from {raw:?}) does not parse: {e}"),
        }
    }
}

fn sentinel_password(target: &RedisTarget) -> Option<&str> {
    match &target.topology {
        Topology::Sentinel {
            sentinel_password, ..
        } => sentinel_password.as_deref(),
        _ => None,
    }
}
