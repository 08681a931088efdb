"""Network namespaces for a rig of several machines on one host (`make bench-cluster`,
tests/e2e/cluster/): each "machine" is a namespace with one address on a private /24, joined by
veth pairs to a bridge that holds the host's own address on that network, so processes of the
host (the test or bench script, its HTTP clients, redis-cli) reach every machine directly.

Nothing else is touched: the subnet is one no interface or route of the host uses, the names
carry this process's PID, and `Net.close()` (also at interpreter exit, and when a signal stops
the run) deletes exactly the namespaces, veths and bridge it created. Processes started in a
namespace must be stopped (by PID) before, since deleting a namespace does not end them."""

import atexit
import datetime
import ipaddress
import os
import subprocess
import threading
from pathlib import Path

from .procs import Proc, wait_until

_NETS = []
_NETS_LOCK = threading.Lock()


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=check)


def netns_usable():
    """(True, "") when this process may create namespaces and links, else (False, why)."""
    if os.geteuid() != 0:
        return False, "network namespaces need root (ip netns add)"
    name = f"sesame-probe-{os.getpid()}"
    try:
        out = _ip("netns", "add", name, check=False)
    except FileNotFoundError:
        return False, "the ip command (iproute2) is not installed"
    if out.returncode != 0:
        return False, f"ip netns add refused: {out.stderr.strip()}"
    _ip("netns", "del", name, check=False)
    return True, ""


def free_subnet(prefix="10.77"):
    """A /24 under `prefix`.0.0/16 that no address or route of the host overlaps."""
    used = []
    for line in _ip("-4", "route", "show", "table", "all").stdout.splitlines():
        dest = line.split()[0] if line.split() else ""
        if dest and dest[0].isdigit():
            try:
                used.append(ipaddress.ip_network(dest, strict=False))
            except ValueError:
                pass
    for line in _ip("-4", "-o", "addr").stdout.splitlines():
        fields = line.split()
        if "inet" in fields:
            used.append(ipaddress.ip_network(fields[fields.index("inet") + 1], strict=False))
    for third in range(256):
        net = ipaddress.ip_network(f"{prefix}.{third}.0/24")
        if not any(net.overlaps(u) for u in used):
            return net
    raise RuntimeError(f"no free /24 under {prefix}.0.0/16")


class Net:
    """A bridge with the host's address .1 and namespaces added one by one (`add`), each with
    the next address. `launcher(name)` is the argv prefix that runs a command in one."""

    def __init__(self, tag=None):
        self.tag = tag or f"{os.getpid() % 100000}"
        self.subnet = free_subnet()
        hosts = self.subnet.hosts()
        self.host_addr = str(next(hosts))
        self._hosts = hosts
        self.bridge = f"sbr{self.tag}"
        self.namespaces = {}  # name -> address
        self.links = []  # host-side veth names
        self.closed = False
        with _NETS_LOCK:
            _NETS.append(self)
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.host_addr}/{self.subnet.prefixlen}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def add(self, role):
        """A namespace for `role` (short: web1, redis3...); returns its address."""
        name = f"sesame-{self.tag}-{role}"
        addr = str(next(self._hosts))
        index = len(self.namespaces)
        host_end, ns_end = f"sv{self.tag}h{index}", f"sv{self.tag}n{index}"
        _ip("netns", "add", name)
        self.namespaces[name] = addr
        _ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
        self.links.append(host_end)
        _ip("link", "set", ns_end, "netns", name)
        _ip("link", "set", host_end, "master", self.bridge, "up")
        _ip("-n", name, "addr", "add", f"{addr}/{self.subnet.prefixlen}", "dev", ns_end)
        _ip("-n", name, "link", "set", ns_end, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        return addr

    def namespace(self, role):
        return f"sesame-{self.tag}-{role}"

    def launcher(self, role):
        return ["ip", "netns", "exec", self.namespace(role)]

    def close(self):
        """Deletes what `__init__` and `add` made, and nothing else (missing ones are fine)."""
        if self.closed:
            return
        self.closed = True
        for name in self.namespaces:
            _ip("netns", "del", name, check=False)  # its veth end goes with it, and the peer
        for link in self.links:
            _ip("link", "del", link, check=False)
        _ip("link", "del", self.bridge, check=False)
        with _NETS_LOCK:
            if self in _NETS:
                _NETS.remove(self)


@atexit.register
def _close_every_net():
    with _NETS_LOCK:
        nets = list(_NETS)
    for net in nets:
        try:
            net.close()
        except Exception:  # best effort at exit
            pass


def make_server_cert(pki, directory, dns_names, addresses):
    """A TLS server certificate signed by the rig's CA for the public name(s) and every
    machine's address: SimpleNamespace-like object with ca, cert, key (what the site builders
    and the emulator read from a Pki)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = serialization.load_pem_private_key((pki.dir / "ca.key").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(pki.ca.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    san = [x509.DNSName(n) for n in dns_names]
    san += [x509.IPAddress(ipaddress.ip_address(a)) for a in [*addresses, "127.0.0.1"]]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o644)  # Apache's children and nginx's workers are other users
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    class Certs:
        pass

    out = Certs()
    out.dir, out.ca, out.cert, out.key = pki.dir, pki.ca, cert_path, key_path
    return out


# ---- one public name, several machines -------------------------------------------------------

_ROUTES = {}
_ROUTES_LOCK = threading.Lock()
_PATCHED = False


def route(name, address):
    """Make this process's HTTP clients (requests / urllib3) connect to `address` for the host
    `name`, as a load balancer or DNS would send a browser to one node: TLS still checks the
    certificate against `name`. Connections already open stay where they are: close a client's
    pools (requests.Session.close()) after changing the route."""
    global _PATCHED
    import urllib3.util.connection as connection

    with _ROUTES_LOCK:
        _ROUTES[name] = address
        if not _PATCHED:
            original = connection.create_connection

            def create_connection(address_pair, *args, **kw):
                host, port = address_pair
                with _ROUTES_LOCK:
                    host = _ROUTES.get(host, host)
                return original((host, port), *args, **kw)

            connection.create_connection = create_connection
            _PATCHED = True


# ---- a Redis Cluster, one node per namespace --------------------------------------------------

class NetnsRedis:
    """One redis-server in namespace `role` of `net`, on its address, port 6379."""

    PORT = 6379

    def __init__(self, net, role, workdir, args=()):
        self.net, self.role = net, role
        self.addr = net.add(role)
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.args = list(args)
        self.proc = None
        self.start()

    def start(self):
        argv = [*self.net.launcher(self.role), "redis-server", "--bind", self.addr,
                "--port", str(self.PORT), "--dir", str(self.dir), "--save", "",
                "--appendonly", "no",
                # No password on this private network: without this, Redis answers only loopback.
                "--protected-mode", "no", *self.args]
        self.proc = Proc(f"redis-{self.role}", argv, self.dir / "redis.log")
        wait_until(self._pong, 60, f"redis-server {self.role} at {self.addr}", self.proc, 0.05)

    def _pong(self):
        try:
            return self.command("PING").strip() == "PONG"
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return False

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def command(self, *args, timeout=10):
        out = subprocess.run(["redis-cli", "-h", self.addr, "-p", str(self.PORT), "--raw",
                              *map(str, args)], check=True, capture_output=True, timeout=timeout)
        return out.stdout.decode("utf-8", "replace")

    def info(self, section):
        fields = {}
        for line in self.command("INFO", section).splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                fields[k] = v.strip()
        return fields

    def stop(self, sig=15):
        if self.proc is not None:
            self.proc.stop(sig=sig)
            self.proc = None

    def kill(self):
        self.stop(sig=9)


class NetnsCluster:
    """A Redis Cluster of `masters` masters with `replicas` replicas each, every node in its own
    namespace (`redis-cli --cluster create ... --cluster-replicas N`)."""

    def __init__(self, net, workdir, masters=3, replicas=1, node_timeout_ms=2000):
        self.net = net
        self.nodes = []
        for i in range(masters * (1 + replicas)):
            self.nodes.append(NetnsRedis(net, f"redis{i + 1}", Path(workdir) / f"redis{i + 1}", args=[
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(node_timeout_ms),
                # A replica whose master is gone is promoted however long ago it last heard from it.
                "--cluster-replica-validity-factor", "0",
            ]))
        subprocess.run(
            ["redis-cli", "--cluster", "create", *[f"{n.addr}:{n.PORT}" for n in self.nodes],
             "--cluster-replicas", str(replicas), "--cluster-yes"],
            check=True, capture_output=True, timeout=120,
        )
        wait_until(self._ready, 60, "cluster_state:ok and every replica in sync", interval=0.2)

    def _ready(self):
        try:
            if not all("cluster_state:ok" in n.command("CLUSTER", "INFO") for n in self.live()):
                return False
            return all(n.info("replication").get("master_link_status") == "up"
                       for n in self.replicas())
        except subprocess.SubprocessError:
            return False

    def live(self):
        return [n for n in self.nodes if n.proc is not None]

    def role(self, node):
        return node.info("replication").get("role")

    def masters(self):
        return [n for n in self.live() if self.role(n) == "master"]

    def replicas(self):
        return [n for n in self.live() if self.role(n) == "slave"]

    def replica_of(self, master):
        for n in self.replicas():
            if n.info("replication").get("master_host") == master.addr:
                return n
        return None

    @property
    def url(self):
        return "redis+cluster://" + ",".join(f"{n.addr}:{n.PORT}" for n in self.nodes)

    def stop(self):
        for node in self.nodes:
            node.stop()
