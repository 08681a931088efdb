"""The real services behind nginx: PKI, redis-server, the provider emulator, php-fpm, an echo app."""

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from .paths import E2E, REPO
from .procs import Proc, free_port, port_open, wait_until


class Pki:
    """CA + server certificate for 127.0.0.1, made by tests/support/pki.py (the emulator's helper)."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, str(REPO / "tests" / "support" / "pki.py"), str(self.dir)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.ca = self.dir / "ca.pem"
        self.cert = self.dir / "server.pem"
        self.key = self.dir / "server.key"
        for f in (self.ca, self.cert, self.key):
            if not f.is_file():
                raise FileNotFoundError(f"tests/support/pki.py did not create {f}")


class Redis:
    """redis-server without persistence on a fixed free port; can be stopped and restarted there."""

    def __init__(self, workdir, port=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.proc = None
        self.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        argv = [
            "redis-server", "--save", "", "--appendonly", "no",
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
        ]
        self.proc = Proc("redis-server", argv, self.dir / "redis.log")
        wait_until(lambda: port_open(self.port), 10, f"redis on port {self.port}", self.proc)

    def stop(self):
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    def command(self, *args):
        """One redis command through redis-cli (keeps the rig free of a Python redis client)."""
        out = subprocess.run(
            ["redis-cli", "-p", str(self.port), "--raw", *map(str, args)],
            check=True, capture_output=True, timeout=10,
        )
        # Values may be binary (encrypted sessions): never fail on decoding.
        return out.stdout.decode("utf-8", "replace")

    def keys(self, pattern="*"):
        return [k for k in self.command("--scan", "--pattern", pattern).split("\n") if k]


class Emulator:
    """The FC v2 emulator (tests/emulator/emulator.py) over HTTPS on a free loopback port."""

    def __init__(self, workdir, pki, extra_args=(), port=None, host="127.0.0.1", launcher=(),
                 ready_timeout=30):
        """`host`, `launcher`: another address, and a command prefix such as `ip netns exec NS`
        (bench/cluster.py runs the emulator in a network namespace of its own). `ready_timeout`:
        seconds for it to start (a niced run on a loaded machine needs more)."""
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pki = pki
        self.port = port or free_port()
        self.base = f"https://{host}:{self.port}"
        self.issuer = f"{self.base}/api/v2"
        self.clients = []
        script = os.environ.get("SESAME_EMULATOR") or REPO / "tests" / "emulator" / "emulator.py"
        argv = [
            *launcher, sys.executable, "-u", str(script),
            "--listen", f"{host}:{self.port}", "--issuer", self.issuer,
            "--cert", str(pki.cert), "--key", str(pki.key),
        ] + list(extra_args)
        self.proc = Proc("emulator", argv, self.dir / "emulator.log", stdout_pipe=True)
        self.proc.wait_for_line("READY", ready_timeout)
        self.http = requests.Session()
        # trust_env off: CURL_CA_BUNDLE / REQUESTS_CA_BUNDLE would override `verify` (requests#3829)
        # and a proxy variable would divert loopback traffic.
        self.http.trust_env = False
        self.http.verify = str(pki.ca)

    def stop(self):
        self.proc.stop()

    def _post(self, path, payload=None):
        r = self.http.post(self.base + path, json=payload, timeout=10)
        r.raise_for_status()
        return r

    def set_clients(self, clients):
        """Replace the registered clients (POST /_emulator/clients)."""
        self.clients = list(clients)
        self._post("/_emulator/clients", self.clients)

    def add_client(self, client):
        self.set_clients([c for c in self.clients if c["client_id"] != client["client_id"]] + [client])

    def control(self, **state):
        """Merge `state` into the emulator's control state (delays, down, misbehave)."""
        self._post("/_emulator/control", state)

    def misbehave(self, *names):
        self.control(misbehave=list(names))

    def rotate_keys(self):
        self._post("/_emulator/rotate-keys")

    def restore(self):
        """Back to normal behaviour between tests, keeping keys and registered clients."""
        self.control(
            token_delay=0, userinfo_delay=0, authorize_delay=0, discovery_delay=0, jwks_delay=0,
            down=False, misbehave=[], clock_offset=0, faults={},
                        access_token_ttl=None, revocation_delay=0, revocation_status=200,
        )

    def requests(self):
        r = self.http.get(self.base + "/_emulator/requests", timeout=10)
        r.raise_for_status()
        return r.json()

    def clear_requests(self):
        self.http.delete(self.base + "/_emulator/requests", timeout=10).raise_for_status()

    def requests_to(self, endpoint, method=None):
        """Recorded requests whose path ends with `endpoint` (e.g. "/authorize"), oldest first."""
        return [
            r for r in self.requests()
            if r["path"].split("?")[0].endswith(endpoint) and (method is None or r["method"] == method)
        ]

    def last_error(self):
        """Code of the last Y-error page the emulator served (None if none)."""
        r = self.http.get(self.base + "/_emulator/last-error", timeout=10)
        r.raise_for_status()
        return r.json().get("code")


def new_client(nginx_base, client_id=None, alg="ES256"):
    """A client registration for an nginx instance served at `nginx_base` (https://127.0.0.1:P)."""
    return {
        "client_id": client_id or "sesame-" + secrets.token_hex(8),
        "client_secret": secrets.token_hex(32),
        "redirect_uris": [f"{nginx_base}/sesame/callback"],
        "post_logout_redirect_uris": [f"{nginx_base}/sesame/logged-out"],
        "id_token_signed_response_alg": alg,
        "userinfo_signed_response_alg": alg,
        "amr_allowed": False,
    }


PHP_FPM_CONF = """\
[global]
pid = {dir}/php-fpm.pid
error_log = {dir}/php-fpm.log
daemonize = no

[sesame]
listen = 127.0.0.1:{port}
pm = static
pm.max_children = 4
clear_env = yes
catch_workers_output = yes
php_admin_value[default_charset] = UTF-8
php_admin_flag[expose_php] = off
"""


def php_fpm_binary():
    for name in ("php-fpm8.2", "php-fpm"):
        found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
        if found:
            return found
    raise FileNotFoundError("php-fpm8.2 not found (apt-get install php-fpm)")


class PhpFpm:
    """php-fpm in the foreground with one static pool on a free loopback port."""

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.root = E2E / "backend"
        conf = self.dir / "php-fpm.conf"
        conf.write_text(PHP_FPM_CONF.format(dir=self.dir, port=self.port))
        # -n: no php.ini (deterministic); -F: foreground; -R: allow root (CI runs as root).
        argv = [php_fpm_binary(), "-n", "-F", "-R", "-y", str(conf)]
        self.proc = Proc("php-fpm", argv, self.dir / "php-fpm.stderr")
        wait_until(lambda: port_open(self.port), 15, f"php-fpm on port {self.port}", self.proc)

    def stop(self):
        self.proc.stop(sig=15)


class _EchoHandler(BaseHTTPRequestHandler):
    """The proxied application: answers every request with the request line and headers as JSON."""

    protocol_version = "HTTP/1.1"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        # Raw header bytes (latin-1 round-trip) so the test sees exactly what nginx sent.
        headers = [[k, v] for k, v in self.headers.items()]
        body = json.dumps({"method": self.command, "path": self.path, "headers": headers}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _answer

    def log_message(self, *args):
        pass


class EchoApp:
    """A threaded HTTP echo server in this process (the 'proxied app' behind proxy_pass)."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="echo-app", daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
