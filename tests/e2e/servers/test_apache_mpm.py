"""Fork safety: mod_sesame works under prefork with mod_php (the core built in the parent before
fork, Redis and provider connections opened by each child), and under worker and event with
php-fpm; the parent never starts a thread nor opens a connection."""

import http.client
import json
import os
import ssl
from pathlib import Path

import pytest

from e2e_rig.browser import Browser
from e2e_rig.checks import SESSION, php_server
from ..login.test_claims import test_identity_claims_reach_php  # noqa: F401
from ..failures.test_failures import test_redis_down_gives_503_within_timeout_and_unprotected_still_200  # noqa: F401
from ..login.test_login_flow import (  # noqa: F401
    test_claims_reach_php_with_utf8_intact,
    test_full_flow_logs_in_shows_claims_and_logs_out_through_provider,
    test_proxied_app_receives_percent_encoded_claim_headers,
)
from ..login.test_spoofed_headers import test_spoofed_identity_header_never_reaches_php  # noqa: F401


pytestmark = pytest.mark.only("apache", reason="Apache's multi-processing modules; nginx's one worker has none")

APACHE_VARIANTS = {
    "prefork+mod_php": {"mpm": "prefork", "php": "mod_php"},
    "worker+php-fpm": {"mpm": "worker", "php": "fpm"},
    "event+php-fpm": {"mpm": "event", "php": "fpm"},
}


@pytest.fixture(scope="module")
def site(make_site):
    site = make_site()
    # As test_failures' site: no per-process session cache, every protected request reads Redis.
    site.http["session_cache"] = "0"
    site.http["session_idle_timeout"] = "2m"
    site.http["session_lifetime"] = "3m"
    return site


def _threads(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError(f"no Threads line for {pid}")


def _tcp_peers(pid):
    """Remote ports of the TCP sockets process `pid` holds open."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


def test_parent_starts_no_thread_and_opens_no_connection(server, new_browser, redis, emulator):
    php_server(new_browser().login(server.url("/demarches/"), identity="testfc1").final)
    parent = server.proc.pid
    assert _threads(parent) == 1, "a thread in the parent would not survive fork"
    peers = _tcp_peers(parent)
    assert redis.port not in peers and emulator.port not in peers, peers
    children_peers = set().union(*(_tcp_peers(pid) for pid in server.worker_pids()))
    assert redis.port in children_peers, "the children, not the parent, talk to Redis"


def test_session_made_in_one_child_is_honoured_by_the_others(server, pki, site):
    browser = Browser(pki.ca, server.base)
    php_server(browser.login(server.url("/demarches/"), identity="elodie").final)
    cookie = f"{SESSION}={browser.cookie(SESSION)}"
    # Four connections open at once: under prefork each one holds a child of its own.
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    conns = [http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=15) for _ in range(4)]
    for conn in conns:
        conn.connect()
    for i, conn in enumerate(conns):
        conn.request("GET", f"/demarches/spread-{i}", headers={"Cookie": cookie})
    for conn in conns:
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, body[:500]
        assert json.loads(body)["SESAME_CLAIM_GIVEN_NAME"] == "Élodie"
        conn.close()
    pids = {pid for pid, _, path, status in server.access_log() if path.startswith("/demarches/spread-") and status == "200"}
    if site.mpm == "prefork":
        assert len(pids) >= 2, f"all requests went to one process: {pids}"
