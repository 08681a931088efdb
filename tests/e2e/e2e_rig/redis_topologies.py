"""Real redis-server topologies for the Redis tests: one server (plain, TLS, ACL, persistent),
1 master + 1 replica + 3 Sentinels, a 3-master Cluster. Every process runs on free loopback ports
and is stopped by PID (Proc), also when a test fails."""

import datetime
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from .paths import target_dir
from .procs import Proc, free_port, port_open, wait_until


def sesame_cli():
    """The `sesame` operator binary (built by `cargo build -p sesame`)."""
    env = os.environ.get("SESAME_CLI")
    path = Path(env) if env else target_dir() / "debug" / "sesame"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `make build` or set SESAME_CLI")
    return path


def run_cli(*args, timeout=30):
    out = subprocess.run([str(sesame_cli()), *map(str, args)], capture_output=True, timeout=timeout)
    return out.returncode, out.stdout.decode("utf-8", "replace"), out.stderr.decode("utf-8", "replace")


def _bindable(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_cluster_port():
    """A free port P whose cluster bus port P+10000 is free too."""
    for _ in range(200):
        port = free_port()
        if port + 10000 < 65536 and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def make_client_cert(pki):
    """A client certificate (clientAuth) signed by the test CA, for `tls-auth-clients yes`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    cert_path, key_path = pki.dir / "redis-client.pem", pki.dir / "redis-client.key"
    if cert_path.is_file() and key_path.is_file():
        return cert_path, key_path
    ca_key = serialization.load_pem_private_key((pki.dir / "ca.key").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(pki.ca.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sesame redis client")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


class RedisNode:
    """One redis-server (or Sentinel) process on a fixed port; restartable on that port.

    `tls`: a Pki; then the server listens with TLS only (`--tls-port`), `client_auth` asks for
    client certificates. `auth`: (user, password) redis-cli uses for its own commands."""

    def __init__(self, workdir, port=None, args=(), tls=None, client_auth=False, auth=None,
                 sentinel_conf=None, name="redis-server"):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.args = list(args)
        self.tls = tls
        self.client_auth = client_auth
        self.auth = auth
        self.sentinel_conf = sentinel_conf
        self.name = name
        self.proc = None
        self.start()

    def argv(self):
        if self.sentinel_conf is not None:
            conf = self.dir / "sentinel.conf"
            if not conf.exists():
                conf.write_text(self.sentinel_conf)
            return ["redis-server", str(conf), "--sentinel"]
        argv = ["redis-server", "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", ""]
        if self.tls is not None:
            argv += [
                "--port", "0", "--tls-port", str(self.port),
                "--tls-cert-file", str(self.tls.cert), "--tls-key-file", str(self.tls.key),
                "--tls-ca-cert-file", str(self.tls.ca),
                "--tls-auth-clients", "yes" if self.client_auth else "no",
            ]
        else:
            argv += ["--port", str(self.port)]
        return argv + self.args

    def start(self):
        self.proc = Proc(self.name, self.argv(), self.dir / "redis.log")
        wait_until(lambda: port_open(self.port), 10, f"{self.name} on port {self.port}", self.proc)
        wait_until(self._pong, 10, f"{self.name} on port {self.port} answering PING", self.proc, 0.05)

    def _pong(self):
        try:
            return self.command("PING").strip() == "PONG"
        except subprocess.CalledProcessError:
            return False

    def stop(self, sig=signal.SIGTERM):
        """Stop by PID (SIGTERM: Redis writes its append-only file and exits cleanly)."""
        if self.proc is not None:
            self.proc.stop(sig=sig)
            self.proc = None

    def kill(self):
        self.stop(sig=signal.SIGKILL)

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def cli_argv(self):
        argv = ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)]
        if self.tls is not None:
            argv += ["--tls", "--cacert", str(self.tls.ca)]
            if self.client_auth:
                cert, key = make_client_cert(self.tls)
                argv += ["--cert", str(cert), "--key", str(key)]
        if self.auth is not None:
            user, password = self.auth
            argv += (["--user", user] if user else []) + ["--pass", password, "--no-auth-warning"]
        return argv

    def command(self, *args):
        out = subprocess.run(
            [*self.cli_argv(), "--raw", *map(str, args)], check=True, capture_output=True, timeout=10)
        return out.stdout.decode("utf-8", "replace")

    def keys(self, pattern="*", db=0):
        out = subprocess.run(
            [*self.cli_argv(), "-n", str(db), "--raw", "--scan", "--pattern", pattern],
            check=True, capture_output=True, timeout=10)
        return [k for k in out.stdout.decode().split("\n") if k]

    def info_field(self, section, field):
        for line in self.command("INFO", section).splitlines():
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
        return None

    def cluster_state(self):
        for line in self.command("CLUSTER", "INFO").splitlines():
            if line.startswith("cluster_state:"):
                return line.split(":", 1)[1].strip()
        return None

    def calls(self, command):
        """How many times `command` ran (INFO commandstats)."""
        stats = self.info_field("commandstats", f"cmdstat_{command.lower()}")
        if not stats:
            return 0
        return int(dict(kv.split("=") for kv in stats.split(","))["calls"])


class SentinelSet:
    """1 master + 1 replica + 3 Sentinels (quorum 2), fast failover settings. `password`: the
    Sentinels require it (`requirepass`, and use it between themselves). `tls`: a Pki; then every
    process (master, replica, Sentinels) listens with TLS only, replication and the Sentinels'
    own links included (`tls-replication yes`)."""

    MASTER_NAME = "sesamemaster"

    def __init__(self, workdir, password=None, tls=None):
        self.dir = Path(workdir)
        self.password = password
        self.tls = tls
        tls_links = ["--tls-replication", "yes"] if tls is not None else []
        self.master = RedisNode(self.dir / "master", tls=tls, args=tls_links)
        self.replica = RedisNode(
            self.dir / "replica", tls=tls,
            args=["--replicaof", "127.0.0.1", str(self.master.port), *tls_links])
        self.sentinels = []
        for i in range(3):
            port = free_port()
            if tls is None:
                listen = f"port {port}\n"
            else:
                listen = (
                    f"port 0\ntls-port {port}\ntls-cert-file {tls.cert}\ntls-key-file {tls.key}\n"
                    f"tls-ca-cert-file {tls.ca}\ntls-auth-clients no\ntls-replication yes\n"
                )
            conf = (
                f"{listen}bind 127.0.0.1\ndir {self.dir / f'sentinel{i}'}\n"
                f"sentinel monitor {self.MASTER_NAME} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {self.MASTER_NAME} 1000\n"
                f"sentinel failover-timeout {self.MASTER_NAME} 4000\n"
                f"sentinel parallel-syncs {self.MASTER_NAME} 1\n"
            )
            if password:
                conf += f"requirepass {password}\nsentinel sentinel-pass {password}\n"
            self.sentinels.append(RedisNode(
                self.dir / f"sentinel{i}", port=port, sentinel_conf=conf, name="redis-sentinel",
                auth=(None, password) if password else None, tls=tls))
        wait_until(self._ready, 30, "sentinels knowing each other and the replica", interval=0.2)

    def _ready(self):
        if self.master.info_field("replication", "connected_slaves") != "1":
            return False
        for s in self.sentinels:
            fields = s.command("SENTINEL", "MASTER", self.MASTER_NAME).split("\n")
            info = dict(zip(fields[::2], fields[1::2]))
            if info.get("num-other-sentinels") != "2" or info.get("num-slaves") != "1":
                return False
        return True

    @property
    def url(self):
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        if self.tls is not None:
            return f"rediss+sentinel://{hosts}/{self.MASTER_NAME}/0?sentinel_tls=on"
        return f"redis+sentinel://{hosts}/{self.MASTER_NAME}/0"

    def master_port_per_sentinels(self):
        out = self.sentinels[0].command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.MASTER_NAME).split()
        return int(out[1]) if len(out) == 2 else None

    def stop(self):
        for node in [*self.sentinels, self.replica, self.master]:
            node.stop()


class Cluster:
    """A Redis Cluster of 3 masters (no replicas), slots spread by redis-cli --cluster create."""

    def __init__(self, workdir, size=3):
        self.dir = Path(workdir)
        self.nodes = []
        for i in range(size):
            port = free_cluster_port()
            self.nodes.append(RedisNode(self.dir / f"node{i}", port=port, args=[
                "--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf",
                "--cluster-node-timeout", "2000", "--appendonly", "no",
            ]))
        subprocess.run(
            ["redis-cli", "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in self.nodes],
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )
        wait_until(self._ok, 30, "cluster_state:ok on every node", interval=0.2)

    def _ok(self):
        return all(n.cluster_state() == "ok" for n in self.nodes)

    @property
    def url(self):
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def stop(self):
        for node in self.nodes:
            node.stop()


def wait_for(predicate, timeout, what, interval=0.1):
    """Poll until `predicate()` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
