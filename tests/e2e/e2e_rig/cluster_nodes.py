"""Web nodes behind one public name, sharing a Redis Cluster (`make bench-cluster`,
tests/e2e/cluster/): nginx and Apache nodes, each in a network namespace of its own with its own
address, a 3-master + 3-replica Redis Cluster (one namespace per redis-server) and the
FranceConnect emulator (its namespace too), built on netns.py.

Every node serves https://sesame.test with the same Sesame secret, the same FranceConnect client
and the same configuration, `sesame_redis redis+cluster://<every cluster node>`, as behind a load
balancer. The script (on the host) plays the browsers: `browser(node)` sends the public name to
that node, `status_on(node, cookie)` asks a node for the protected page by its address."""

import secrets
import subprocess
import time
from types import SimpleNamespace

import requests

from . import apache, netns
from .browser import Browser
from .nginx import Nginx, NginxSite
from .paths import E2E
from .procs import wait_until
from .services import Emulator, Pki, new_client

PUBLIC = "sesame.test"
SESSION_COOKIE = "__Host-sesame"
PAGE = "/protected/static.html"
PAGE_BODY = ("<!DOCTYPE html><html><head><title>node</title></head><body>\n"
             + "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n" * 30
             + "</body></html>\n")

NGINX_LOCATIONS = """\
        location = /static.html { }
        location /protected/ {
            sesame fc;
            alias html/;
        }
        location = /logout {
            sesame_logout fc;
        }
"""
APACHE_LOCATIONS = """\
Alias "/protected/" "{{PREFIX}}/html/"
<Location /protected/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
</Location>
<LocationMatch "^/logout$">
    SetHandler sesame-logout
    SesameLogout fc
</LocationMatch>
"""
# Two children (two per-process caches, like nginx's two workers), more threads than a load
# generator has connections (the event MPM closes keep-alive connections when every thread is
# busy).
APACHE_TUNING = ("StartServers 2\nServerLimit 2\nThreadsPerChild 64\nMaxRequestWorkers 128\n"
                 "MinSpareThreads 1\nMaxSpareThreads 128\nMaxKeepAliveRequests 0\n")


class Failure(Exception):
    """A cross-node check that did not hold."""


def _share(site, rig, role):
    """One node of the public site: its namespace, address, port 443; the shared secret, client,
    public URLs and Redis Cluster."""
    site.listen_host = rig.addr[role]
    site.launcher = rig.net.launcher(role)
    site.role = role
    site.port = 443
    site.base = f"https://{PUBLIC}"
    site.secret = rig.secret
    site.client = rig.client
    site.clients = [rig.client]
    site.providers = {"fc": site.fc_provider(rig.client)}
    site.http["redis"] = rig.cluster.url
    site.http["redis_timeout"] = rig.redis_timeout
    site.http["session_cache"] = rig.session_cache
    site.files["html/static.html"] = PAGE_BODY


def _replace(text, pairs, what):
    for old, new in pairs:
        if old not in text:
            raise RuntimeError(f"the rig's {what} template changed: {old!r} not found")
        text = text.replace(old, new)
    return text


class NodeNginx(NginxSite):
    """`conf_filter`: text -> text, applied to the rendered nginx.conf (the bench's tuning)."""

    def __init__(self, rig, role, conf_filter=None):
        super().__init__(rig.env, rig.workdir / role, locations=NGINX_LOCATIONS, port=443)
        self.conf_filter = conf_filter
        _share(self, rig, role)
        if conf_filter is None:
            self.worker_processes = 2

    def render(self):
        text = super().render()
        if self.conf_filter is not None:
            text = self.conf_filter(text)
        return _replace(text, ((f"listen 127.0.0.1:{self.port} ssl;", f"listen {self.listen_host}:443 ssl;"),
                               ("server_name localhost;", f"server_name {PUBLIC};")), "nginx")


class NodeApache(apache.ApacheSite):
    def __init__(self, rig, role):
        super().__init__(rig.env, mpm="event", php="fpm", locations=APACHE_LOCATIONS, port=443)
        _share(self, rig, role)

    def render(self):
        return _replace(super().render(), (
            (f"Listen 127.0.0.1:{self.port}", f"Listen {self.listen_host}:443"),
            ("ServerName 127.0.0.1", f"ServerName {PUBLIC}"),
            ("CustomLog ", "# CustomLog "),
            (apache.MPM_TUNING["event"], APACHE_TUNING)), "Apache")


def start_node(site):
    conf = site.prepare()
    cls = Nginx if isinstance(site, NginxSite) else apache.Apache
    server = cls(site, conf)
    wait_until(lambda: len(server.worker_pids()) >= 2, 60, f"{site.role}'s 2 workers", server.proc)
    server.site = site
    server.addr = site.listen_host
    server.role = site.role
    server.node_url = f"https://{site.listen_host}"
    return server


def server_pids(server):
    return [server.proc.pid, *server.worker_pids()]


class ClusterRig:
    """`nginx_nodes` nginx nodes (web1...), one Apache node, the cluster, the emulator, and one
    namespace per name of `extra_roles` (the bench's load generator). `cli`: the `sesame`
    binary. Call `start()`, and `stop()` in a finally (processes by PID, then the network)."""

    def __init__(self, workdir, nginx_nodes=2, extra_roles=(), cli=None, conf_filter=None,
                 session_cache="5m", redis_timeout="500ms", log=None):
        self.workdir = workdir
        self.nginx_nodes, self.extra_roles = nginx_nodes, tuple(extra_roles)
        self.cli, self.conf_filter = cli, conf_filter
        self.session_cache, self.redis_timeout = session_cache, redis_timeout
        self.log = log or (lambda *_: None)
        self.started = []
        self.net = None
        self.nginx, self.nodes = [], []

    def keep(self, svc):
        self.started.append(svc)
        return svc

    def start(self):
        w = self.workdir
        self.net = netns.Net()
        self.log(f"network {self.net.subnet} on bridge {self.net.bridge} (host {self.net.host_addr})")
        self.cluster = self.keep(netns.NetnsCluster(self.net, w / "redis", masters=3, replicas=1))
        roles = ["fc", *self.extra_roles, *(f"web{i + 1}" for i in range(self.nginx_nodes)), "apache"]
        self.addr = {role: self.net.add(role) for role in roles}
        # One certificate for the public name and every machine's address (the script asks each
        # node by its address; the nodes check the emulator's).
        self.certs = netns.make_server_cert(Pki(w / "pki"), w / "certs", [PUBLIC],
                                            list(self.addr.values()))
        self.emulator = self.keep(Emulator(
            w / "emulator", self.certs, host=self.addr["fc"], port=443,
            launcher=self.net.launcher("fc"), extra_args=["--control-from", self.net.host_addr],
            ready_timeout=120))
        backend = SimpleNamespace(port=9, root=E2E / "backend")  # no PHP, no proxied app here
        self.env = SimpleNamespace(pki=self.certs, redis=SimpleNamespace(url=self.cluster.url),
                                   emulator=self.emulator, php=backend, echo=backend)
        self.secret = secrets.token_bytes(48)
        self.client = new_client(f"https://{PUBLIC}")
        self.emulator.add_client(self.client)
        self.nginx = [self.keep(start_node(NodeNginx(self, f"web{i + 1}", self.conf_filter)))
                      for i in range(self.nginx_nodes)]
        self.apache = self.keep(start_node(NodeApache(self, "apache")))
        self.nodes = [*self.nginx, self.apache]
        for n in self.nodes:
            self.log(f"  {n.role}: {n.addr} ({'nginx' if n in self.nginx else 'Apache'}), "
                     f"{len(n.worker_pids())} workers/children")
        self.log(f"  redis: {', '.join(f'{x.role} {x.addr}' for x in self.cluster.nodes)}; "
                 + "; ".join(f"{r} {self.addr[r]}" for r in ("fc", *self.extra_roles)))

    def stop(self):
        errors = []
        for svc in reversed(self.started):
            try:
                svc.stop()
            except Exception as exc:  # keep stopping the others
                errors.append(f"stopping {svc!r}: {exc}")
        if self.net is not None:
            self.net.close()
        return errors

    @property
    def secret_file(self):
        return self.nginx[0].site.prefix / "conf" / "sesame.secret"

    def set_session_cache(self, value):
        self.session_cache = value
        for n in self.nodes:
            n.site.http["session_cache"] = value
            n.reload()

    # ---- clients ------------------------------------------------------------------------------
    def browser(self, node):
        """A browser whose requests to the public name reach `node` (DNS or a load balancer)."""
        netns.route(PUBLIC, node.addr)
        return Browser(self.certs.ca, site_base=f"https://{PUBLIC}")

    def http(self):
        s = requests.Session()
        s.trust_env = False
        s.verify = str(self.certs.ca)
        return s

    def status_on(self, node, cookie, fresh=True, http=None):
        """200 when `node` serves the protected page with this session cookie, else its status
        (0: no answer; -1: a 200 with another body). A new connection each time unless `fresh`
        is false (nginx's workers and Apache's children take new connections in turn)."""
        http = http or self.http()
        try:
            r = http.get(node.node_url + PAGE, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"},
                         allow_redirects=False, timeout=10)
            if r.status_code == 200:
                return 200 if r.text == PAGE_BODY else -1
            return r.status_code
        except requests.RequestException:
            return 0
        finally:
            if fresh:
                http.close()

    def login(self, node):
        """A real login through `node` (the emulator's login page, the callback on `node`);
        returns (browser, session cookie)."""
        b = self.browser(node)
        login = b.login(f"https://{PUBLIC}{PAGE}")
        if login.final is None or login.final.status_code != 200:
            raise Failure(f"login through {node.role} ended with "
                          f"{login.final.status_code if login.final is not None else None}")
        return b, b.cookie(SESSION_COOKIE)

    def logout(self, node, cookie):
        """The logout through `node` (then the provider's logout, followed); returns when
        (time.monotonic()) the node's answer to /logout arrived: the session is gone by then."""
        b = self.browser(node)
        b.set_cookie(SESSION_COOKIE, cookie)
        first = b.get(f"https://{PUBLIC}/logout")
        answered = time.monotonic()
        b.follow(first)
        return answered

    def kill_sub(self, sub):
        """`sesame sessions kill --sub SUB` against the cluster URL."""
        out = subprocess.run([str(self.cli), "sessions", "kill", "--redis", self.cluster.url,
                              "--secret-file", str(self.secret_file), "--sub", sub],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise Failure(f"sesame sessions kill on the cluster: {out.stderr.strip()}")
        return out.stdout

    def session_subs(self):
        """The `sub` of every live session, oldest login first (`sesame sessions list`)."""
        import json

        out = subprocess.run([str(self.cli), "sessions", "list", "--json", "--redis",
                              self.cluster.url, "--secret-file", str(self.secret_file)],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise Failure(f"sesame sessions list on the cluster: {out.stderr.strip()}")
        return [json.loads(line).get("sub") for line in out.stdout.splitlines() if line.strip()]

    def warm_everywhere(self, cookie, probes=6):
        """Every worker of every node opens the page with `cookie` (and caches the session)."""
        for n in self.nodes:
            statuses = [self.status_on(n, cookie) for _ in range(probes)]
            if any(s != 200 for s in statuses):
                raise Failure(f"a session was refused by {n.role}: {statuses}")

    def refused_everywhere(self, cookie, since, what, probes=6, limit=1.0):
        """Polls every node (`probes` new connections per round, so that every worker is asked)
        until each refused `cookie` on a whole round; returns {role: (seconds after `since`
        when that round was sent, rounds)}. Raises Failure when a probe sent more than `limit`
        seconds after `since` was served the page, or a node kept serving it. A node's rounds
        wait for the other nodes' (each probe a new TLS connection; slow on a loaded machine):
        a node that refused at round 1 refused as soon as it was asked."""
        times, rounds, late = {}, {}, {}
        deadline = since + limit + 10.0
        while len(times) < len(self.nodes) and time.monotonic() < deadline:
            for n in self.nodes:
                if n.role in times:
                    continue
                rounds[n.role] = rounds.get(n.role, 0) + 1
                first_sent, refused = time.monotonic(), True
                for _ in range(probes):
                    sent = time.monotonic()
                    status = self.status_on(n, cookie)
                    if status in (200, 0):
                        refused = False
                    if status == 200 and sent - since > limit:
                        late.setdefault(n.role, f"served {sent - since:.2f} s after")
                if refused:
                    times[n.role] = (first_sent - since, rounds[n.role])
            time.sleep(0.02)
        missing = [n.role for n in self.nodes if n.role not in times]
        if late or missing:
            raise Failure(f"{what}: the page still served more than {limit:g} s later: "
                          f"{late or missing} (refused: {refusal_text(times)})")
        return times


def refusal_text(times):
    return ", ".join(f"{r} {t:.2f} s ({n} round{'s' if n > 1 else ''})"
                     for r, (t, n) in times.items())
