"""Session cookie handling and logout: forged or missing cookies mean a new login; logout is clean."""

import base64
import os
from urllib.parse import parse_qsl, urlencode, urlsplit

from e2e_rig.browser import Browser
from e2e_rig.checks import (
    LOGOUT, SESSION, assert_page, assert_redirects_to_provider, assert_reference_logged, php_server,
)


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_missing_session_cookie_means_login_again(browser, server, emulator):
    php_server(browser.login(server.url("/demarches/")).final)
    browser.drop_cookie(SESSION)
    assert_redirects_to_provider(browser.get(server.url("/demarches/")), emulator)


def test_forged_session_cookie_means_login_again(browser, server, emulator):
    browser.set_cookie(SESSION, _b64(os.urandom(32)) + "." + _b64(os.urandom(16)))
    assert_redirects_to_provider(browser.get(server.url("/demarches/")), emulator)


def test_session_cookie_with_altered_id_means_login_again(browser, server, emulator):
    php_server(browser.login(server.url("/demarches/")).final)
    good = browser.cookie(SESSION)
    ident, mac = good.split(".")
    altered = ("A" if ident[0] != "A" else "B") + ident[1:]
    browser.set_cookie(SESSION, altered + "." + mac)
    assert_redirects_to_provider(browser.get(server.url("/demarches/")), emulator)


def test_garbage_session_cookie_means_login_again(browser, server, emulator):
    for junk in ("x", "..", "a" * 3000, "%C3%A9", "e30.e30", "eyJzdWIiOiJhZG1pbiJ9"):
        browser.set_cookie(SESSION, junk)
        resp = browser.get(server.url("/demarches/"))
        assert_redirects_to_provider(resp, emulator)


def test_session_cookie_copied_to_another_browser_is_the_same_session(browser, new_browser, server):
    # A bearer cookie: documents that the session id alone identifies the session (why it must
    # be HttpOnly + Secure + unguessable).
    real = php_server(browser.login(server.url("/demarches/")).final)
    other = new_browser()
    other.set_cookie(SESSION, browser.cookie(SESSION))
    assert php_server(other.get(server.url("/demarches/")))["REMOTE_USER"] == real["REMOTE_USER"]


def test_logout_return_with_tampered_state_gets_400(browser, server):
    php_server(browser.login(server.url("/demarches/")).final)
    out = browser.get(server.url("/logout"))
    assert out.status_code == 303
    params = dict(parse_qsl(urlsplit(out.headers["Location"]).query))
    state = params["state"]
    tampered = state[:-1] + ("0" if state[-1] != "0" else "1")
    offset = server.log_size()
    resp = browser.get(server.url("/sesame/logged-out?" + urlencode({"state": tampered})))
    assert_page(resp, (400,))
    assert_reference_logged(resp, server, offset)


def test_logout_return_without_logout_cookie_is_left_to_the_site(browser, server):
    # No logout cookie: not a Sesame logout return, the site's own page (404 here) answers.
    resp = browser.get(server.url("/sesame/logged-out?state=" + "a" * 64))
    assert resp.status_code == 404


def test_logout_without_session_goes_to_logout_redirect(browser, server):
    resp = browser.get(server.url("/logout"))
    assert resp.status_code == 303
    assert resp.headers["Location"] in ("/", server.url("/"))
    assert browser.cookie(LOGOUT) is None


def test_logout_deletes_the_session_server_side(browser, new_browser, server, emulator):
    php_server(browser.login(server.url("/demarches/")).final)
    stolen = browser.cookie(SESSION)
    assert browser.get(server.url("/logout")).status_code == 303
    # The old cookie value, replayed from elsewhere, no longer opens a session.
    other = new_browser()
    other.set_cookie(SESSION, stolen)
    assert_redirects_to_provider(other.get(server.url("/demarches/")), emulator)


def _server_sharing(make_site, site, client=None):
    """Another server with `site`'s secret and Redis; its provider `fc` uses `client` (its own
    FranceConnect client, i.e. another client_id, when None)."""
    other = make_site()
    other.secret = site.secret
    other.http["redis"] = site.http["redis"]
    if client is not None:
        other.client = client
        other.providers = {"fc": other.fc_provider(client)}
        other.clients = []
    return other


def test_session_opens_nothing_on_a_server_sharing_secret_and_redis_with_another_client_id(
        browser, server, site, make_site, start_server, pki, emulator):
    php_server(browser.login(server.url("/demarches/")).final)
    cookie = browser.cookie(SESSION)
    other_site = _server_sharing(make_site, site)
    assert other_site.providers["fc"]["client_id"] != site.providers["fc"]["client_id"]
    other = start_server(other_site)
    thief = Browser(pki.ca, site_base=other.base)
    thief.set_cookie(SESSION, cookie)
    assert_redirects_to_provider(thief.get(other.url("/demarches/")), emulator)
    # The control: with the same client_id too, the other server reads the same session (one
    # namespace, one key), so it is the binding to the client that refused it above.
    twin = start_server(_server_sharing(make_site, site, client=site.client))
    same = Browser(pki.ca, site_base=twin.base)
    same.set_cookie(SESSION, cookie)
    assert php_server(same.get(twin.url("/demarches/")))["REMOTE_USER"]
