"""`sesame_pass_access_token` / `SesamePassAccessToken` with FranceConnect: the login's access
token reaches PHP byte for byte on the first request after the callback at a location that asks
for it, only once, never after its `expires_in`, never in a proxied request header unless the
configuration names it, revoked at logout while still kept (RFC 7009), and never in a log."""

import time

import pytest

from e2e_rig.checks import php_server

LOCATIONS = {"nginx": """\
        location / { }
        location /demarches/ {
            sesame fc;
            sesame_pass_access_token on;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /plain/ {
            sesame fc;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /app/ {
            sesame fc;
            sesame_pass_access_token on;
            include sesame_proxy_params;
            proxy_pass http://127.0.0.1:{{ECHO_PORT}};
        }
        location /api/ {
            sesame fc;
            sesame_pass_access_token on;
            include sesame_proxy_params;
            proxy_set_header Authorization "Bearer $sesame_access_token";
            proxy_pass http://127.0.0.1:{{ECHO_PORT}};
        }
        location = /logout {
            sesame_logout fc;
        }
""", "apache": """\
AliasMatch "^/(demarches|plain)/" "{{PHP_DIR}}/index.php"
<Location /demarches/>
    AuthType Sesame
    SesameUse fc
    SesamePassAccessToken On
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /plain/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /app/>
    AuthType Sesame
    SesameUse fc
    SesamePassAccessToken On
    SesamePassHeaders On
    Require valid-user
    ProxyPass "http://127.0.0.1:{{ECHO_PORT}}/app/"
</Location>
<Location /api/>
    AuthType Sesame
    SesameUse fc
    SesamePassAccessToken On
    SesamePassHeaders On
    RequestHeader set Authorization "Bearer %{SESAME_ACCESS_TOKEN}e"
    Require valid-user
    ProxyPass "http://127.0.0.1:{{ECHO_PORT}}/api/"
</Location>
<LocationMatch "^/logout$">
    SetHandler sesame-logout
    SesameLogout fc
</LocationMatch>
"""}

HANDED = ("SESAME_ACCESS_TOKEN", "SESAME_ACCESS_TOKEN_EXPIRES", "SESAME_SCOPE")


@pytest.fixture(scope="module")
def site(make_site, server_kind):
    site = make_site(locations=LOCATIONS[server_kind])
    if server_kind == "apache":
        site.extra_modules.append(("headers_module", "mod_headers.so"))
    # A hanging revocation endpoint is cut short by this (see the revocation tests).
    site.providers["fc"]["http_timeout"] = "1s"
    return site


def token_status(emulator, token):
    r = emulator.http.post(emulator.base + "/_emulator/token-status", json={"token": token},
                           timeout=10)
    r.raise_for_status()
    return r.json()


def revocations(emulator):
    r = emulator.http.get(emulator.base + "/_emulator/revocations", timeout=10)
    r.raise_for_status()
    return r.json()


def echoed_headers(resp):
    assert resp.status_code == 200, resp.text[:300]
    return resp.json()["headers"]


def test_the_first_request_after_the_login_hands_the_token_to_php_once(new_browser, server,
                                                                         emulator):
    browser = new_browser()
    before = int(time.time())
    first = php_server(browser.login(server.url("/demarches/")).final)
    token = first["SESAME_ACCESS_TOKEN"]
    # Byte for byte the provider's token: the emulator knows it as active, with its scope.
    status = token_status(emulator, token)
    assert status["active"] is True and status["kind"] == "access_token", status
    assert first["SESAME_SCOPE"] == status["scope"]
    assert "openid" in first["SESAME_SCOPE"].split()
    expires = int(first["SESAME_ACCESS_TOKEN_EXPIRES"])
    assert before + 55 <= expires <= int(time.time()) + 60, (before, expires)
    second = php_server(browser.get(server.url("/demarches/")))
    assert second["SESAME_USER"] == first["SESAME_USER"]
    for name in HANDED:
        assert name not in second, name


def test_a_location_without_the_option_neither_gets_nor_consumes_the_token(new_browser, server):
    browser = new_browser()
    plain = php_server(browser.login(server.url("/plain/")).final)
    for name in HANDED:
        assert name not in plain, name
    handed = php_server(browser.get(server.url("/demarches/")))
    assert handed["SESAME_ACCESS_TOKEN"]


def test_two_requests_racing_for_the_token_get_it_once(new_browser, server):
    from concurrent.futures import ThreadPoolExecutor
    browser = new_browser()
    php_server(browser.login(server.url("/plain/")).final)

    def one():
        return php_server(browser.get(server.url("/demarches/")))
    with ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(lambda _: one(), range(4)))
    handed = [s["SESAME_ACCESS_TOKEN"] for s in seen if "SESAME_ACCESS_TOKEN" in s]
    assert len(handed) == 1, [sorted(k for k in s if "TOKEN" in k) for s in seen]


def test_the_token_is_never_handed_over_after_its_expiry(new_browser, server, emulator, redis):
    emulator.control(access_token_ttl=2)
    kept_before = set(redis.keys("sesame:*:t:*"))
    browser = new_browser()
    php_server(browser.login(server.url("/plain/")).final)
    assert set(redis.keys("sesame:*:t:*")) - kept_before, "kept until its expiry"
    time.sleep(3)
    late = php_server(browser.get(server.url("/demarches/")))
    for name in HANDED:
        assert name not in late, name
    # Not kept in Redis past its lifetime either (other tests' tokens may still be).
    assert set(redis.keys("sesame:*:t:*")) <= kept_before


def test_the_token_reaches_a_proxied_app_only_in_the_header_the_configuration_names(new_browser,
                                                                                  server):
    browser = new_browser()
    named = echoed_headers(browser.login(server.url("/api/")).final)
    authorization = [v for k, v in named if k.lower() == "authorization"]
    assert len(authorization) == 1 and authorization[0].startswith("Bearer "), named
    token = authorization[0][len("Bearer "):]
    assert len(token) >= 32
    others = [(k, v) for k, v in named if k.lower() != "authorization"]
    assert not [kv for kv in others if token in kv[1]], others
    # A proxied location with the option but no named header: the "all claims" header set
    # never carries it.
    browser = new_browser()
    php_server(browser.login(server.url("/plain/")).final)
    headers = echoed_headers(browser.get(server.url("/app/")))
    assert [k for k, _ in headers if k.lower().startswith("x-sesame-")], headers
    assert not [kv for kv in headers if "token" in kv[0].lower()
                or kv[0].lower() == "authorization"], headers


def test_logout_revokes_a_token_still_kept(new_browser, server, emulator):
    browser = new_browser()
    php_server(browser.login(server.url("/plain/")).final)
    already = len(revocations(emulator))
    out = browser.get(server.url("/logout"))
    assert out.status_code == 303 and "/session/end?" in out.headers["Location"]
    done = revocations(emulator)[already:]
    assert [(r["hint"], r["outcome"]) for r in done] == [("access_token", "access_token")], done


def test_a_token_handed_over_is_the_applications_and_is_not_revoked(new_browser, server,
                                                                    emulator):
    browser = new_browser()
    token = php_server(browser.login(server.url("/demarches/")).final)["SESAME_ACCESS_TOKEN"]
    already = len(revocations(emulator))
    assert browser.get(server.url("/logout")).status_code == 303
    assert revocations(emulator)[already:] == []
    assert token_status(emulator, token)["active"] is True


def test_a_hanging_revocation_endpoint_delays_the_logout_by_at_most_http_timeout(new_browser,
                                                                                server, emulator):
    browser = new_browser()
    php_server(browser.login(server.url("/plain/")).final)
    emulator.control(revocation_delay=8)
    offset = server.log_size()
    started = time.monotonic()
    out = browser.get(server.url("/logout"))
    took = time.monotonic() - started
    assert out.status_code == 303 and "/session/end?" in out.headers["Location"]
    assert took < 2.5, f"logout took {took:.2f}s with http_timeout 1s"
    log = server.log_since(offset)
    assert "access_token of user" in log and "could not be revoked at logout" in log, log[-2000:]


def test_a_failing_revocation_endpoint_only_costs_a_log_line(new_browser, server, emulator):
    browser = new_browser()
    php_server(browser.login(server.url("/plain/")).final)
    emulator.control(revocation_status=503)
    offset = server.log_size()
    out = browser.get(server.url("/logout"))
    assert out.status_code == 303 and "/session/end?" in out.headers["Location"]
    log = server.log_since(offset)
    assert "could not be revoked at logout" in log and "HTTP 503" in log, log[-2000:]
    # The local session is gone all the same.
    assert browser.get(server.url("/plain/")).status_code in (302, 303)


def test_no_token_appears_in_any_log_file(new_browser, server, emulator, redis, php):
    tokens = []
    for path in ("/demarches/", "/api/"):
        browser = new_browser()
        final = browser.login(server.url(path)).final
        if path == "/demarches/":
            tokens.append(php_server(final)["SESAME_ACCESS_TOKEN"])
        else:
            auth = [v for k, v in echoed_headers(final) if k.lower() == "authorization"]
            tokens.append(auth[0][len("Bearer "):])
        browser.get(server.url("/logout"))
    # And a token kept until logout, then revoked: the revocation is logged, the token is not.
    browser = new_browser()
    php_server(browser.login(server.url("/plain/")).final)
    browser.get(server.url("/logout"))
    assert len(tokens) == 2 and all(len(t) >= 32 for t in tokens)
    dirs = [server.site.prefix / "logs", emulator.dir, redis.dir, php.dir]
    # Every file these processes write: error and access logs, stderr captures.
    files = [f for d in dirs for f in d.rglob("*") if f.is_file()]
    assert any(f.name == "error.log" for f in files), files
    for f in files:
        text = f.read_text(errors="replace")
        for token in tokens:
            assert token not in text, f"access token found in {f}"
