"""Requests that are not page navigations, `sesame_unauth_action`, and what another site may make
the browser do: scripts without a session get a 401 with JSON (never a redirect they cannot
follow, never a login cookie); optional login; a logout link from another site asks first; other
sites' navigations cannot evict a login in progress. On nginx and Apache (`SesameUnauthAction`)."""

import json
from urllib.parse import urljoin

import pytest

from e2e_rig.checks import LOGIN, SESSION, assert_redirects_to_provider, php_server
from e2e_rig.browser import set_cookie_headers

LOCATIONS = {"nginx": """\
        location / { }
        location /demarches/ {
            sesame fc;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /explicit/ {
            sesame fc;
            sesame_unauth_action login;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /api/ {
            sesame fc;
            sesame_unauth_action 401;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /optional/ {
            sesame fc;
            sesame_unauth_action pass;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location = /logout {
            sesame_logout fc;
        }
""", "apache": """\
AliasMatch "^/(demarches|explicit|api|optional)/" "{{PHP_DIR}}/index.php"
<Location /demarches/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /explicit/>
    AuthType Sesame
    SesameUse fc
    SesameUnauthAction login
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /api/>
    AuthType Sesame
    SesameUse fc
    SesameUnauthAction 401
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /optional/>
    AuthType Sesame
    SesameUse fc
    SesameUnauthAction pass
    Require valid-user
{{PHP_HANDLER}}</Location>
<LocationMatch "^/logout$">
    SetHandler sesame-logout
    SesameLogout fc
</LocationMatch>
"""}

# An action the directive does not know.
BAD_ACTION = {"nginx": """\
        location /api/ {
            sesame fc;
            sesame_unauth_action redirect;
        }
""", "apache": """\
<Location /api/>
    AuthType Sesame
    SesameUse fc
    SesameUnauthAction redirect
    Require valid-user
</Location>
"""}

# How scripts ask, each without the others' headers (a header set to None is not sent).
NO_FETCH_METADATA = {"Sec-Fetch-Site": None, "Sec-Fetch-Mode": None, "Sec-Fetch-Dest": None}
SCRIPTS = {
    "xhr_header": ("GET", {**NO_FETCH_METADATA, "X-Requested-With": "XMLHttpRequest"}),
    "accept_json": ("GET", {**NO_FETCH_METADATA, "Accept": "application/json, text/plain, */*"}),
    "sec_fetch_mode_cors": ("GET", {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors",
                                    "Sec-Fetch-Dest": "empty"}),
    "post": ("POST", {**NO_FETCH_METADATA}),
}
CHROME_PAGE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                         "image/webp,*/*;q=0.8"}


@pytest.fixture(scope="module")
def site(make_site, server_kind):
    return make_site(locations=LOCATIONS[server_kind])


def assert_401_json(resp, browser, error="login_required", login_url=None):
    assert resp.status_code == 401, resp.text[:500]
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers
    assert resp.headers["WWW-Authenticate"].startswith('Sesame realm="fc"'), resp.headers
    assert json.loads(resp.text) == {"error": error, "login_url": login_url}
    assert not set_cookie_headers(resp), "no login state for a script"
    assert browser.cookie(LOGIN) is None
    assert "Location" not in resp.headers


@pytest.mark.parametrize("kind", SCRIPTS, ids=list(SCRIPTS))
def test_script_request_without_session_gets_401_json_and_no_login_cookie(kind, browser, server):
    method, headers = SCRIPTS[kind]
    data = b"a=1" if method == "POST" else None
    resp = browser.request(method, server.url("/demarches/api?x=1"), headers=headers, data=data)
    assert_401_json(resp, browser, login_url="/demarches/api?x=1")


def test_script_login_url_starts_a_login_that_comes_back_to_it(browser, server, emulator):
    resp = browser.get(server.url("/demarches/data?page=2"), headers={"Sec-Fetch-Mode": "cors"})
    login_url = json.loads(resp.text)["login_url"]
    # The script sends the browser there (top level): a navigation, so a login.
    login = browser.login(urljoin(server.url("/"), login_url))
    assert login.callback.headers["Location"].endswith("/demarches/data?page=2")


def test_page_navigation_without_session_still_redirects_to_provider(browser, server, emulator):
    resp = browser.get(server.url("/demarches/"), headers=CHROME_PAGE)
    assert resp.status_code == 303
    assert_redirects_to_provider(resp, emulator)
    assert browser.cookie(LOGIN) is not None


def test_script_request_with_a_session_reaches_the_backend(browser, server):
    browser.login(server.url("/demarches/"))
    method, headers = SCRIPTS["sec_fetch_mode_cors"]
    php_vars = php_server(browser.request(method, server.url("/demarches/api"), headers=headers))
    assert php_vars["SESAME_USER"]


def test_unauth_action_login_is_the_default_behaviour(browser, server, emulator):
    assert_redirects_to_provider(browser.get(server.url("/explicit/"), headers=CHROME_PAGE), emulator)
    browser.drop_cookie(LOGIN)
    method, headers = SCRIPTS["xhr_header"]
    assert_401_json(browser.request(method, server.url("/explicit/x"), headers=headers), browser,
                    login_url="/explicit/x")


def test_unauth_action_401_never_starts_a_login(browser, server):
    page = browser.get(server.url("/api/"), headers=CHROME_PAGE)
    assert page.status_code == 401, page.text[:500]
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["WWW-Authenticate"].startswith("Sesame ")
    assert not set_cookie_headers(page)
    for kind in SCRIPTS:
        method, headers = SCRIPTS[kind]
        assert_401_json(browser.request(method, server.url("/api/items"), headers=headers), browser,
                        login_url=None)
    # A session made elsewhere opens it.
    browser.login(server.url("/demarches/"))
    assert php_server(browser.get(server.url("/api/items")))["SESAME_USER"]


def identity_vars(server):
    return {k: v for k, v in server.items() if k.startswith("SESAME_") or k.startswith("HTTP_X_SESAME")}


def test_unauth_action_pass_serves_visitors_without_identity(browser, server):
    for headers in (CHROME_PAGE, SCRIPTS["sec_fetch_mode_cors"][1]):
        resp = browser.get(server.url("/optional/"), headers=headers)
        php_vars = php_server(resp)
        assert identity_vars(php_vars) == {}, php_vars
        assert not php_vars.get("REMOTE_USER")
        assert not set_cookie_headers(resp)
    # An invalid or stale session cookie is no identity either, and no login.
    browser.set_cookie(SESSION, "AAAA.BBBB")
    php_vars = php_server(browser.get(server.url("/optional/")))
    assert identity_vars(php_vars) == {}, php_vars


def test_unauth_action_pass_shows_who_is_connected_when_a_session_exists(browser, server):
    login = browser.login(server.url("/demarches/"), identity="elodie")
    user = php_server(login.final)["SESAME_USER"]
    php_vars = php_server(browser.get(server.url("/optional/")))
    assert php_vars["SESAME_USER"] == user
    assert php_vars["SESAME_CLAIM_GIVEN_NAME"] == "Élodie"
    # Logged out meanwhile (the session is gone from Redis) but the old cookie is replayed:
    # read from the store, found ended, and the page is served without identity.
    cookie = browser.cookie(SESSION)
    assert browser.get(server.url("/logout")).status_code == 303
    browser.set_cookie(SESSION, cookie)
    resp = browser.get(server.url("/optional/"))
    assert identity_vars(php_server(resp)) == {}


def test_unknown_unauth_action_fails_the_config_test(make_site, server_kind):
    site = make_site(locations=BAD_ACTION[server_kind])
    rc, out = site.config_test()
    assert rc != 0
    assert "expected login, 401 or pass" in out, out


# ---- logout started by another site -------------------------------------------------------

CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}


def confirm_action(page):
    assert page.status_code == 200, page.text[:500]
    assert "Se déconnecter</button>" in page.text
    assert page.headers.get("X-Frame-Options") == "DENY"
    start = page.text.index('<form method="post" action="') + len('<form method="post" action="')
    return page.text[start:page.text.index('"', start)].replace("&amp;", "&")


def test_logout_link_from_another_site_asks_first_and_the_button_logs_out(browser, server, emulator):
    browser.login(server.url("/demarches/"))
    page = browser.get(server.url("/logout"), headers=CROSS_SITE)
    action = confirm_action(page)
    assert not set_cookie_headers(page)
    assert php_server(browser.get(server.url("/demarches/")))["SESAME_USER"], "still logged in"
    # The page's button: a same-origin POST.
    out = browser.post(urljoin(server.url("/logout"), action),
                       headers={"Sec-Fetch-Site": "same-origin", "Origin": server.base})
    assert out.status_code == 303, out.text[:500]
    assert out.headers["Location"].startswith(emulator.issuer + "/session/end?")
    assert browser.cookie(SESSION) is None


def test_logout_post_from_another_site_is_not_taken(browser, server):
    browser.login(server.url("/demarches/"))
    action = confirm_action(browser.get(server.url("/logout"), headers=CROSS_SITE))
    for url, headers in [
        (urljoin(server.url("/logout"), action), {"Sec-Fetch-Site": "cross-site"}),
        (server.url("/logout"), {**NO_FETCH_METADATA, "Origin": "https://evil.example"}),
        (server.url("/logout?sesame_confirm=AAAAAAAAAAAAAAAAAAAAAA"), NO_FETCH_METADATA),
    ]:
        confirm_action(browser.post(url, headers=headers))
    assert php_server(browser.get(server.url("/demarches/")))["SESAME_USER"], "still logged in"


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "none"},
    {**NO_FETCH_METADATA, "Referer": "{base}/demarches/"},
], ids=["same_origin_link", "typed_url", "old_browser_with_own_referer"])
def test_logout_link_of_this_site_logs_out_at_once(headers, browser, server, emulator):
    browser.login(server.url("/demarches/"))
    headers = {k: (v.format(base=server.base) if v else v) for k, v in headers.items()}
    out = browser.get(server.url("/logout"), headers=headers)
    assert out.status_code == 303, out.text[:500]
    assert out.headers["Location"].startswith(emulator.issuer + "/session/end?")


def test_logout_link_without_any_origin_information_asks_first(browser, server):
    browser.login(server.url("/demarches/"))
    confirm_action(browser.get(server.url("/logout"), headers=NO_FETCH_METADATA))


# ---- pending logins ------------------------------------------------------------------------

def test_other_sites_navigations_cannot_evict_a_login_in_progress(browser, server):
    mine = browser.login(server.url("/demarches/mine"), stop_before_callback=True)
    # Another site opens protected URLs in pop-ups, again and again.
    for i in range(8):
        resp = browser.get(server.url(f"/demarches/evil{i}"), headers=CROSS_SITE)
        assert resp.status_code == 303
    done = browser.get(mine.callback_url)
    assert done.status_code == 303, done.text[:500]
    assert done.headers["Location"].endswith("/demarches/mine")
