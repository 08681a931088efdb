//! Redis as Sesame uses it: reachable with the configured URL, TLS settings and ACL user, and
//! that user allowed every command Sesame sends — tried for real on a key of this site's
//! namespace that lives 10 seconds (an ACL user rarely has `ACL DRYRUN` or `ACL WHOAMI`, and a
//! try is what the module will do).

use super::{Finding, Verdict};
use crate::session::{random_token, Keys, RedisStore, Store, StoreError};

/// Who needs a command that not every deployment uses.
#[derive(Clone, Copy)]
enum Needs {
    Cli,
    AccessToken,
    Revocation,
}

impl Needs {
    fn who(self) -> String {
        match self {
            Needs::Cli => "the sesame command (sessions list and kill)".to_owned(),
            Needs::AccessToken => crate::directives::registry::location_name("pass_access_token"),
            Needs::Revocation => {
                "instant revocation (without it every request reads Redis instead of the session cache)"
                    .to_owned()
            }
        }
    }
}

/// A command Sesame sends, and who needs it.
struct Try {
    command: &'static str,
    /// None: every request path; Some: only that feature.
    only_for: Option<Needs>,
}

const TRIES: &[Try] = &[
    Try {
        command: "set",
        only_for: None,
    },
    Try {
        command: "get",
        only_for: None,
    },
    Try {
        command: "ttl",
        only_for: Some(Needs::Cli),
    },
    Try {
        command: "scan",
        only_for: Some(Needs::Cli),
    },
    Try {
        command: "getdel",
        only_for: Some(Needs::AccessToken),
    },
    Try {
        command: "publish",
        only_for: Some(Needs::Revocation),
    },
    Try {
        command: "subscribe",
        only_for: Some(Needs::Revocation),
    },
    Try {
        command: "del",
        only_for: None,
    },
];

/// Redis's NOPERM (the redis crate shows it as `NoPerm`): the ACL refused the command or key.
fn refused(e: &StoreError) -> bool {
    e.0.to_ascii_lowercase().contains("noperm")
}

/// Runs one of `TRIES` on `key` (the pub/sub ones on this site's revocation channel: a message
/// that is no session digest is ignored by every worker).
fn run(store: &RedisStore, command: &str, key: &str, namespace: &str) -> Result<(), StoreError> {
    let channel = crate::session::revocation::channel_of(namespace);
    match command {
        "publish" => store.publish(&channel, b"sesame doctor"),
        "subscribe" => store.subscribe(&channel).map(|_| ()),
        "set" => store.set_ex(key, b"sesame doctor", 10),
        "get" => store.get(key).map(|_| ()),
        "ttl" => store.ttl(key).map(|_| ()),
        "scan" => store.scan_match(key).map(|_| ()),
        "getdel" => store.take(key).map(|_| ()),
        _ => store.del(key),
    }
}

pub fn check(store: &RedisStore, keys: &Keys) -> Vec<Finding> {
    let user = store.username().unwrap_or("default").to_owned();
    let key = format!("{}doctor:{}", keys.namespace(), &random_token()[..16]);
    let label = store.label().to_owned();
    let mut denied_everywhere = Vec::new();
    let mut denied_optional = Vec::new();
    for (i, t) in TRIES.iter().enumerate() {
        match run(store, t.command, &key, keys.namespace()) {
            Ok(()) => {}
            Err(e) if refused(&e) => match t.only_for {
                None => denied_everywhere.push(t.command),
                Some(needs) => denied_optional.push((t.command, needs.who())),
            },
            Err(e) if i == 0 => {
                return vec![Finding::new(
                    Verdict::Fail,
                    "redis",
                    format!(
                        "{} (check the URL's address, user and password, and {})",
                        e.0,
                        crate::directives::registry::http_name("redis_ca_file")
                    ),
                )]
            }
            Err(e) => {
                return vec![Finding::new(
                    Verdict::Fail,
                    "redis",
                    format!("{} failed: {}", t.command.to_uppercase(), e.0),
                )]
            }
        }
    }
    // A key left behind (DEL refused) expires in 10 s.
    let grant = |commands: &[&str]| {
        let plus: Vec<String> = commands.iter().map(|c| format!("+{c}")).collect();
        format!("ACL SETUSER {user} {}", plus.join(" "))
    };
    let mut findings = Vec::new();
    if !denied_everywhere.is_empty() {
        findings.push(Finding::new(
            Verdict::Fail,
            "redis",
            format!(
                "the ACL user \"{user}\" of {label} may not run {}: logins and sessions fail (on the Redis server: {})",
                denied_everywhere.join(", ").to_uppercase(),
                grant(&denied_everywhere)
            ),
        ));
    }
    for (command, what) in &denied_optional {
        findings.push(Finding::new(
            Verdict::Warn,
            "redis",
            format!(
                "the ACL user \"{user}\" may not run {}, which {what} needs ({})",
                command.to_uppercase(),
                grant(&[command])
            ),
        ));
    }
    if findings.is_empty() {
        findings.push(Finding::new(
            Verdict::Ok,
            "redis",
            format!(
                "{label} as user \"{user}\": {} allowed",
                TRIES
                    .iter()
                    .map(|t| t.command.to_uppercase())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ));
    }
    findings
}
