"""Sesame's own cookies (session, login, logout) never reach the application, in protected and
unprotected locations alike, through FastCGI and proxy_pass (Apache: php-fpm through proxy_fcgi,
mod_php, mod_proxy_http); the application's cookies do."""

import pytest

from e2e_rig.checks import php_server
from e2e_rig import apache, nginx

# The standard site plus PHP without protection, and (nginx) an unprotected location whose
# try_files hands the request to the protected PHP location (an internal redirect).
LOCATIONS = {"nginx": nginx.STANDARD_LOCATIONS + """\
        location /php-public/ {
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /app-cookie-var/ {
            proxy_set_header X-Cookie-Var $http_cookie;
            proxy_pass http://127.0.0.1:{{ECHO_PORT}};
        }
        location /via-try-files/ {
            try_files /nonexistent /demarches/from-try-files;
        }
""", "apache": apache.STANDARD_LOCATIONS + """\
AliasMatch "^/php-public/" "{{PHP_DIR}}/index.php"
<Location /php-public/>
{{PHP_HANDLER}}</Location>
"""}
# PHP behind Apache both ways.
APACHE_VARIANTS = {"event+php-fpm": {"mpm": "event", "php": "fpm"}, "prefork+mod_php": {"mpm": "prefork", "php": "mod_php"}}

APP_COOKIES = {"PHPSESSID": "app-session-1", "theme": "dark"}
# What a browser may carry besides the session: a pending login, a pending logout (forged values
# here; Sesame's names are what count).
OTHER_SESAME_COOKIES = {"__Host-sesame-login": "pending-login", "__Host-sesame-logout": "bye"}


@pytest.fixture(scope="module")
def site(make_site, server_kind):
    return make_site(locations=LOCATIONS[server_kind])


def _logged_in_with_app_cookies(browser, server):
    browser.login(server.url("/demarches/"), identity="testfc1")
    session = browser.cookie("__Host-sesame")
    assert session, browser.cookies()
    for name, value in {**APP_COOKIES, **OTHER_SESAME_COOKIES}.items():
        browser.set_cookie(name, value)
    return session


def _cookie_pairs(header):
    return dict(p.strip().split("=", 1) for p in (header or "").split(";") if "=" in p)


SESAME_NAMES = {"__Host-sesame", *OTHER_SESAME_COOKIES}


def _assert_only_app_cookies(header, session, body):
    pairs = _cookie_pairs(header)
    assert APP_COOKIES.items() <= pairs.items(), header
    assert not SESAME_NAMES & set(pairs), header
    assert session not in body
    for value in OTHER_SESAME_COOKIES.values():
        assert value not in body


def _echo_cookie(resp):
    assert resp.status_code == 200, resp.text[:500]
    values = [v for k, v in resp.json()["headers"] if k.lower() == "cookie"]
    assert len(values) <= 1, values
    return values[0] if values else None


@pytest.mark.parametrize("path", ["/demarches/page", "/php-public/page"])
def test_php_sees_its_own_cookies_and_never_sesames(path, browser, server):
    session = _logged_in_with_app_cookies(browser, server)
    resp = browser.get(server.url(path))
    _assert_only_app_cookies(php_server(resp).get("HTTP_COOKIE"), session, resp.text)


@pytest.mark.parametrize("path", ["/app/page", "/app-public/page"])
def test_proxied_app_sees_its_own_cookies_and_never_sesames(path, browser, server):
    session = _logged_in_with_app_cookies(browser, server)
    resp = browser.get(server.url(path))
    _assert_only_app_cookies(_echo_cookie(resp), session, resp.text)


def test_cookie_header_with_only_sesames_cookies_is_not_forwarded(browser, server):
    browser.login(server.url("/demarches/"), identity="testfc1")
    browser.drop_cookie("fc_session_id")  # the provider's (same host): only Sesame's are left
    assert "HTTP_COOKIE" not in php_server(browser.get(server.url("/demarches/page")))
    assert _echo_cookie(browser.get(server.url("/app-public/page"))) is None


def test_session_still_opens_the_protected_location_after_its_cookie_was_hidden(browser, server):
    # Logged in; each request is seen again by Sesame after the cookie left the headers.
    real = php_server(browser.login(server.url("/demarches/"), identity="testfc1").final)
    for _ in range(2):
        php_vars = php_server(browser.get(server.url("/demarches/again")))
        assert php_vars["REMOTE_USER"] == real["REMOTE_USER"]


@pytest.mark.only("nginx", reason="try_files; Apache's internal redirects are in test_internal_redirects")
def test_session_opens_the_protected_target_of_an_internal_redirect(browser, server):
    # /via-try-files/ (unprotected) removes the cookie from the headers, then try_files sends
    # the request to /demarches/: Sesame still reads the session there.
    real = php_server(browser.login(server.url("/demarches/"), identity="testfc1").final)
    browser.drop_cookie("fc_session_id")
    resp = browser.get(server.url("/via-try-files/x"), allow_redirects=False)
    php_vars = php_server(resp)
    assert php_vars["REMOTE_USER"] == real["REMOTE_USER"]
    assert "HTTP_COOKIE" not in php_vars


@pytest.mark.only("nginx", reason="nginx's $http_cookie variable; Apache has no such variable")
def test_http_cookie_variable_no_longer_shows_sesames_cookies(browser, server):
    session = _logged_in_with_app_cookies(browser, server)
    resp = browser.get(server.url("/app-cookie-var/page"))
    assert resp.status_code == 200, resp.text[:500]
    var = [v for k, v in resp.json()["headers"] if k.lower() == "x-cookie-var"]
    assert len(var) == 1, resp.json()["headers"]
    _assert_only_app_cookies(var[0], session, resp.text)
