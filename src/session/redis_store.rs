//! The Redis store (sync API). Connections are created lazily on first use inside a job — never
//! before the server forks — kept in a small pool, bounded by `redis_timeout` for connect, read
//! and write, and dropped when broken so the next call reconnects (no reload needed).

use std::time::Duration;

use parking_lot::Mutex;
use redis::{Connection, RedisError, RedisResult};

use super::store::{Store, StoreError};

/// Idle connections kept per process; more concurrent jobs simply open more.
const POOL_MAX: usize = 8;

pub struct RedisStore {
    /// None when no `sesame_redis` was configured (no provider declared).
    client: Option<redis::Client>,
    /// For messages: the URL without its password.
    label: String,
    timeout: Duration,
    pool: Mutex<Pool>,
}

struct Pool {
    /// The process that opened these connections: a forked child must not share sockets.
    pid: u32,
    idle: Vec<Connection>,
}

impl RedisStore {
    /// Parses the URL; opens nothing.
    pub fn new(url: &str, timeout: Duration) -> Result<RedisStore, String> {
        let client = redis::Client::open(url).map_err(|e| format!("invalid URL: {e}"))?;
        let info = client.get_connection_info();
        let label = info.addr().to_string();
        Ok(RedisStore {
            client: Some(client),
            label,
            timeout,
            pool: Mutex::new(Pool {
                pid: std::process::id(),
                idle: Vec::new(),
            }),
        })
    }

    pub fn unconfigured() -> RedisStore {
        RedisStore {
            client: None,
            label: String::new(),
            timeout: Duration::from_secs(1),
            pool: Mutex::new(Pool {
                pid: std::process::id(),
                idle: Vec::new(),
            }),
        }
    }

    fn take_idle(&self) -> Option<Connection> {
        let mut pool = self.pool.lock();
        let pid = std::process::id();
        if pool.pid != pid {
            // Inherited across fork: these sockets belong to the parent.
            pool.idle.clear();
            pool.pid = pid;
        }
        pool.idle.pop()
    }

    fn put_back(&self, con: Connection) {
        let mut pool = self.pool.lock();
        if pool.pid == std::process::id() && pool.idle.len() < POOL_MAX {
            pool.idle.push(con);
        }
    }

    fn connect(&self, client: &redis::Client) -> RedisResult<Connection> {
        let con = client.get_connection_with_timeout(self.timeout)?;
        con.set_read_timeout(Some(self.timeout))?;
        con.set_write_timeout(Some(self.timeout))?;
        Ok(con)
    }

    fn error(&self, e: &RedisError) -> StoreError {
        StoreError(format!("Redis {}: {e}", self.label))
    }

    /// Runs `op` on a pooled connection; a pooled connection found dead (Redis restarted) is
    /// replaced once by a fresh one. Timeouts are not retried: the caller waits at most
    /// about one `redis_timeout` per attempt.
    fn with_connection<T>(
        &self,
        op: impl Fn(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, StoreError> {
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| StoreError("sesame_redis is not configured".into()))?;
        if let Some(mut con) = self.take_idle() {
            match op(&mut con) {
                Ok(v) => {
                    self.put_back(con);
                    return Ok(v);
                }
                Err(e) if e.is_timeout() => return Err(self.error(&e)),
                Err(e) if !(e.is_io_error() || e.is_connection_dropped()) => {
                    return Err(self.error(&e))
                }
                // Broken socket: drop it and fall through to a fresh connection.
                Err(_) => {}
            }
        }
        let mut con = self.connect(client).map_err(|e| self.error(&e))?;
        let v = op(&mut con).map_err(|e| self.error(&e))?;
        self.put_back(con);
        Ok(v)
    }
}

impl Store for RedisStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_connection(|c| redis::cmd("GET").arg(key).query::<Option<Vec<u8>>>(c))
    }

    fn set_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<(), StoreError> {
        self.with_connection(|c| {
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("EX")
                .arg(ttl_secs.max(1))
                .query::<()>(c)
        })
    }

    fn set_nx_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<bool, StoreError> {
        self.with_connection(|c| {
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("NX")
                .arg("EX")
                .arg(ttl_secs.max(1))
                .query::<Option<String>>(c)
                .map(|r| r.is_some())
        })
    }

    fn del(&self, key: &str) -> Result<(), StoreError> {
        self.with_connection(|c| redis::cmd("DEL").arg(key).query::<()>(c))
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
        store.del("k").unwrap();
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

    #[test]
    fn creating_the_store_opens_no_connection() {
        let store = RedisStore::new("redis://192.0.2.1:6379/0", Duration::from_secs(1)).unwrap();
        assert!(store.pool.lock().idle.is_empty());
    }
}
