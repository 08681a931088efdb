//! The Redis store (sync API). Connections are created lazily on first use inside a job — never
//! before the server forks — kept in a small pool, bounded by `redis_timeout` for connect, read
//! and write, and dropped when broken so the next call reconnects (no reload needed).
//!
//! Topologies (see `redis_target`): one server (plain or TLS), the master named by Sentinels,
//! or a Redis Cluster (the redis crate's `ClusterConnection`, which follows MOVED/ASK).

use std::time::Duration;

use parking_lot::Mutex;
use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConnection};
use redis::{Cmd, Connection, FromRedisValue, RedisError, RedisResult, TlsCertificates, Value};

use super::redis_target::{HostPort, RedisTarget, Topology};
use super::store::{FeedEvent, Store, StoreError, Subscription};

/// Idle connections kept per process: one per thread of nginx's default thread pool (32), so
/// that a burst of jobs (a cold cache, many logins) reuses connections instead of opening and
/// closing one per job beyond the pool (measured with `make bench`). More concurrent jobs simply
/// open more.
const POOL_MAX: usize = 32;

/// TLS material for `rediss://` (PEM bytes read at configuration time).
#[derive(Clone, Default)]
pub struct RedisTls {
    /// CA certificate(s) that signed the Redis server certificate; None = system roots.
    pub ca: Option<Vec<u8>>,
    /// Client certificate chain and key, for servers started with `tls-auth-clients yes`.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

impl RedisTls {
    fn is_empty(&self) -> bool {
        self.ca.is_none() && self.client.is_none()
    }

    fn certificates(&self) -> TlsCertificates {
        TlsCertificates {
            client_tls: self
                .client
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.clone(),
                }),
            root_cert: self.ca.clone(),
        }
    }
}

enum Backend {
    Single(redis::Client),
    Sentinel {
        target: RedisTarget,
        sentinels: Vec<HostPort>,
        master: String,
        db: i64,
        tls: RedisTls,
    },
    Cluster {
        client: Box<ClusterClient>,
        target: RedisTarget,
        tls: RedisTls,
    },
}

/// One pooled connection.
enum Conn {
    Plain(Connection),
    Cluster(Box<ClusterConnection>),
}

impl Conn {
    fn query<T: FromRedisValue>(&mut self, cmd: &Cmd) -> RedisResult<T> {
        match self {
            Conn::Plain(c) => cmd.query(c),
            Conn::Cluster(c) => cmd.query(c.as_mut()),
        }
    }
}

pub struct RedisStore {
    /// None when no `sesame_redis` was configured (no provider declared).
    backend: Option<Backend>,
    /// For messages: the URL without its password.
    label: String,
    /// The ACL user of the URL (None: `default`), for `sesame doctor`'s advice.
    username: Option<String>,
    timeout: Duration,
    pool: Mutex<Pool>,
}

struct Pool {
    /// The process that opened these connections: a forked child must not share sockets.
    pid: u32,
    idle: Vec<Conn>,
}

fn client_for(url: &str, tls: &RedisTls) -> RedisResult<redis::Client> {
    if tls.is_empty() {
        redis::Client::open(url)
    } else {
        redis::Client::build_with_tls(url, tls.certificates())
    }
}

/// `client`'s server, TLS material and credentials, spoken to in `protocol`.
fn with_protocol(
    client: &redis::Client,
    protocol: redis::ProtocolVersion,
) -> RedisResult<redis::Client> {
    let info = client.get_connection_info().clone();
    let settings = info.redis_settings().clone().set_protocol(protocol);
    redis::Client::open(info.set_redis_settings(settings))
}

/// `ROLE`'s first element: "master", "slave" or "sentinel".
fn role_is_master(role: &Value) -> bool {
    match role {
        Value::Array(items) => matches!(
            items.first(),
            Some(Value::BulkString(b)) if b.as_slice() == b"master"
        ),
        _ => false,
    }
}

/// A Redis error, with what to do when it is a refused TLS certificate (the redis crate only
/// says what rustls said).
pub fn explain_tls(e: &RedisError) -> String {
    let text = e.to_string();
    if text.contains("invalid peer certificate") || text.contains("UnknownIssuer") {
        format!(
            "{text} (the server's TLS certificate is not signed by the CA of {}: give the CA that signed it)",
            crate::directives::registry::http_name("redis_ca_file")
        )
    } else {
        text
    }
}

/// An error after which the connection must not be reused: broken socket, or a server that is
/// no longer the master (a Sentinel failover demoted it: READONLY).
fn needs_reconnect(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.code() == Some("READONLY")
}

impl RedisStore {
    /// Parses the URL; opens nothing.
    pub fn new(url: &str, timeout: Duration) -> Result<RedisStore, String> {
        RedisStore::with_tls(url, timeout, RedisTls::default())
    }

    /// Parses the URL and keeps the TLS material; opens nothing.
    pub fn with_tls(url: &str, timeout: Duration, tls: RedisTls) -> Result<RedisStore, String> {
        let target = RedisTarget::parse(url)?;
        if !tls.is_empty() && !target.tls {
            return Err(format!(
                "\"{}\" is not a TLS URL, but a CA file or client certificate is configured (use rediss://, rediss+sentinel:// or rediss+cluster://)",
                target.label
            ));
        }
        let backend = match &target.topology {
            Topology::Single { url } => {
                Backend::Single(client_for(url, &tls).map_err(|e| format!("invalid URL: {e}"))?)
            }
            Topology::Sentinel {
                sentinels,
                master,
                db,
                ..
            } => Backend::Sentinel {
                sentinels: sentinels.clone(),
                master: master.clone(),
                db: *db,
                tls: tls.clone(),
                target: target.clone(),
            },
            Topology::Cluster { seeds } => {
                let urls: Vec<String> = seeds.iter().map(|s| target.node_url(s, 0)).collect();
                let mut builder = ClusterClientBuilder::new(urls)
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .retries(2)
                    .min_retry_wait(10)
                    .max_retry_wait(200);
                if let Some(user) = &target.username {
                    builder = builder.username(user);
                }
                if let Some(password) = &target.password {
                    builder = builder.password(password);
                }
                if !tls.is_empty() {
                    builder = builder.certs(tls.certificates());
                }
                Backend::Cluster {
                    client: Box::new(builder.build().map_err(|e| format!("invalid URL: {e}"))?),
                    target: target.clone(),
                    tls: tls.clone(),
                }
            }
        };
        Ok(RedisStore {
            backend: Some(backend),
            label: target.label,
            username: target.username,
            timeout,
            pool: Mutex::new(Pool {
                pid: std::process::id(),
                idle: Vec::new(),
            }),
        })
    }

    pub fn unconfigured() -> RedisStore {
        RedisStore {
            backend: None,
            label: String::new(),
            username: None,
            timeout: Duration::from_secs(1),
            pool: Mutex::new(Pool {
                pid: std::process::id(),
                idle: Vec::new(),
            }),
        }
    }

    /// The URL as messages show it (password replaced by `***`).
    pub fn label(&self) -> &str {
        &self.label
    }

    fn take_idle(&self) -> Option<Conn> {
        let mut pool = self.pool.lock();
        let pid = std::process::id();
        if pool.pid != pid {
            // Inherited across fork: these sockets belong to the parent.
            pool.idle.clear();
            pool.pid = pid;
        }
        pool.idle.pop()
    }

    fn put_back(&self, con: Conn) {
        let mut pool = self.pool.lock();
        if pool.pid == std::process::id() && pool.idle.len() < POOL_MAX {
            pool.idle.push(con);
        }
    }

    /// A plain connection with connect, read and write bounded by `redis_timeout`.
    fn open_plain(&self, client: &redis::Client) -> RedisResult<Connection> {
        let con = client.get_connection_with_timeout(self.timeout)?;
        con.set_read_timeout(Some(self.timeout))?;
        con.set_write_timeout(Some(self.timeout))?;
        Ok(con)
    }

    /// Asks each Sentinel in turn for the master's address, then checks with ROLE that the
    /// server there really is a master (a Sentinel may lag behind a failover). Every step is
    /// bounded by `redis_timeout`. Not the redis crate's `SentinelClient`: in redis 1.8.1 its
    /// sync path connects to Sentinels and to the master with `get_connection()`, without any
    /// timeout (`sentinel.rs`: `reconnect`, `get_node_role`), so an unreachable host would hold
    /// a thread-pool thread for the OS connect timeout (minutes). This is the same protocol
    /// (SENTINEL get-master-addr-by-name, then ROLE), bounded.
    fn open_sentinel_master(
        &self,
        target: &RedisTarget,
        sentinels: &[HostPort],
        master: &str,
        db: i64,
        tls: &RedisTls,
        protocol: redis::ProtocolVersion,
    ) -> Result<Connection, String> {
        let mut failures = Vec::new();
        for sentinel in sentinels {
            // Over TLS (`sentinel_tls=on`) a Sentinel's certificate is checked against the same
            // CA as the Redis servers', and the same client certificate is shown.
            let sentinel_tls = if target.sentinel_tls() {
                tls
            } else {
                &RedisTls::default()
            };
            let asked = client_for(&target.sentinel_url(sentinel), sentinel_tls)
                .and_then(|c| self.open_plain(&c))
                .and_then(|mut con| {
                    redis::cmd("SENTINEL")
                        .arg("get-master-addr-by-name")
                        .arg(master)
                        .query::<Option<(String, u16)>>(&mut con)
                });
            let (host, port) = match asked {
                Ok(Some(addr)) => addr,
                Ok(None) => {
                    failures.push(format!(
                        "sentinel {sentinel} does not know master \"{master}\""
                    ));
                    continue;
                }
                Err(e) => {
                    failures.push(format!("sentinel {sentinel}: {}", explain_tls(&e)));
                    continue;
                }
            };
            let node = HostPort { host, port };
            let opened = client_for(&target.node_url(&node, db), tls)
                .and_then(|c| with_protocol(&c, protocol))
                .and_then(|c| self.open_plain(&c))
                .and_then(|mut con| {
                    let role: Value = redis::cmd("ROLE").query(&mut con)?;
                    Ok((con, role_is_master(&role)))
                });
            match opened {
                Ok((con, true)) => return Ok(con),
                Ok((_, false)) => failures.push(format!(
                    "sentinel {sentinel} names {node}, which is not a master (failover in progress?)"
                )),
                Err(e) => failures.push(format!(
                    "master {node} (from sentinel {sentinel}): {}",
                    explain_tls(&e)
                )),
            }
        }
        Err(failures.join("; "))
    }

    fn connect(&self, backend: &Backend) -> Result<Conn, StoreError> {
        match backend {
            Backend::Single(client) => self
                .open_plain(client)
                .map(Conn::Plain)
                .map_err(|e| self.error(&e)),
            Backend::Sentinel {
                target,
                sentinels,
                master,
                db,
                tls,
            } => self
                .open_sentinel_master(
                    target,
                    sentinels,
                    master,
                    *db,
                    tls,
                    redis::ProtocolVersion::RESP2,
                )
                .map(Conn::Plain)
                .map_err(|e| StoreError(format!("Redis {}: {e}", self.label))),
            Backend::Cluster { client, .. } => {
                let con = client.get_connection().map_err(|e| self.error(&e))?;
                con.set_read_timeout(Some(self.timeout))
                    .and_then(|()| con.set_write_timeout(Some(self.timeout)))
                    .map_err(|e| self.error(&e))?;
                Ok(Conn::Cluster(Box::new(con)))
            }
        }
    }

    fn error(&self, e: &RedisError) -> StoreError {
        StoreError(format!("Redis {}: {}", self.label, explain_tls(e)))
    }

    /// The ACL user Sesame authenticates as (None: Redis's `default` user).
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    fn backend(&self) -> Result<&Backend, StoreError> {
        self.backend.as_ref().ok_or_else(|| {
            StoreError(format!(
                "{} is not configured",
                crate::directives::registry::http_name("redis")
            ))
        })
    }

    /// Runs `op` on a pooled connection; a pooled connection found dead (Redis restarted) or
    /// demoted (Sentinel failover) is replaced once by a fresh one. Timeouts are not retried:
    /// the caller waits at most about one `redis_timeout` per attempt.
    fn with_connection<T>(
        &self,
        op: impl Fn(&mut Conn) -> RedisResult<T>,
    ) -> Result<T, StoreError> {
        let backend = self.backend()?;
        if let Some(mut con) = self.take_idle() {
            match op(&mut con) {
                Ok(v) => {
                    self.put_back(con);
                    return Ok(v);
                }
                Err(e) if e.is_timeout() => return Err(self.error(&e)),
                Err(e) if !needs_reconnect(&e) => {
                    self.put_back(con);
                    return Err(self.error(&e));
                }
                // Broken socket or demoted master: drop it and fall through to a fresh one.
                Err(_) => {}
            }
        }
        let mut con = self.connect(backend)?;
        let v = op(&mut con).map_err(|e| self.error(&e))?;
        self.put_back(con);
        Ok(v)
    }

    /// Every key matching `pattern` (SCAN, so Redis is never blocked), on every master of a
    /// cluster. For the operator CLI, not for requests.
    pub fn scan_match(&self, pattern: &str) -> Result<Vec<String>, StoreError> {
        let backend = self.backend()?;
        let mut keys = Vec::new();
        match backend {
            Backend::Cluster { target, tls, .. } => {
                for node in self.cluster_masters()? {
                    let con = client_for(&target.node_url(&node, 0), tls)
                        .and_then(|c| self.open_plain(&c))
                        .map_err(|e| StoreError(format!("Redis cluster node {node}: {e}")))?;
                    scan_into(&mut Conn::Plain(con), pattern, &mut keys)
                        .map_err(|e| StoreError(format!("Redis cluster node {node}: {e}")))?;
                }
            }
            _ => {
                self.with_connection(|c| {
                    let mut found = Vec::new();
                    scan_into(c, pattern, &mut found)?;
                    Ok(found)
                })
                .map(|found| keys = found)?;
            }
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    /// The masters of a cluster, from CLUSTER SLOTS.
    pub fn cluster_masters(&self) -> Result<Vec<HostPort>, StoreError> {
        let slots: Value = self.with_connection(|c| c.query(redis::cmd("CLUSTER").arg("SLOTS")))?;
        let mut masters = Vec::new();
        if let Value::Array(ranges) = slots {
            for range in ranges {
                let Value::Array(parts) = range else { continue };
                let Some(Value::Array(master)) = parts.get(2) else {
                    continue;
                };
                let host = match master.first() {
                    Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                    Some(Value::SimpleString(s)) => s.clone(),
                    _ => continue,
                };
                let Some(Value::Int(port)) = master.get(1) else {
                    continue;
                };
                let Ok(port) = u16::try_from(*port) else {
                    continue;
                };
                let node = HostPort { host, port };
                if !masters.contains(&node) {
                    masters.push(node);
                }
            }
        }
        if masters.is_empty() {
            return Err(StoreError(format!(
                "Redis {}: CLUSTER SLOTS named no master",
                self.label
            )));
        }
        Ok(masters)
    }

    /// A connection of its own for a subscription: to the one server, to the master the
    /// Sentinels name (a replica would do too: PUBLISH is replicated, but the master is what
    /// the store uses), or to the first cluster seed that answers (in a cluster, PUBLISH
    /// reaches the subscribers of every node).
    ///
    /// RESP3: messages then come as push values, which the redis crate never mistakes for the
    /// late answer to a read that timed out (it drops the next plain reply after a timeout).
    fn open_subscriber(&self) -> Result<Connection, StoreError> {
        const RESP3: redis::ProtocolVersion = redis::ProtocolVersion::RESP3;
        match self.backend()? {
            Backend::Single(client) => with_protocol(client, RESP3)
                .and_then(|c| self.open_plain(&c))
                .map_err(|e| self.error(&e)),
            Backend::Sentinel {
                target,
                sentinels,
                master,
                db,
                tls,
            } => self
                .open_sentinel_master(target, sentinels, master, *db, tls, RESP3)
                .map_err(|e| StoreError(format!("Redis {}: {e}", self.label))),
            Backend::Cluster { target, tls, .. } => {
                let Topology::Cluster { seeds } = &target.topology else {
                    return Err(StoreError(format!("Redis {}: no seed node", self.label)));
                };
                let mut failures = Vec::new();
                for seed in seeds {
                    match client_for(&target.node_url(seed, 0), tls)
                        .and_then(|c| with_protocol(&c, RESP3))
                        .and_then(|c| self.open_plain(&c))
                    {
                        Ok(con) => return Ok(con),
                        Err(e) => failures.push(format!("node {seed}: {e}")),
                    }
                }
                Err(StoreError(format!(
                    "Redis {}: {}",
                    self.label,
                    failures.join("; ")
                )))
            }
        }
    }

    /// Seconds left before `key` expires (-1: no TTL, -2: no such key).
    pub fn ttl(&self, key: &str) -> Result<i64, StoreError> {
        self.with_connection(|c| c.query(redis::cmd("TTL").arg(key)))
    }
}

/// SCAN ... MATCH pattern COUNT 1000 until the cursor comes back to 0.
fn scan_into(con: &mut Conn, pattern: &str, keys: &mut Vec<String>) -> RedisResult<()> {
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = con.query(
            redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000),
        )?;
        keys.extend(batch);
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

impl Store for RedisStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_connection(|c| c.query(redis::cmd("GET").arg(key)))
    }

    fn set_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<(), StoreError> {
        self.with_connection(|c| {
            c.query(
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("EX")
                    .arg(ttl_secs.max(1)),
            )
        })
    }

    fn set_nx_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<bool, StoreError> {
        self.with_connection(|c| {
            c.query::<Option<String>>(
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("NX")
                    .arg("EX")
                    .arg(ttl_secs.max(1)),
            )
            .map(|r| r.is_some())
        })
    }

    fn set_xx_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<bool, StoreError> {
        self.with_connection(|c| {
            c.query::<Option<String>>(
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("XX")
                    .arg("EX")
                    .arg(ttl_secs.max(1)),
            )
            .map(|r| r.is_some())
        })
    }

    fn del(&self, key: &str) -> Result<(), StoreError> {
        self.with_connection(|c| c.query(redis::cmd("DEL").arg(key)))
    }

    /// GETDEL (Redis 6.2+): atomic on a master, whatever the number of workers and servers.
    fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_connection(|c| c.query(redis::cmd("GETDEL").arg(key)))
    }

    fn label(&self) -> String {
        self.label.clone()
    }

    fn publish(&self, channel: &str, message: &[u8]) -> Result<(), StoreError> {
        self.with_connection(|c| c.query::<i64>(redis::cmd("PUBLISH").arg(channel).arg(message)))
            .map(|_receivers| ())
    }

    fn subscribe(&self, channel: &str) -> Result<Box<dyn Subscription>, StoreError> {
        let mut con = self.open_subscriber()?;
        let fail = |e: RedisError| self.error(&e);
        con.send_packed_command(&redis::cmd("SUBSCRIBE").arg(channel).get_packed_command())
            .map_err(fail)?;
        // The confirmation (or the refusal: NOPERM without the channel permission), within
        // the read timeout `open_plain` set.
        loop {
            match event_of(con.recv_response().map_err(fail)?) {
                Received::Subscribed => break,
                Received::Refused(e) => {
                    return Err(StoreError(format!("Redis {}: {e}", self.label)))
                }
                Received::Event(_) | Received::Other => {}
            }
        }
        Ok(Box::new(RedisSubscription {
            con,
            channel: channel.to_owned(),
            label: self.label.clone(),
        }))
    }
}

/// A subscribed connection, read by the revocation feed's thread only.
struct RedisSubscription {
    con: Connection,
    channel: String,
    label: String,
}

/// One value read on a subscribed connection (RESP2 arrays or RESP3 pushes).
enum Received {
    Subscribed,
    Event(FeedEvent),
    Refused(String),
    Other,
}

fn bulk(value: Option<&Value>) -> Option<Vec<u8>> {
    match value? {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

fn event_of(value: Value) -> Received {
    match value {
        Value::Array(items) => {
            let kind = bulk(items.first()).unwrap_or_default().to_ascii_lowercase();
            match kind.as_slice() {
                b"message" => bulk(items.get(2))
                    .map(|m| Received::Event(FeedEvent::Message(m)))
                    .unwrap_or(Received::Other),
                b"pong" => Received::Event(FeedEvent::Pong),
                b"subscribe" => Received::Subscribed,
                _ => Received::Other,
            }
        }
        Value::Push { kind, data } => match kind {
            redis::PushKind::Message => bulk(data.get(1))
                .map(|m| Received::Event(FeedEvent::Message(m)))
                .unwrap_or(Received::Other),
            redis::PushKind::Subscribe => Received::Subscribed,
            _ => Received::Other,
        },
        Value::SimpleString(s) if s.eq_ignore_ascii_case("pong") => {
            Received::Event(FeedEvent::Pong)
        }
        Value::ServerError(e) => Received::Refused(e.to_string()),
        _ => Received::Other,
    }
}

impl Subscription for RedisSubscription {
    fn next(&mut self, wait: Duration) -> Result<Option<FeedEvent>, StoreError> {
        let fail = |e: RedisError| StoreError(format!("Redis {}: {e}", self.label));
        self.con
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
            .map_err(fail)?;
        match self.con.recv_response() {
            Ok(value) => match event_of(value) {
                Received::Event(event) => Ok(Some(event)),
                // The answer to `ping`.
                Received::Subscribed => Ok(Some(FeedEvent::Pong)),
                Received::Refused(e) => Err(StoreError(format!("Redis {}: {e}", self.label))),
                Received::Other => Ok(None),
            },
            Err(e) if e.is_timeout() => Ok(None),
            Err(e) => Err(fail(e)),
        }
    }

    /// SUBSCRIBE again to the same channel, rather than PING: its answer is a push value
    /// like the messages (see `open_subscriber`), in order with them, and changes nothing.
    fn ping(&mut self) -> Result<(), StoreError> {
        self.con
            .send_packed_command(
                &redis::cmd("SUBSCRIBE")
                    .arg(&self.channel)
                    .get_packed_command(),
            )
            .map_err(|e| StoreError(format!("Redis {}: {e}", self.label)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_down_fails_fast_with_a_message_and_no_panic() {
        // Port 1 on loopback: nothing listens, the connect is refused at once.
        let store = RedisStore::new("redis://127.0.0.1:1/0", Duration::from_millis(300)).unwrap();
        let started = std::time::Instant::now();
        let err = store.get("k").unwrap_err();
        assert!(err.0.contains("Redis"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    /// A real redis-server on a free port, killed (by PID) on drop.
    struct RedisServer {
        child: std::process::Child,
        port: u16,
    }

    impl RedisServer {
        fn start_on(port: u16) -> Option<RedisServer> {
            let child = std::process::Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                ])
                .args(["--appendonly", "no"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .ok()?;
            let server = RedisServer { child, port };
            for _ in 0..50 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(server);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            None
        }

        fn start() -> Option<RedisServer> {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            RedisServer::start_on(port)
        }
    }

    impl Drop for RedisServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[test]
    fn redis_store_works_and_recovers_after_a_restart_without_reload() {
        let Some(server) = RedisServer::start() else {
            // The e2e suite runs against a real Redis; without the binary this test has
            // nothing to talk to.
            eprintln!("redis-server not available: skipped");
            return;
        };
        let port = server.port;
        let url = format!("redis://127.0.0.1:{port}/0");
        let store = RedisStore::new(&url, Duration::from_millis(500)).unwrap();
        assert_eq!(store.get("k").unwrap(), None);
        store.set_ex("k", b"v", 60).unwrap();
        assert_eq!(store.get("k").unwrap().as_deref(), Some(&b"v"[..]));
        assert!(store.set_nx_ex("once", b"1", 60).unwrap());
        assert!(!store.set_nx_ex("once", b"1", 60).unwrap());
        assert!(store.set_xx_ex("k", b"refreshed", 60).unwrap());
        assert_eq!(store.get("k").unwrap().as_deref(), Some(&b"refreshed"[..]));
        store.del("k").unwrap();
        assert_eq!(store.get("k").unwrap(), None);
        assert!(
            !store.set_xx_ex("k", b"late refresh", 60).unwrap(),
            "SET XX does not recreate a deleted key"
        );
        assert_eq!(store.get("k").unwrap(), None);
        assert_eq!(store.pool.lock().idle.len(), 1, "the connection is reused");

        drop(server);
        assert!(
            store.get("k").is_err(),
            "Redis down is an error, not a panic"
        );
        let _server = RedisServer::start_on(port).expect("redis-server restarts on its port");
        // The dead pooled connection is replaced on the next call.
        assert_eq!(store.get("k").unwrap(), None);
        store.set_ex("k", b"again", 60).unwrap();
        assert_eq!(store.get("k").unwrap().as_deref(), Some(&b"again"[..]));

        // Restarted between two requests: the first request afterwards already succeeds.
        drop(_server);
        let _server = RedisServer::start_on(port).expect("redis-server restarts on its port");
        assert_eq!(
            store.pool.lock().idle.len(),
            1,
            "a now-dead connection is pooled"
        );
        assert_eq!(store.get("k").unwrap(), None);
    }

    /// Real Redis under a session reader; another client deletes the key right after each
    /// read (a logout in another worker, or `sesame sessions kill`).
    struct KilledAfterRead {
        redis: RedisStore,
        killer: RedisStore,
    }

    impl Store for KilledAfterRead {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            let value = self.redis.get(key)?;
            self.killer.del(key)?;
            Ok(value)
        }
        fn set_ex(&self, key: &str, value: &[u8], ttl: u64) -> Result<(), StoreError> {
            self.redis.set_ex(key, value, ttl)
        }
        fn set_nx_ex(&self, key: &str, value: &[u8], ttl: u64) -> Result<bool, StoreError> {
            self.redis.set_nx_ex(key, value, ttl)
        }
        fn set_xx_ex(&self, key: &str, value: &[u8], ttl: u64) -> Result<bool, StoreError> {
            self.redis.set_xx_ex(key, value, ttl)
        }
        fn del(&self, key: &str) -> Result<(), StoreError> {
            self.redis.del(key)
        }
        fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            self.redis.take(key)
        }
    }

    #[test]
    fn a_session_killed_in_redis_during_an_activity_refresh_stays_killed() {
        use crate::session::{Keys, Session, SessionBinding, SessionSettings, Sessions};
        let Some(server) = RedisServer::start() else {
            eprintln!("redis-server not available: skipped");
            return;
        };
        let url = format!("redis://127.0.0.1:{}/0", server.port);
        let open = || RedisStore::new(&url, Duration::from_secs(1)).unwrap();
        let sessions = Sessions::new(
            Box::new(KilledAfterRead {
                redis: open(),
                killer: open(),
            }),
            Keys::derive(&[3; 32]),
            SessionSettings {
                redis_timeout: Duration::from_secs(1),
                cache_ttl: Duration::ZERO,
                idle_timeout: Duration::from_secs(1800),
                lifetime: Duration::from_secs(43_200),
            },
        );
        let binding = SessionBinding::new("https://idp", "client");
        let session = Session {
            provider: "fc".into(),
            issuer: "https://idp".into(),
            sub: "abc".into(),
            acr: "eidas1".into(),
            claims: Default::default(),
            id_token: "tok".into(),
            created: 1000,
            refreshed: 1000,
            expires: u64::MAX / 2,
            ..Session::default()
        };
        let id = sessions.create(&session, &binding, 1000).unwrap();
        // Due for an activity refresh: GET, then the kill, then the refresh write.
        assert_eq!(sessions.load(&binding, &id, 1120), Ok(None));
        let left = open().scan_match("sesame:*").unwrap();
        assert!(left.is_empty(), "the killed session came back: {left:?}");
    }

    #[test]
    fn a_subscription_gets_messages_and_pongs_in_order_and_fails_when_redis_goes() {
        let Some(server) = RedisServer::start() else {
            eprintln!("redis-server not available: skipped");
            return;
        };
        let url = format!("redis://127.0.0.1:{}/0", server.port);
        let store = RedisStore::new(&url, Duration::from_millis(500)).unwrap();
        let mut sub = store.subscribe("ns:revoked").unwrap();
        // Reads that time out first (the redis crate drops the next plain reply after one).
        for _ in 0..3 {
            assert_eq!(sub.next(Duration::from_millis(20)).unwrap(), None);
        }
        store.publish("ns:other", b"elsewhere").unwrap();
        store.publish("ns:revoked", b"first").unwrap();
        sub.ping().unwrap();
        store.publish("ns:revoked", b"second").unwrap();
        let mut events = Vec::new();
        while events.len() < 3 {
            if let Some(e) = sub.next(Duration::from_millis(500)).unwrap() {
                events.push(e);
            }
        }
        // The PING was sent after the first message was published: its answer comes after it
        // (the second message raced the PING from another connection: either order).
        assert_eq!(events[0], FeedEvent::Message(b"first".to_vec()));
        assert!(events.contains(&FeedEvent::Pong), "{events:?}");
        assert!(
            events.contains(&FeedEvent::Message(b"second".to_vec())),
            "{events:?}"
        );
        assert_eq!(sub.next(Duration::from_millis(50)).unwrap(), None, "quiet");
        drop(server);
        let broken = (0..20).find_map(|_| sub.next(Duration::from_millis(50)).err());
        assert!(broken.is_some(), "Redis gone: the subscription reports it");
    }

    #[test]
    fn a_user_without_the_channel_permission_is_refused_with_noperm() {
        let Some(server) = RedisServer::start() else {
            eprintln!("redis-server not available: skipped");
            return;
        };
        let admin = RedisStore::new(
            &format!("redis://127.0.0.1:{}/0", server.port),
            Duration::from_secs(1),
        )
        .unwrap();
        admin
            .with_connection(|c| {
                c.query::<Value>(
                    redis::cmd("ACL")
                        .arg("SETUSER")
                        .arg("nochan")
                        .arg("on")
                        .arg(">pw")
                        .arg("resetkeys")
                        .arg("~sesame:*")
                        .arg("resetchannels")
                        .arg("-@all")
                        .arg("+get")
                        .arg("+set")
                        .arg("+del")
                        .arg("+ping")
                        .arg("+publish")
                        .arg("+subscribe"),
                )
            })
            .unwrap();
        let limited = RedisStore::new(
            &format!("redis://nochan:pw@127.0.0.1:{}/0", server.port),
            Duration::from_secs(1),
        )
        .unwrap();
        let published = limited.publish("sesame:ns:revoked", b"x").unwrap_err();
        assert!(published.0.to_lowercase().contains("noperm"), "{published}");
        let subscribed = limited
            .subscribe("sesame:ns:revoked")
            .err()
            .expect("refused");
        assert!(
            subscribed.0.to_lowercase().contains("noperm"),
            "{subscribed}"
        );
        assert!(
            !subscribed.0.contains("pw@"),
            "no password in messages: {subscribed}"
        );
    }

    #[test]
    fn creating_the_store_opens_no_connection() {
        let store = RedisStore::new("redis://192.0.2.1:6379/0", Duration::from_secs(1)).unwrap();
        assert!(store.pool.lock().idle.is_empty());
    }
}
