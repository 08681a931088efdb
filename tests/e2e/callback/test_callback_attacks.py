"""Attacks on the redirect_uri: replay, tampering, code reuse, iss mix-up, cancelled login."""

from urllib.parse import parse_qsl, urlencode, urlsplit

from e2e_rig.checks import (
    LOGIN, SESSION, assert_login_refused, assert_page, assert_reference_logged, php_server,
    sets_live_cookie,
)


def _with_params(url, **changes):
    parts = urlsplit(url)
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in changes]
    params += [(k, v) for k, v in changes.items() if v is not None]
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(params)}"


def _flip(hex_text):
    return hex_text[:-1] + ("0" if hex_text[-1] != "0" else "1")


def test_callback_replayed_after_success_is_rejected(browser, server, emulator):
    login = browser.login(server.url("/demarches/"))
    php_server(login.final)
    offset = server.log_size()
    browser.drop_cookie(SESSION)
    replay = browser.get(login.callback_url)
    assert_login_refused(replay, browser, server, emulator, statuses=(400,))
    assert "state does not match a login started in this browser" in server.log_since(offset)


def test_callback_replayed_with_a_captured_login_cookie_is_rejected(browser, new_browser, server, emulator):
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    captured = browser.cookie(LOGIN)
    php_server(browser.follow(browser.get(login.callback_url)))
    # An attacker who copied the login cookie and the callback URL replays both: the state was
    # marked used in Redis (and the code is spent), so no session is created.
    attacker = new_browser()
    attacker.set_cookie(LOGIN, captured)
    replay = attacker.get(login.callback_url)
    assert_login_refused(replay, attacker, server, emulator)


def test_callback_with_tampered_state_is_rejected(browser, server, emulator):
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    state = login.callback_params()["state"]
    offset = server.log_size()
    resp = browser.get(_with_params(login.callback_url, state=_flip(state)))
    assert_reference_logged(resp, server, offset)
    assert_login_refused(resp, browser, server, emulator, statuses=(400,))


def test_callback_without_state_is_rejected(browser, server, emulator):
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    resp = browser.get(_with_params(login.callback_url, state=None))
    assert_login_refused(resp, browser, server, emulator, statuses=(400,))


def test_callback_in_a_browser_that_did_not_start_the_login_is_rejected(browser, new_browser, server, emulator):
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    victim = new_browser()  # login CSRF: the attacker's callback URL opened in the victim's browser
    resp = victim.get(login.callback_url)
    assert_login_refused(resp, victim, server, emulator, statuses=(400,))


def test_callback_with_a_replayed_code_is_rejected(new_browser, server, emulator):
    first = new_browser()
    spent = first.login(server.url("/demarches/"), stop_before_callback=True)
    php_server(first.follow(first.get(spent.callback_url)))  # uses the code
    second = new_browser()
    own = second.login(server.url("/demarches/"), stop_before_callback=True)
    forged = _with_params(own.callback_url, code=spent.callback_params()["code"])
    resp = second.get(forged)
    assert_login_refused(resp, second, server, emulator)


def test_callback_without_iss_is_rejected(browser, server, emulator):
    emulator.misbehave("no_iss_param")
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    assert "iss" not in login.callback_params()
    resp = browser.get(login.callback_url)
    assert_login_refused(resp, browser, server, emulator, statuses=(400,))


def test_callback_with_foreign_iss_is_rejected(browser, server, emulator):
    emulator.misbehave("foreign_iss_param")
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    assert login.callback_params()["iss"] != emulator.issuer
    resp = browser.get(login.callback_url)
    assert_login_refused(resp, browser, server, emulator, statuses=(400,))


def test_callback_with_iss_changed_by_hand_is_rejected(browser, server, emulator):
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    resp = browser.get(_with_params(login.callback_url, iss="https://evil.example/api/v2"))
    assert_login_refused(resp, browser, server, emulator, statuses=(400,))


def test_cancelled_login_shows_a_clear_page_with_a_retry_link(browser, server, emulator):
    login = browser.login(server.url("/demarches/dossier"), action="cancel", stop_before_callback=True)
    params = login.callback_params()
    assert params["error"] == "access_denied"
    resp = browser.get(login.callback_url)
    assert_page(resp, range(200, 500))
    assert not sets_live_cookie(resp, SESSION)
    text = resp.text.lower()
    assert "connexion annulée" in text, resp.text[:1500]
    assert 'href="' in text
    assert "<script" not in text


def test_error_description_from_the_provider_is_html_escaped(browser, server, emulator):
    login = browser.login(server.url("/demarches/"), action="cancel", stop_before_callback=True)
    evil = "<script>alert(1)</script>"
    resp = browser.get(_with_params(login.callback_url, error="access_denied", error_description=evil))
    assert_page(resp, range(200, 500))
    assert evil not in resp.text


def test_callback_with_a_malformed_code_gets_the_error_page_and_no_token_request(browser, server, emulator):
    # A forged callback with a valid state (one GET mints it) but a code no provider issues:
    # refused before any job, so no Redis write and no token request with the site's secret.
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    tokens_before = len(emulator.requests_to("/token"))
    offset = server.log_size()
    resp = browser.get(_with_params(login.callback_url, code="<script>" + "x" * 40))
    assert_page(resp, (400,))
    assert "malformed code" in server.log_since(offset)
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    offset = server.log_size()
    resp = browser.get(_with_params(login.callback_url, code="a" * 5000))
    assert "malformed code" in server.log_since(offset)
    assert_login_refused(resp, browser, server, emulator, statuses=(400,))
    assert len(emulator.requests_to("/token")) == tokens_before, emulator.requests_to("/token")
