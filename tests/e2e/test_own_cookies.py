"""Sesame's own cookies (session, login, logout) never reach the application, in protected and
unprotected locations alike, through FastCGI and proxy_pass; the application's cookies do."""

import pytest

from e2e_rig.checks import php_server
from e2e_rig.nginx import STANDARD_LOCATIONS

# The standard site plus PHP without protection, and an unprotected location whose try_files
# hands the request to the protected PHP location (an internal redirect).
LOCATIONS = STANDARD_LOCATIONS + """\
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
"""

APP_COOKIES = {"PHPSESSID": "app-session-1", "theme": "dark"}
# What a browser may carry besides the session: a pending login, a pending logout (forged values
# here; Sesame's names are what count).
OTHER_SESAME_COOKIES = {"__Host-sesame-login": "pending-login", "__Host-sesame-logout": "bye"}


@pytest.fixture(scope="module")
def nginx_site(make_site):
    return make_site(locations=LOCATIONS)


def _logged_in_with_app_cookies(browser, nginx):
    browser.login(nginx.url("/demarches/"), identity="testfc1")
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
def test_php_sees_its_own_cookies_and_never_sesames(path, browser, nginx):
    session = _logged_in_with_app_cookies(browser, nginx)
    resp = browser.get(nginx.url(path))
    _assert_only_app_cookies(php_server(resp).get("HTTP_COOKIE"), session, resp.text)


@pytest.mark.parametrize("path", ["/app/page", "/app-public/page"])
def test_proxied_app_sees_its_own_cookies_and_never_sesames(path, browser, nginx):
    session = _logged_in_with_app_cookies(browser, nginx)
    resp = browser.get(nginx.url(path))
    _assert_only_app_cookies(_echo_cookie(resp), session, resp.text)


def test_cookie_header_with_only_sesames_cookies_is_not_forwarded(browser, nginx):
    browser.login(nginx.url("/demarches/"), identity="testfc1")
    browser.drop_cookie("fc_session_id")  # the provider's (same host): only Sesame's are left
    assert "HTTP_COOKIE" not in php_server(browser.get(nginx.url("/demarches/page")))
    assert _echo_cookie(browser.get(nginx.url("/app-public/page"))) is None


def test_session_still_opens_the_protected_location_after_its_cookie_was_hidden(browser, nginx):
    # Logged in; each request is seen again by Sesame after the cookie left the headers.
    real = php_server(browser.login(nginx.url("/demarches/"), identity="testfc1").final)
    for _ in range(2):
        server = php_server(browser.get(nginx.url("/demarches/again")))
        assert server["REMOTE_USER"] == real["REMOTE_USER"]


def test_session_opens_the_protected_target_of_an_internal_redirect(browser, nginx):
    # /via-try-files/ (unprotected) removes the cookie from the headers, then try_files sends
    # the request to /demarches/: Sesame still reads the session there.
    real = php_server(browser.login(nginx.url("/demarches/"), identity="testfc1").final)
    browser.drop_cookie("fc_session_id")
    resp = browser.get(nginx.url("/via-try-files/x"), allow_redirects=False)
    server = php_server(resp)
    assert server["REMOTE_USER"] == real["REMOTE_USER"]
    assert "HTTP_COOKIE" not in server


def test_http_cookie_variable_no_longer_shows_sesames_cookies(browser, nginx):
    session = _logged_in_with_app_cookies(browser, nginx)
    resp = browser.get(nginx.url("/app-cookie-var/page"))
    assert resp.status_code == 200, resp.text[:500]
    var = [v for k, v in resp.json()["headers"] if k.lower() == "x-cookie-var"]
    assert len(var) == 1, resp.json()["headers"]
    _assert_only_app_cookies(var[0], session, resp.text)
