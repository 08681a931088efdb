//! Configuration of the Redis connection: URL forms, TLS files, their cross-checks.

use super::*;

struct Dir(std::path::PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!(
            "sesame-redis-config-{tag}-{}-{}",
            std::process::id(),
            hex::encode(crate::session::random_bytes::<4>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("secret"), "0123456789abcdef0123456789abcdef\n").unwrap();
        std::fs::write(dir.join("ca.pem"), "-----BEGIN CERTIFICATE-----\nxx\n").unwrap();
        std::fs::write(dir.join("not-pem"), "hello\n").unwrap();
        Dir(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn builder(dir: &Dir, url: &str) -> ConfigBuilder {
    let mut b = ConfigBuilder::new();
    b.set_global("redis", url).unwrap();
    b.set_global("secret_file", &dir.path("secret")).unwrap();
    b
}

fn err_of<T>(r: Result<T, ConfigError>) -> String {
    match r {
        Ok(_) => panic!("expected a configuration error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn sentinel_and_cluster_urls_are_accepted_and_build_without_connecting() {
    let dir = Dir::new("forms");
    for url in [
        "redis+sentinel://10.255.0.1:26379,10.255.0.2:26379,10.255.0.3:26379/mymaster/2",
        "rediss+sentinel://user:pw@10.255.0.1/mymaster",
        "redis+cluster://10.255.0.1:7000,10.255.0.2:7000,10.255.0.3:7000",
        "rediss://user:pw@10.255.0.1:6380/1",
    ] {
        let (store, keys, _) = builder(&dir, url).build_admin().expect(url);
        assert!(!store.label().contains(":pw@"), "{}", store.label());
        assert!(keys.namespace().starts_with("sesame:"));
    }
}

#[test]
fn malformed_topology_urls_are_refused_with_the_reason() {
    let mut b = ConfigBuilder::new();
    let msg = err_of(b.set_global("redis", "redis+sentinel://u:hunter2@h1:26379"));
    assert!(msg.contains("master name is missing"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
    let msg = err_of(b.set_global("redis", "redis+cluster://h1:7000/4"));
    assert!(msg.contains("only has database 0"), "{msg}");
}

#[test]
fn tls_files_need_a_tls_url_and_come_in_pairs() {
    let dir = Dir::new("tls");
    let mut b = builder(&dir, "redis://127.0.0.1:6379/0");
    b.set_global("redis_ca_file", &dir.path("ca.pem")).unwrap();
    assert!(err_of(b.build_admin()).contains("is not a TLS URL"));

    let mut b = builder(&dir, "rediss://127.0.0.1:6379/0");
    b.set_global("redis_cert_file", &dir.path("ca.pem"))
        .unwrap();
    assert_eq!(
        err_of(b.build_admin()),
        "sesame_redis_cert_file needs sesame_redis_key_file (the client certificate's private key)"
    );

    let mut b = builder(&dir, "rediss://127.0.0.1:6379/0");
    b.set_global("redis_ca_file", &dir.path("not-pem")).unwrap();
    assert!(err_of(b.build_admin()).contains("is not a PEM file"));

    let mut b = builder(&dir, "rediss://127.0.0.1:6379/0");
    b.set_global("redis_ca_file", &dir.path("missing.pem"))
        .unwrap();
    assert!(err_of(b.build_admin()).starts_with("cannot read sesame_redis_ca_file"));

    let mut b = builder(&dir, "rediss://127.0.0.1:6379/0");
    b.set_global("redis_ca_file", &dir.path("ca.pem")).unwrap();
    assert!(err_of(b.set_global("redis_ca_file", &dir.path("ca.pem"))).contains("duplicate"));
}
