"""The rig itself: every real service starts, answers, and nginx serves TLS without the module.

These run before the module exists, so a broken harness is told apart from a broken module.
"""

import subprocess
import time
from types import SimpleNamespace

import pytest
import requests

from e2e_rig.nginx import NginxSite
from e2e_rig.procs import port_open


@pytest.fixture(scope="module")
def plain_nginx(pki, redis, php, echo_app, module_tmp):
    env = SimpleNamespace(pki=pki, redis=redis, emulator=None, php=php, echo=echo_app)
    site = NginxSite(env, module_tmp / "plain", sesame=False)
    server = site.start()
    yield server
    server.stop()
    assert not port_open(site.port), "nginx still listening after stop"


def test_redis_answers_ping(redis):
    assert redis.command("PING").strip() == "PONG"


def test_redis_restarts_on_the_same_port(redis):
    port = redis.port
    redis.command("SET", "rig:probe", "1")
    redis.stop()
    assert not port_open(port)
    redis.start()
    assert redis.port == port
    assert redis.command("PING").strip() == "PONG"
    # No persistence: a restart is an empty Redis, like a flushed one.
    assert redis.command("EXISTS", "rig:probe").strip() == "0"


def test_plain_nginx_serves_static_file_over_tls(plain_nginx, pki):
    r = requests.get(plain_nginx.url("/public/"), verify=str(pki.ca), timeout=5)
    assert r.status_code == 200
    assert r.text == "public page\n"


def test_plain_nginx_runs_php_backend_showing_server_vars(plain_nginx, pki):
    r = requests.get(plain_nginx.url("/demarches/page?x=1"), verify=str(pki.ca), timeout=5,
                     headers={"X-Probe": "été".encode()})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json"), r.text[:500]
    server = r.json()
    assert server["REQUEST_URI"] == "/demarches/page?x=1"
    assert server["QUERY_STRING"] == "x=1"
    assert list(server) == sorted(server), "backend must print $_SERVER keys sorted"
    assert server["HTTP_X_PROBE"] == "été"
    assert "REMOTE_USER" not in server


def test_php_backend_refuses_invalid_utf8_loudly(plain_nginx, pki):
    r = requests.get(plain_nginx.url("/demarches/"), verify=str(pki.ca), timeout=5,
                     headers={"X-Probe": "été".encode("latin-1")})
    assert r.status_code == 500
    assert "HTTP_X_PROBE" in r.text


def test_plain_nginx_proxies_to_echo_app(plain_nginx, pki):
    r = requests.get(plain_nginx.url("/app/x?y=2"), verify=str(pki.ca), timeout=5, headers={"X-Probe": "1"})
    assert r.status_code == 200
    body = r.json()
    assert body["path"] == "/app/x?y=2"
    assert ["X-Probe", "1"] in body["headers"]


def test_plain_nginx_config_passes_nginx_t(pki, redis, php, echo_app, module_tmp):
    env = SimpleNamespace(pki=pki, redis=redis, emulator=None, php=php, echo=echo_app)
    site = NginxSite(env, module_tmp / "plain-t", sesame=False)
    rc, err = site.config_test()
    assert rc == 0, err
    assert "test is successful" in err
    rc, err = site.config_test("""\
daemon off;
worker_processes one;
events { }
http { }
""")
    assert rc != 0
    assert "worker_processes" in err


def test_emulator_publishes_discovery_for_its_issuer(emulator):
    r = emulator.http.get(emulator.issuer + "/.well-known/openid-configuration", timeout=5)
    assert r.status_code == 200
    doc = r.json()
    assert doc["issuer"] == emulator.issuer
    assert doc["authorization_endpoint"].startswith(emulator.issuer)


def test_php_fpm_stops_with_its_workers(e2e_tmp):
    from e2e_rig.services import PhpFpm
    fpm = PhpFpm(e2e_tmp / "php-fpm-probe")
    from e2e_rig.procs import _children_of
    # The master listens before it has forked its workers: give them a moment on a busy machine.
    deadline = time.monotonic() + 10
    while not (kids := _children_of(fpm.proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kids, "php-fpm started no worker"
    fpm.stop()
    assert not port_open(fpm.port)
    for kid in kids:
        out = subprocess.run(["ps", "-o", "stat=", "-p", str(kid)], capture_output=True, text=True)
        assert out.stdout.strip() in ("", "Z"), f"php-fpm worker {kid} survived"


def test_browser_logs_in_at_the_emulator_and_gets_code_state_iss(emulator, pki):
    """The Browser helper drives the emulator's login form exactly like a user would."""
    import secrets
    from urllib.parse import parse_qs, urlencode, urlsplit

    from e2e_rig.browser import Browser
    from e2e_rig.services import new_client

    client = new_client("https://127.0.0.1:9")
    emulator.add_client(client)
    state, nonce = secrets.token_hex(32), secrets.token_hex(32)
    authorize = emulator.issuer + "/authorize?" + urlencode({
        "client_id": client["client_id"], "redirect_uri": client["redirect_uris"][0],
        "response_type": "code", "scope": "openid given_name family_name", "acr_values": "eidas1",
        "state": state, "nonce": nonce,
    })
    browser = Browser(pki.ca)
    callback = browser.authorize(authorize, identity="elodie")
    assert callback.startswith(client["redirect_uris"][0] + "?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert params["state"] == state
    assert params["iss"] == emulator.issuer
    assert params["code"]
    cancelled = Browser(pki.ca).authorize(authorize, action="cancel")
    assert parse_qs(urlsplit(cancelled).query)["error"] == ["access_denied"]
