"""The happy path, end to end: protected URL → FranceConnect (emulator) → callback → backend → logout."""

import re
from urllib.parse import parse_qsl, quote, urlsplit

from e2e_rig.checks import (
    LOGIN, LOGOUT, SESSION, php_server, same_site_location, set_cookies,
)

HEX64 = re.compile(r"^[0-9a-f]{64}$")
SUB = re.compile(r"^[0-9a-f]{64}v1$")
FC_AUTHORIZE_PARAMS = {
    "client_id", "acr_values", "claims", "response_type", "nonce", "state", "redirect_uri", "scope",
    "prompt", "idp_hint", "ui_locales",
}


def test_full_flow_logs_in_shows_claims_and_logs_out_through_provider(browser, server, emulator):
    login = browser.login(server.url("/demarches/accueil"), identity="testfc1")
    php_vars = php_server(login.final)
    assert php_vars["SESAME_CLAIM_GIVEN_NAME"] == "Angela Claire Louise"
    assert php_vars["SESAME_CLAIM_FAMILY_NAME"] == "DUBOIS"
    assert php_vars["SESAME_CLAIM_BIRTHDATE"] == "1962-08-24"
    assert SUB.match(php_vars["REMOTE_USER"]), php_vars["REMOTE_USER"]

    # Logged in: the next request goes straight to the backend.
    assert php_server(browser.get(server.url("/demarches/encore")))["REMOTE_USER"] == php_vars["REMOTE_USER"]

    out = browser.get(server.url("/logout"))
    assert out.status_code == 303, out.text[:800]
    end_session = out.headers["Location"]
    assert end_session.startswith(emulator.issuer + "/session/end?"), end_session
    params = dict(parse_qsl(urlsplit(end_session).query))
    assert params["post_logout_redirect_uri"] == server.url("/sesame/logged-out")
    assert HEX64.match(params["state"])
    assert params["id_token_hint"].count(".") == 2
    assert browser.cookie(SESSION) is None, "session cookie must be cleared at logout"
    assert browser.cookie(LOGOUT) is not None

    back = browser.get(end_session)  # the browser itself visits the provider (front-channel logout)
    assert back.status_code in (302, 303), back.text[:800]
    assert back.headers["Location"].startswith(server.url("/sesame/logged-out?"))
    landing = browser.get(back.headers["Location"])
    assert landing.status_code == 303
    assert same_site_location(server, landing.headers["Location"])
    assert urlsplit(landing.headers["Location"]).path == "/"
    assert browser.cookie(LOGOUT) is None

    # Logged out at Sesame and at the provider: a full login (identity choice) is needed again.
    authorize = browser.start(server.url("/demarches/accueil"))
    page = browser.get(authorize)
    assert page.status_code == 200
    assert "sso-session" not in page.text
    assert 'value="elodie"' in page.text


def test_claims_reach_php_with_utf8_intact(browser, server):
    login = browser.login(server.url("/demarches/"), identity="elodie")
    php_vars = php_server(login.final)
    assert php_vars["SESAME_CLAIM_GIVEN_NAME"] == "Élodie"
    assert php_vars["SESAME_CLAIM_FAMILY_NAME"] == "Ñúñez-Œuvray"
    assert SUB.match(php_vars["SESAME_CLAIM_SUB"])
    assert php_vars["REMOTE_USER"] == php_vars["SESAME_CLAIM_SUB"]
    assert php_vars["SESAME_PROVIDER"] == "fc"
    assert php_vars["SESAME_ACR"] == "eidas1"
    assert re.fullmatch(r"[0-9a-f]{32}", php_vars["SESAME_USER"]), php_vars["SESAME_USER"]


def test_user_key_is_stable_across_logins_and_differs_between_identities(new_browser, server):
    first = php_server(new_browser().login(server.url("/demarches/"), identity="elodie").final)
    second = php_server(new_browser().login(server.url("/demarches/"), identity="elodie").final)
    other = php_server(new_browser().login(server.url("/demarches/"), identity="testfc1").final)
    assert first["SESAME_USER"] == second["SESAME_USER"]
    assert first["REMOTE_USER"] == second["REMOTE_USER"]
    assert other["SESAME_USER"] != first["SESAME_USER"]


def test_proxied_app_receives_percent_encoded_claim_headers(browser, server):
    login = browser.login(server.url("/app/profil"), identity="elodie")
    assert login.final.status_code == 200, login.final.text[:800]
    body = login.final.json()
    headers = {k.lower(): v for k, v in body["headers"]}
    assert headers["x-sesame-claim-given-name"] == quote("Élodie", safe="-._~") == "%C3%89lodie"
    assert headers["x-sesame-claim-family-name"] == quote("Ñúñez-Œuvray", safe="-._~")
    assert SUB.match(headers["x-sesame-claim-sub"])
    assert body["path"] == "/app/profil"
    for value in headers.values():
        assert value.isascii(), value


def test_login_returns_to_the_originally_asked_url_with_its_query(browser, server):
    login = browser.login(server.url("/demarches/dossier/42?onglet=pièces&x=1"), identity="testfc1")
    assert login.callback.status_code == 303
    loc = login.callback.headers["Location"]
    assert same_site_location(server, loc)
    php_vars = php_server(login.final)
    assert php_vars["REQUEST_URI"] == "/demarches/dossier/42?onglet=pi%C3%A8ces&x=1"


def test_authorize_request_carries_exactly_franceconnect_parameters(browser, server, emulator):
    emulator.clear_requests()
    login = browser.login(server.url("/demarches/"), identity="testfc1")
    php_server(login.final)
    (authorize,) = emulator.requests_to("/authorize", "GET")
    pairs = authorize["query"]
    names = [k for k, _ in pairs]
    assert len(names) == len(set(names)), f"duplicated parameter: {names}"
    params = dict(pairs)
    assert set(params) <= FC_AUTHORIZE_PARAMS, set(params) - FC_AUTHORIZE_PARAMS
    assert "code_challenge" not in params and "code_challenge_method" not in params
    assert params["client_id"] == server.site.client["client_id"]
    assert params["response_type"] == "code"
    assert params["acr_values"] == "eidas1"
    assert params["redirect_uri"] == server.url("/sesame/callback")
    assert "openid" in params["scope"].split()
    assert HEX64.match(params["state"]), params["state"]
    assert HEX64.match(params["nonce"]), params["nonce"]
    assert params["state"] != params["nonce"]


def test_state_and_nonce_are_fresh_for_every_login(new_browser, server):
    seen = set()
    for _ in range(3):
        params = new_browser().login(server.url("/demarches/"), stop_before_callback=True).authorize_params()
        seen.add(params["state"])
        seen.add(params["nonce"])
    assert len(seen) == 6


def test_token_call_uses_client_secret_post_only(browser, server, emulator):
    emulator.clear_requests()
    php_server(browser.login(server.url("/demarches/"), identity="testfc1").final)
    (token,) = emulator.requests_to("/token", "POST")
    form = dict(token["form"])
    assert token["content_type"].startswith("application/x-www-form-urlencoded")
    assert token["authorization"] is None, "client_secret must not be sent in a header as well"
    assert form["client_secret"] == "***"
    assert form["client_id"] == server.site.client["client_id"]
    assert form["grant_type"] == "authorization_code"
    assert form["redirect_uri"] == server.url("/sesame/callback")
    assert "code_verifier" not in form
    userinfo = emulator.requests_to("/userinfo")
    assert userinfo and all(u["authorization"] == "Bearer" for u in userinfo)


def test_cookies_are_host_prefixed_secure_httponly_lax(browser, server):
    resp = browser.get(server.url("/demarches/"))
    cookies = set_cookies(resp)
    assert LOGIN in cookies, resp.headers
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    callback = browser.get(login.callback_url)
    cookies.update(set_cookies(callback))
    assert SESSION in cookies, callback.headers
    for name in (LOGIN, SESSION):
        value, attrs = cookies[name]
        assert name.startswith("__Host-")
        assert attrs.get("secure") is True, (name, attrs)
        assert attrs.get("httponly") is True, (name, attrs)
        assert str(attrs.get("samesite", "")).lower() == "lax", (name, attrs)
        assert attrs.get("path") == "/", (name, attrs)
        assert "domain" not in attrs, (name, attrs)
    assert cookies[LOGIN][1].get("max-age") == "600", cookies[LOGIN][1]


def test_session_cookie_carries_no_claims(browser, server, redis):
    login = browser.login(server.url("/demarches/"), identity="elodie")
    php_vars = php_server(login.final)
    value = browser.cookie(SESSION)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}", value), value
    for secret in (php_vars["REMOTE_USER"], "lodie", "uvray", "Élodie"):
        assert secret not in value
    # Neither the raw cookie nor the claims appear in Redis in clear.
    dump = " ".join(f"{k} {v}" for k, v in ((k, redis.command("GET", k)) for k in redis.keys("sesame:*")
                                             if redis.command("TYPE", k).strip() == "string"))
    assert value.split(".")[0] not in dump
    assert php_vars["REMOTE_USER"] not in dump
    assert "Élodie" not in dump


def test_session_is_shared_between_php_and_proxied_locations(browser, server):
    php_vars = php_server(browser.login(server.url("/demarches/"), identity="testfc1").final)
    resp = browser.get(server.url("/app/x"))
    assert resp.status_code == 200
    headers = {k.lower(): v for k, v in resp.json()["headers"]}
    assert headers["x-sesame-claim-sub"] == php_vars["REMOTE_USER"]


def test_unprotected_location_needs_no_login(browser, server):
    resp = browser.get(server.url("/public/"))
    assert resp.status_code == 200
    assert resp.text == "public page\n"
    assert not set_cookies(resp)


def test_post_without_session_gets_401_not_a_redirect(browser, server):
    resp = browser.post(server.url("/demarches/form"), data={"a": "1"})
    assert resp.status_code == 401, resp.text[:500]
    assert "no-store" in resp.headers.get("Cache-Control", "")


def test_two_tabs_logging_in_at_once_each_return_where_they_started(browser, server):
    first = browser.login(server.url("/demarches/a?tab=1"), stop_before_callback=True)
    second = browser.login(server.url("/demarches/b?tab=2"), stop_before_callback=True)
    # The older tab finishes first, then the newer one: both pending logins were kept.
    done_first = browser.get(first.callback_url)
    assert done_first.status_code == 303, done_first.text[:800]
    assert done_first.headers["Location"].endswith("/demarches/a?tab=1")
    done_second = browser.get(second.callback_url)
    assert done_second.status_code == 303, done_second.text[:800]
    assert done_second.headers["Location"].endswith("/demarches/b?tab=2")


def test_only_the_four_newest_pending_logins_are_kept(browser, server):
    logins = [browser.login(server.url(f"/demarches/{i}"), stop_before_callback=True) for i in range(5)]
    oldest = browser.get(logins[0].callback_url)
    assert oldest.status_code == 400, oldest.text[:500]
    newest = browser.get(logins[4].callback_url)
    assert newest.status_code == 303
    assert newest.headers["Location"].endswith("/demarches/4")


def test_head_without_session_redirects_to_provider(browser, server, emulator):
    resp = browser.request("HEAD", server.url("/demarches/"))
    assert resp.status_code in (302, 303)
    assert resp.headers["Location"].startswith(emulator.issuer + "/authorize?")


def test_logs_never_contain_secrets_tokens_codes_or_cookies(browser, server, emulator):
    offset = server.log_size()
    login = browser.login(server.url("/demarches/"), identity="elodie", stop_before_callback=True)
    login_cookie = browser.cookie(LOGIN)
    php_server(browser.follow(browser.get(login.callback_url)))
    session_cookie = browser.cookie(SESSION)
    out = browser.get(server.url("/logout"))
    hint = dict(parse_qsl(urlsplit(out.headers["Location"]).query))["id_token_hint"]
    # A failed login too (error paths are where secrets tend to leak).
    emulator.misbehave("wrong_aud")
    failed = browser.login(server.url("/demarches/"), identity="elodie")
    assert failed.callback.status_code >= 400
    logged = server.log_since(offset)
    assert "login of user" in logged or "sesame" in logged, "the module logged nothing at all"
    secrets_seen = {
        "client secret": server.site.client["client_secret"],
        "authorization code": login.callback_params()["code"],
        "failed login code": failed.callback_params()["code"],
        "login cookie": login_cookie,
        "session cookie id": session_cookie.split(".")[0],
        "id_token signature": hint.split(".")[2],
        "id_token payload": hint.split(".")[1],
    }
    for what, value in secrets_seen.items():
        assert value and value not in logged, f"{what} appears in nginx's error.log"
    secret_file = (server.site.prefix / "conf" / "sesame.secret").read_bytes()
    assert secret_file.hex() not in logged
