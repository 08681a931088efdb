"""Core lines about a request land in the error log of the server / location that handled it,
with the reference id its page shows, at that log's level: nginx's server-level and
location-level `error_log`, Apache's per-virtual-host `ErrorLog`; never in the main log.

Lines written while `begin` runs (a forged callback) and while a job runs (a login, a refused
token) are both checked: on nginx a job's lines are written on the event loop once the job
completes."""

import re
import secrets

import pytest

from e2e_rig.browser import Browser
from e2e_rig.procs import free_port
from e2e_rig.services import new_client

NGINX_SERVER_B = """\
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root html;
        error_log logs/b.log info;
        location / {{ }}
        location /b/app/ {{
            sesame fcb;
            proxy_pass http://127.0.0.1:{echo};
        }}
        location /quiet/ {{
            error_log logs/q.log warn;
            location /quiet/app/ {{
                sesame fcq;
                proxy_pass http://127.0.0.1:{echo};
            }}
        }}
    }}
"""

APACHE_VHOST = """\
Listen 127.0.0.1:{port}
<VirtualHost 127.0.0.1:{port}>
    ServerName 127.0.0.1
    SSLEngine on
    SSLCertificateFile "{cert}"
    SSLCertificateKeyFile "{key}"
    ErrorLog "{prefix}/logs/{log}"
    LogLevel {level}
{sesame}
    <Location {path}app/>
        AuthType Sesame
        SesameUse {provider}
        Require valid-user
        ProxyPass "http://127.0.0.1:{echo}{path}app/"
    </Location>
</VirtualHost>
"""


class Place:
    """Where a request lands: its base URL, the path prefix of its provider, its error log."""

    def __init__(self, base, path, provider, log):
        self.base, self.path, self.provider, self.log = base, path, provider, log

    def url(self, rest):
        return self.base + self.path + rest

    def size(self):
        return self.log.stat().st_size if self.log.exists() else 0

    def since(self, offset):
        if not self.log.exists():
            return ""
        with open(self.log, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")


def _client(base, path):
    client = new_client(base)
    client["redirect_uris"] = [f"{base}{path}callback"]
    client["post_logout_redirect_uris"] = [f"{base}{path}logged-out"]
    return client


@pytest.fixture(scope="module")
def places(make_site, start_server, server_kind, env):
    """The standard site (main log), B (its own log, level info) and Q (its own log, level
    warn): on nginx a second `server` with its `error_log` and, inside it, a location with
    another; on Apache two virtual hosts with their own `ErrorLog`."""
    site = make_site()
    b_port = free_port()
    q_port = b_port if server_kind == "nginx" else free_port()
    b_base, q_base = f"https://127.0.0.1:{b_port}", f"https://127.0.0.1:{q_port}"
    clients = {"fcb": _client(b_base, "/b/"), "fcq": _client(q_base, "/quiet/")}
    providers = {}
    for name, client in clients.items():
        site.clients.append(client)
        site.files[f"conf/{name}.client_secret"] = client["client_secret"] + "\n"
        providers[name] = site.fc_provider(client, secret_file=f"conf/{name}.client_secret")
    if server_kind == "nginx":
        site.providers.update(providers)
        site.extra_http = NGINX_SERVER_B.format(port=b_port, cert=env.pki.cert, key=env.pki.key,
                                                echo=env.echo.port)
    else:
        vhosts = []
        for name, port, path, log, level in (("fcb", b_port, "/b/", "b.log", "info"),
                                             ("fcq", q_port, "/quiet/", "q.log", "warn")):
            site.files[f"conf/{name}.secret"] = secrets.token_hex(32)
            block = site.sesame_block(http={"secret_file": f"conf/{name}.secret"},
                                      providers={name: providers[name]})
            vhosts.append(APACHE_VHOST.format(
                port=port, cert=env.pki.cert, key=env.pki.key, prefix=site.prefix, log=log,
                level=level, path=path, provider=name, echo=env.echo.port,
                sesame="\n".join("    " + line for line in block.splitlines())))
        site.extra = "\n".join(vhosts)
    server = start_server(site)
    logs = site.prefix / "logs"
    return (server, Place(b_base, "/b/", "fcb", logs / "b.log"),
            Place(q_base, "/quiet/", "fcq", logs / "q.log"))


def _offsets(server, *places):
    return server.log_size(), [p.size() for p in places]


def _reference(resp):
    refs = set(re.findall(r"\b[0-9a-f]{12}\b", resp.text))
    assert refs, resp.text[:1500]
    return refs


def test_a_forged_callback_is_logged_in_the_log_of_its_server_and_location(places, pki):
    server, b, q = places
    main_at, (b_at, q_at) = _offsets(server, b, q)
    for place in (b, q):
        resp = Browser(pki.ca, place.base).get(place.url("callback?state=forged&code=abc"))
        assert resp.status_code == 400
        refs = _reference(resp)
        logged = place.since(b_at if place is b else q_at)
        assert any(r in logged for r in refs), (place.log, logged[-2000:])
        assert f'provider "{place.provider}": state does not match' in logged, logged[-2000:]
        assert not any(r in server.log_since(main_at) for r in refs)
    # Each line in one log only: Q's forged callback is not in B's log, nor B's in Q's.
    assert 'provider "fcq"' not in b.since(b_at)
    assert 'provider "fcb"' not in q.since(q_at)
    assert 'provider "fcb"' not in server.log_since(main_at)
    assert 'provider "fcq"' not in server.log_since(main_at)


def test_a_login_job_logs_in_its_server_log_at_that_log_level(places, pki):
    server, b, q = places
    main_at, (b_at, q_at) = _offsets(server, b, q)
    for place in (b, q):
        login = Browser(pki.ca, place.base).login(place.url("app/"), identity="testfc1")
        assert login.final.status_code == 200, login.hops
    # The job's info line: in B's log (level info) ...
    assert re.search(r'provider "fcb": login of user \S+ \(acr eidas1\)', b.since(b_at)), b.since(b_at)
    # ... and not in Q's (level warn drops it), nor anywhere else.
    assert "login of user" not in q.since(q_at), q.since(q_at)
    main = server.log_since(main_at)
    assert 'provider "fcb"' not in main and 'provider "fcq"' not in main, main[-2000:]


@pytest.mark.parametrize("where", ["b", "q"])
def test_a_refused_token_is_logged_with_its_reference_in_its_server_log(places, pki, emulator, where):
    server, b, q = places
    place = b if where == "b" else q
    other = q if where == "b" else b
    main_at, (b_at, q_at) = _offsets(server, b, q)
    other_at = q_at if where == "b" else b_at
    emulator.misbehave("wrong_aud")
    browser = Browser(pki.ca, place.base)
    login = browser.login(place.url("app/"), stop_before_callback=True)
    page = browser.get(login.callback_url)
    assert page.status_code >= 400
    refs = _reference(page)
    logged = place.since(b_at if place is b else q_at)
    assert any(r in logged for r in refs), (place.log, logged[-2000:])
    assert f'provider "{place.provider}": login failed' in logged, logged[-2000:]
    assert not any(r in server.log_since(main_at) for r in refs)
    assert not any(r in other.since(other_at) for r in refs)
