//! Where Redis is: the `sesame_redis` URL forms, parsed without opening anything.
//!
//! - `redis://[user[:password]@]host[:port][/db]` — one server (`rediss://` for TLS);
//!   `unix:///path/to/redis.sock[?db=N]` and `redis+unix://` — a local socket;
//! - `redis+sentinel://[user[:password]@]host:port,host:port,.../master-name[/db]` — the master
//!   that the listed Sentinels name (`rediss+sentinel://`: TLS to the Redis servers; Sentinels
//!   themselves are queried in plain text unless `?sentinel_tls=on`, which queries them over TLS
//!   with the same CA and client certificate; `?sentinel_password=...[&sentinel_username=...]`
//!   when they require a password);
//! - `redis+cluster://[user[:password]@]host:port,host:port,...` — a Redis Cluster reached
//!   through these seed nodes (`rediss+cluster://`: TLS).
//!
//! User and password are the ACL user (Redis 6+) and its password, percent-encoded like in any
//! URL; a password alone authenticates the `default` user.

/// A `host:port` pair (IPv6 literals keep their brackets out: `::1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topology {
    /// One server, or a unix socket: the URL as written goes to `redis::Client`.
    Single {
        url: String,
    },
    Sentinel {
        sentinels: Vec<HostPort>,
        master: String,
        db: i64,
        /// Credentials for the Sentinels themselves (`requirepass` / ACL on the Sentinels).
        sentinel_username: Option<String>,
        sentinel_password: Option<String>,
        /// The Sentinels are queried over TLS (`?sentinel_tls=on`, with `rediss+sentinel://`).
        sentinel_tls: bool,
    },
    Cluster {
        seeds: Vec<HostPort>,
    },
}

/// A parsed `sesame_redis` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisTarget {
    pub topology: Topology,
    pub tls: bool,
    /// Percent-decoded ACL user and password (the password never reaches a message).
    pub username: Option<String>,
    pub password: Option<String>,
    /// The URL with its password replaced by `***`, for messages.
    pub label: String,
}

const DEFAULT_PORT: u16 = 6379;
const SENTINEL_PORT: u16 = 26379;

/// `scheme://user:***@rest`: what messages and logs may show of a Redis URL.
pub fn redacted_url(raw: &str) -> String {
    let raw = &redact_query_password(raw);
    let Some(scheme_end) = raw.find("://").map(|i| i + 3) else {
        return raw.to_owned();
    };
    let rest = &raw[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{}{user}:***@{}", &raw[..scheme_end], &rest[at + 1..])
        }
        None => raw.to_owned(),
    }
}

/// `...?sentinel_password=***`: the query's password is as secret as the userinfo's.
fn redact_query_password(raw: &str) -> String {
    let Some((base, query)) = raw.split_once('?') else {
        return raw.to_owned();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.ends_with("password") => format!("{k}=***"),
            _ => p.to_owned(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

fn decode(part: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| "the user or password is not valid UTF-8 once percent-decoded".to_owned())
}

fn parse_host_port(text: &str, default_port: u16) -> Result<HostPort, String> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("\"{text}\": unclosed [ in an IPv6 address"))?;
        // After the `]`: a `:port` or nothing (`[::1]7` must not read as [::1]:6379).
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| {
                format!("\"{text}\": after an IPv6 address in [ ], write :port or nothing")
            })?),
        };
        (host, port)
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err(format!("\"{text}\": a host is missing"));
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("\"{text}\": the port must be a number from 1 to 65535"))?,
    };
    Ok(HostPort {
        host: host.to_owned(),
        port,
    })
}

/// `sentinel_tls=on|off`. TLS to the Sentinels only with TLS to the Redis servers: the CA and
/// client certificate settings are those of `rediss+sentinel://`, and a deployment that protects
/// the Sentinels' answers but not the data would be a mistake to point out.
fn parse_on_off(value: &str, tls: bool) -> Result<bool, String> {
    let on = match value {
        "on" => true,
        "off" => false,
        other => {
            return Err(format!(
                "sentinel_tls=\"{other}\": write sentinel_tls=on or sentinel_tls=off"
            ))
        }
    };
    if on && !tls {
        return Err(
            "sentinel_tls=on needs rediss+sentinel:// (TLS to the Redis servers too)".to_owned(),
        );
    }
    Ok(on)
}

fn parse_db(text: &str) -> Result<i64, String> {
    text.parse::<i64>()
        .ok()
        .filter(|d| *d >= 0)
        .ok_or_else(|| format!("\"{text}\" is not a database number (write e.g. /0)"))
}

impl RedisTarget {
    pub fn parse(raw: &str) -> Result<RedisTarget, String> {
        if let Some(at) = raw.find(|c: char| c.is_ascii_control()) {
            // The URL parser behind the one-server form drops tabs and line breaks without a
            // word (WHATWG URL rules), so the address used would not be the one written; and
            // the URL is echoed, redacted, in messages and logs.
            return Err(format!(
                "a control character (byte {:#04x} at offset {at}) is not allowed in a Redis URL; percent-encode it (e.g. %0D) if a password holds one",
                raw.as_bytes()[at]
            ));
        }
        let label = redacted_url(raw);
        if raw.contains('#') {
            // The redis crate reads a `#insecure` fragment as "do not check the TLS certificate";
            // no fragment means anything else, so none is accepted.
            return Err(format!(
                "a URL fragment (#...) is not allowed: #insecure would turn off the check of the Redis server's TLS certificate (give its CA with {} instead; write a # inside a password as %23)",
                crate::directives::registry::http_name("redis_ca_file")
            ));
        }
        let (scheme, rest) = raw.split_once("://").ok_or_else(|| {
            "must be a redis://, rediss://, redis+sentinel://, redis+cluster:// or unix:// URL (write e.g. redis://127.0.0.1:6379/0)".to_owned()
        })?;
        let (kind, tls) = match scheme {
            "redis" => ("single", false),
            "rediss" => ("single", true),
            "unix" | "redis+unix" => ("unix", false),
            "redis+sentinel" => ("sentinel", false),
            "rediss+sentinel" => ("sentinel", true),
            "redis+cluster" => ("cluster", false),
            "rediss+cluster" => ("cluster", true),
            other => {
                return Err(format!(
                    "unknown scheme \"{other}://\" (use redis://, rediss://, redis+sentinel://, rediss+sentinel://, redis+cluster://, rediss+cluster:// or unix://)"
                ))
            }
        };
        if kind == "single" || kind == "unix" {
            // One server: the redis crate's own URL parser is the reference.
            let client =
                redis::Client::open(raw).map_err(|e| format!("not a valid Redis URL: {e}"))?;
            let info = client.get_connection_info().redis_settings();
            return Ok(RedisTarget {
                topology: Topology::Single {
                    url: raw.to_owned(),
                },
                tls,
                username: info.username().map(str::to_owned),
                password: info.password().map(str::to_owned),
                label,
            });
        }
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (mut sentinel_username, mut sentinel_password) = (None, None);
        let mut sentinel_tls = false;
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match (kind, k) {
                ("sentinel", "sentinel_username") => sentinel_username = Some(decode(v)?),
                ("sentinel", "sentinel_password") => {
                    sentinel_password = Some(decode(v)?).filter(|p| !p.is_empty())
                }
                ("sentinel", "sentinel_tls") => sentinel_tls = parse_on_off(v, tls)?,
                _ => {
                    return Err(format!(
                        "unknown URL parameter \"{k}\" (this URL form takes {})",
                        if kind == "sentinel" {
                            "sentinel_username, sentinel_password and sentinel_tls"
                        } else {
                            "none"
                        }
                    ))
                }
            }
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let (userinfo, hosts) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => match info.split_once(':') {
                // An empty password is no password, as the redis crate reads the one-server
                // form (`redis://user:@host` sends no AUTH): one meaning for every form.
                Some((u, p)) => (
                    Some(decode(u)?).filter(|u| !u.is_empty()),
                    Some(decode(p)?).filter(|p| !p.is_empty()),
                ),
                None => (Some(decode(info)?).filter(|u| !u.is_empty()), None),
            },
        };
        let default_port = if kind == "sentinel" {
            SENTINEL_PORT
        } else {
            DEFAULT_PORT
        };
        let nodes = hosts
            .split(',')
            .map(|h| parse_host_port(h.trim(), default_port))
            .collect::<Result<Vec<_>, _>>()?;
        let topology = if kind == "sentinel" {
            let mut parts = path.split('/').filter(|p| !p.is_empty());
            let master = parts
                .next()
                .ok_or_else(|| {
                    "the master name is missing (write e.g. redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster/0)".to_owned()
                })?
                .to_owned();
            let db = parts.next().map(parse_db).transpose()?.unwrap_or(0);
            if parts.next().is_some() {
                return Err(
                    "too many path parts (write /master-name or /master-name/db)".to_owned(),
                );
            }
            Topology::Sentinel {
                sentinels: nodes,
                master,
                db,
                sentinel_username,
                sentinel_password,
                sentinel_tls,
            }
        } else {
            if !path.is_empty() && parse_db(path)? != 0 {
                return Err("a Redis Cluster only has database 0 (remove the /db part)".to_owned());
            }
            Topology::Cluster { seeds: nodes }
        };
        let target = RedisTarget {
            topology,
            tls,
            username,
            password,
            label,
        };
        target.check_nodes()?;
        Ok(target)
    }

    /// Every Sentinel and cluster node must be one the redis crate would connect to (its URL
    /// parser is the reference, as for the one-server form): what it refuses at run time (a
    /// wildcard address...) is refused here, at configuration time.
    fn check_nodes(&self) -> Result<(), String> {
        let urls: Vec<(&HostPort, String)> = match &self.topology {
            Topology::Single { .. } => Vec::new(),
            Topology::Sentinel { sentinels, .. } => sentinels
                .iter()
                .map(|s| (s, self.sentinel_url(s)))
                .collect(),
            Topology::Cluster { seeds } => seeds.iter().map(|s| (s, self.node_url(s, 0))).collect(),
        };
        for (node, url) in urls {
            redis::Client::open(url.as_str()).map_err(|e| {
                format!("\"{node}\" is not an address Redis can be reached at: {e}")
            })?;
        }
        Ok(())
    }

    /// A one-server URL for `node` with this target's scheme, credentials and `db`: how the
    /// Sentinel master and the cluster nodes are reached.
    pub fn node_url(&self, node: &HostPort, db: i64) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        let auth = userinfo(self.username.as_deref(), self.password.as_deref());
        format!("{scheme}://{auth}{node}/{db}")
    }

    /// The URL of one Sentinel (`rediss://` with `sentinel_tls=on`, else plain text), with the
    /// Sentinels' credentials if any.
    pub fn sentinel_url(&self, sentinel: &HostPort) -> String {
        let (auth, scheme) = match &self.topology {
            Topology::Sentinel {
                sentinel_username,
                sentinel_password,
                sentinel_tls,
                ..
            } => (
                userinfo(sentinel_username.as_deref(), sentinel_password.as_deref()),
                if *sentinel_tls { "rediss" } else { "redis" },
            ),
            _ => (String::new(), "redis"),
        };
        format!("{scheme}://{auth}{sentinel}/0")
    }

    /// Whether the Sentinels are queried over TLS.
    pub fn sentinel_tls(&self) -> bool {
        matches!(
            self.topology,
            Topology::Sentinel {
                sentinel_tls: true,
                ..
            }
        )
    }
}

/// `user:password@` percent-encoded, or "".
fn userinfo(user: Option<&str>, password: Option<&str>) -> String {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    match (user, password) {
        (Some(u), Some(p)) => format!("{}:{}@", enc(u), enc(p)),
        (Some(u), None) => format!("{}@", enc(u)),
        (None, Some(p)) => format!(":{}@", enc(p)),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(host: &str, port: u16) -> HostPort {
        HostPort {
            host: host.into(),
            port,
        }
    }

    /// Found by fuzzing: a URL with line breaks parsed as another address (the URL parser drops
    /// them) and put them in the label that messages show.
    #[test]
    fn control_characters_are_refused_with_their_offset() {
        for raw in [
            "redis://app:pw\r\r@127.0.0.1:6379/0",
            "rediss+cluster://10.0.0.1:7000,\n10.0.0.2:7000",
            "redis+sentinel://10.0.0.1:26379/my\tmaster",
        ] {
            let err = RedisTarget::parse(raw).unwrap_err();
            assert!(err.contains("control character"), "{raw:?}: {err}");
        }
        assert!(RedisTarget::parse("redis://app:pw%0D@127.0.0.1:6379/0").is_ok());
    }

    /// Found by fuzzing: `user:@` gave no password in the one-server form (the redis crate's
    /// reading) but an empty one in the Sentinel and Cluster forms, so the node URLs Sesame
    /// makes from them no longer said the same thing.
    #[test]
    fn an_empty_password_is_no_password_in_every_form() {
        for raw in [
            "redis://app:@127.0.0.1:6379/0",
            "rediss+cluster://app:@10.0.0.1:7000,10.0.0.2:7000",
            "redis+sentinel://app:@10.0.0.1:26379/mymaster?sentinel_password=",
        ] {
            let t = RedisTarget::parse(raw).unwrap();
            assert_eq!(t.username.as_deref(), Some("app"), "{raw}");
            assert_eq!(t.password, None, "{raw}");
            assert_eq!(sentinel_password_of(&t), None, "{raw}");
            if let Topology::Cluster { seeds } = &t.topology {
                let back = RedisTarget::parse(&t.node_url(&seeds[0], 0)).unwrap();
                assert_eq!((back.username, back.password), (t.username.clone(), None));
            }
        }
    }

    fn sentinel_password_of(t: &RedisTarget) -> Option<&str> {
        match &t.topology {
            Topology::Sentinel {
                sentinel_password, ..
            } => sentinel_password.as_deref(),
            _ => None,
        }
    }

    #[test]
    fn single_server_urls_keep_acl_user_password_and_db() {
        let t = RedisTarget::parse("rediss://sesame:p%40ss@127.0.0.1:6380/3").unwrap();
        assert!(t.tls);
        assert_eq!(t.username.as_deref(), Some("sesame"));
        assert_eq!(t.password.as_deref(), Some("p@ss"));
        assert_eq!(t.label, "rediss://sesame:***@127.0.0.1:6380/3");
        assert!(matches!(t.topology, Topology::Single { .. }));
        assert!(RedisTarget::parse("unix:///run/redis.sock?db=2").is_ok());
    }

    #[test]
    fn sentinel_url_names_several_sentinels_a_master_and_a_db() {
        let t = RedisTarget::parse(
            "redis+sentinel://app:secret@10.0.0.1:26379,10.0.0.2,[::1]:26380/mymaster/2",
        )
        .unwrap();
        assert_eq!(
            t.topology,
            Topology::Sentinel {
                sentinels: vec![
                    hp("10.0.0.1", 26379),
                    hp("10.0.0.2", 26379),
                    hp("::1", 26380)
                ],
                master: "mymaster".into(),
                db: 2,
                sentinel_username: None,
                sentinel_password: None,
                sentinel_tls: false,
            }
        );
        assert_eq!(t.username.as_deref(), Some("app"));
        assert_eq!(
            t.node_url(&hp("10.0.0.9", 6379), 2),
            "redis://app:secret@10.0.0.9:6379/2"
        );
        assert!(!t.label.contains("secret"));
        let err = RedisTarget::parse("redis+sentinel://10.0.0.1:26379").unwrap_err();
        assert!(err.contains("master name is missing"), "{err}");
    }

    #[test]
    fn sentinel_credentials_come_from_the_query_and_are_redacted() {
        let t = RedisTarget::parse(
            "redis+sentinel://:datapw@h1:26379,h2:26379/m?sentinel_password=s%26pw&sentinel_username=mon",
        )
        .unwrap();
        assert_eq!(
            t.sentinel_url(&hp("h1", 26379)),
            "redis://mon:s%26pw@h1:26379/0"
        );
        assert_eq!(t.node_url(&hp("h9", 6379), 0), "redis://:datapw@h9:6379/0");
        assert!(!t.label.contains("pw"), "{}", t.label);
        assert!(
            t.label
                .ends_with("sentinel_password=***&sentinel_username=mon"),
            "{}",
            t.label
        );
        let err = RedisTarget::parse("redis+cluster://h1:7000?sentinel_password=x").unwrap_err();
        assert!(err.contains("unknown URL parameter"), "{err}");
    }

    #[test]
    fn sentinels_are_queried_over_tls_only_when_asked_and_with_tls_to_the_servers() {
        let t = RedisTarget::parse(
            "rediss+sentinel://:pw@h1:26379,h2/m/1?sentinel_tls=on&sentinel_password=sp",
        )
        .unwrap();
        assert!(t.sentinel_tls());
        assert_eq!(t.sentinel_url(&hp("h1", 26379)), "rediss://:sp@h1:26379/0");
        assert_eq!(t.node_url(&hp("h9", 6380), 1), "rediss://:pw@h9:6380/1");
        // Plain-text Sentinels stay the default, also with rediss+sentinel://.
        let plain = RedisTarget::parse("rediss+sentinel://h1:26379/m").unwrap();
        assert!(!plain.sentinel_tls());
        assert_eq!(plain.sentinel_url(&hp("h1", 26379)), "redis://h1:26379/0");
        let off = RedisTarget::parse("rediss+sentinel://h1:26379/m?sentinel_tls=off").unwrap();
        assert!(!off.sentinel_tls());
        for (bad, says) in [
            (
                "redis+sentinel://h1/m?sentinel_tls=on",
                "needs rediss+sentinel://",
            ),
            (
                "rediss+sentinel://h1/m?sentinel_tls=yes",
                "sentinel_tls=on or",
            ),
            (
                "rediss+cluster://h1:7000?sentinel_tls=on",
                "unknown URL parameter",
            ),
        ] {
            let err = RedisTarget::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn cluster_url_lists_seed_nodes_and_refuses_other_databases() {
        let t = RedisTarget::parse("rediss+cluster://:pw@h1:7000,h2:7001,h3").unwrap();
        assert!(t.tls);
        assert_eq!(
            t.topology,
            Topology::Cluster {
                seeds: vec![hp("h1", 7000), hp("h2", 7001), hp("h3", 6379)]
            }
        );
        assert_eq!(t.node_url(&hp("h1", 7000), 0), "rediss://:pw@h1:7000/0");
        let err = RedisTarget::parse("redis+cluster://h1:7000/1").unwrap_err();
        assert!(err.contains("only has database 0"), "{err}");
    }

    #[test]
    fn url_fragments_and_insecure_tls_are_refused() {
        for bad in [
            "rediss://127.0.0.1:6380/0#insecure",
            "rediss://:pw@127.0.0.1:6380/0#INSECURE",
            "redis://127.0.0.1:6379/0#",
            "redis://127.0.0.1:6379/0#anything",
            "unix:///run/redis.sock#insecure",
            "rediss+sentinel://h1:26379,h2:26379/m#insecure",
            "rediss+cluster://h1:7000,h2:7001#insecure",
            "redis://user:pa#ss@127.0.0.1:6379/0",
        ] {
            let err = RedisTarget::parse(bad).unwrap_err();
            assert!(
                err.contains("fragment") && err.contains("#insecure") && !err.contains("pa#ss"),
                "{bad}: {err}"
            );
        }
        // A # percent-encoded in a password is a character of the password, not a fragment.
        let t = RedisTarget::parse("rediss://user:pa%23ss@127.0.0.1:6380/0").unwrap();
        assert_eq!(t.password.as_deref(), Some("pa#ss"));
    }

    #[test]
    fn malformed_urls_are_explained() {
        for (bad, says) in [
            ("http://x", "unknown scheme"),
            ("127.0.0.1:6379", "must be a redis://"),
            ("redis+cluster://h1:99999", "port must be a number"),
            ("redis+cluster://h1:7000,:7001", "host is missing"),
            ("redis+sentinel://h1/m/x", "not a database number"),
        ] {
            let err = RedisTarget::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn every_node_of_a_cluster_or_sentinel_url_is_one_redis_would_reach() {
        // What follows an IPv6 literal's `]` is a port or nothing: `[::1]7` is not [::1]:6379.
        for raw in [
            "redis+cluster://[::1]7:100,10.0.0.2",
            "redis+sentinel://[::1]x/mymaster",
            "redis+cluster://[::1]:",
        ] {
            let err = RedisTarget::parse(raw).unwrap_err();
            assert!(
                err.contains("[::1]") && err.contains("port"),
                "{raw}: {err}"
            );
        }
        // A node the redis crate would refuse to connect to (a wildcard address) is refused
        // here, at configuration time, as it is in the one-server form (found by fuzzing:
        // fuzz/corpus/redis_url/).
        assert!(RedisTarget::parse("redis://[::]:6379/0").is_err());
        for raw in [
            "rediss+cluster://acl:pw@[::0]:7000,10.0.0.2",
            "redis+cluster://0.0.0.0:7000",
            "redis+sentinel://0.0.0.0:26379/mymaster",
        ] {
            let err = RedisTarget::parse(raw).unwrap_err();
            assert!(
                err.contains("wildcard") && !err.contains("pw"),
                "{raw}: {err}"
            );
        }
        let ok = RedisTarget::parse("rediss+cluster://acl:pw@[::1]:7000,10.0.0.2:7001").unwrap();
        for seed in [hp("::1", 7000), hp("10.0.0.2", 7001)] {
            let back = RedisTarget::parse(&ok.node_url(&seed, 0)).unwrap();
            assert_eq!(
                (back.username, back.password),
                (ok.username.clone(), ok.password.clone())
            );
        }
    }
}
