"""`sesame_pass_access_token` with ProConnect: its tokens live an hour and come with a refresh
token, for ProConnect resource servers. The token reaches PHP on every request while valid, is
refreshed with the refresh token once expired (the emulator's `refresh_token` grant, rotated),
and both are revoked at logout."""

import threading
import time

import pytest

from e2e_rig.checks import php_server
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    _pc_emulator_back_to_normal, make_pc_site, pc_emulator, start_pc_site)

LOCATIONS = {"nginx": """\
        location / { }
        location /agents/ {
            sesame pc;
            sesame_pass_access_token on;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location = /agents/logout {
            sesame_logout pc;
        }
""", "apache": """\
AliasMatch "^/agents/" "{{PHP_DIR}}/index.php"
<Location /agents/>
    AuthType Sesame
    SesameUse pc
    SesamePassAccessToken On
    Require valid-user
{{PHP_HANDLER}}</Location>
<LocationMatch "^/agents/logout$">
    AuthType None
    Require all granted
    SetHandler sesame-logout
    SesameLogout pc
</LocationMatch>
"""}


@pytest.fixture(scope="module")
def site(make_site, server_kind, pc_emulator):
    return make_pc_site(make_site, pc_emulator, locations=LOCATIONS[server_kind])


@pytest.fixture(scope="module")
def server(site, pc_emulator, start_server):
    return start_pc_site(site, pc_emulator, start_server)


def token_status(emulator, token):
    r = emulator.http.post(emulator.base + "/_emulator/token-status", json={"token": token},
                           timeout=10)
    r.raise_for_status()
    return r.json()


def revocations(emulator):
    r = emulator.http.get(emulator.base + "/_emulator/revocations", timeout=10)
    r.raise_for_status()
    return r.json()


def test_the_token_reaches_every_request_while_valid(new_browser, server, pc_emulator):
    browser = new_browser()
    first = php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    token = first["SESAME_ACCESS_TOKEN"]
    assert token_status(pc_emulator, token)["active"] is True
    assert int(first["SESAME_ACCESS_TOKEN_EXPIRES"]) > time.time() + 3000
    again = php_server(browser.get(server.url("/agents/")))
    assert again["SESAME_ACCESS_TOKEN"] == token
    assert again["SESAME_SCOPE"] == first["SESAME_SCOPE"]


def test_an_expired_token_is_refreshed_with_the_refresh_token(new_browser, server, pc_emulator):
    pc_emulator.control(access_token_ttl=15)
    pc_emulator.clear_requests()
    browser = new_browser()
    first = php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    old = first["SESAME_ACCESS_TOKEN"]
    # Within 10 s of its end a token is refreshed rather than handed over.
    time.sleep(6)
    offset = server.log_size()
    fresh = php_server(browser.get(server.url("/agents/")))
    new = fresh["SESAME_ACCESS_TOKEN"]
    assert new != old
    assert token_status(pc_emulator, new)["active"] is True
    assert int(fresh["SESAME_ACCESS_TOKEN_EXPIRES"]) > int(first["SESAME_ACCESS_TOKEN_EXPIRES"])
    assert "refreshed" in server.log_since(offset)
    refreshes = [r for r in pc_emulator.requests_to("/token")
                 if r["form"] and ["grant_type", "refresh_token"] in r["form"]]
    assert len(refreshes) == 1, refreshes
    # The fresh token is kept: the next request gets it without another refresh.
    again = php_server(browser.get(server.url("/agents/")))
    assert again["SESAME_ACCESS_TOKEN"] == new


def test_requests_racing_to_refresh_present_the_refresh_token_once(new_browser, server,
                                                                   pc_emulator):
    """Two requests of one session find its token expired at once (two workers, or a page and
    its script): one refreshes, the other waits for its token. Presenting the rotated refresh
    token twice would fail the second request, and a provider may revoke the grant for it."""
    pc_emulator.control(access_token_ttl=15)
    browser = new_browser()
    first = php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    old = first["SESAME_ACCESS_TOKEN"]
    time.sleep(6)
    # The token endpoint answers slowly, so that both requests are in the refresh at once.
    pc_emulator.control(token_delay=1.5)
    pc_emulator.clear_requests()
    twin = new_browser()
    for name, value in browser.cookies().items():
        twin.set_cookie(name, value)
    results = {}

    def fetch(name, who):
        results[name] = php_server(who.get(server.url("/agents/"), timeout=30))

    threads = [threading.Thread(target=fetch, args=(n, b)) for n, b in (("a", browser), ("b", twin))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        pc_emulator.control(token_delay=0)
    tokens = {name: got.get("SESAME_ACCESS_TOKEN") for name, got in results.items()}
    assert tokens["a"] and tokens["a"] == tokens["b"] and tokens["a"] != old, tokens
    refreshes = [r for r in pc_emulator.requests_to("/token")
                 if r["form"] and ["grant_type", "refresh_token"] in r["form"]]
    assert len(refreshes) == 1, refreshes
    assert token_status(pc_emulator, tokens["a"])["active"] is True


def test_logout_revokes_the_access_and_the_refresh_token(new_browser, server, pc_emulator):
    browser = new_browser()
    token = php_server(browser.login(server.url("/agents/"),
                                     identity="test@fia1.fr").final)["SESAME_ACCESS_TOKEN"]
    already = len(revocations(pc_emulator))
    out = browser.get(server.url("/agents/logout"))
    assert out.status_code == 303
    done = sorted((r["hint"], r["outcome"]) for r in revocations(pc_emulator)[already:])
    assert done == [("access_token", "access_token"), ("refresh_token", "refresh_token")], done
    status = token_status(pc_emulator, token)
    assert status["revoked"] is True and status["active"] is False
