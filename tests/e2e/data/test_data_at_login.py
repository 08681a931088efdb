"""API FranceConnectées: `data NAME URL ...` of a provider block (Apache `Data`), fetched with the
access token right after the token exchange, in parallel; results in PHP's `$_SERVER` as
`SESAME_DATA_<NAME>` / `SESAME_DATA_<NAME>_ERROR`, `SESAME_DATA`, `SESAME_DATA_ERRORS`; and
`sesame_data_refresh on` (Apache `SesameDataRefresh on`): `?sesame_data_refresh` on the page logs
in again as the same user and fetches the data again."""

import json
import sys
import time

import pytest

from e2e_rig import apache, nginx
from e2e_rig.browser import Browser
from e2e_rig.checks import php_server
from e2e_rig.paths import E2E, REPO

sys.path.insert(0, str(REPO / "tests" / "emulator"))
import emu_data  # noqa: E402

SIRET = "21750001600019"
QF_ROUTE, QF_SCOPE = emu_data.APIS["quotient_familial"]
BOURSE_ROUTE, BOURSE_SCOPE = emu_data.APIS["etudiant_boursier"]

LOCATIONS = {"nginx": """\
        location /creche/ {
            sesame fc;
            sesame_data_refresh on;
            include sesame_fastcgi_params;
            fastcgi_param SESAME_DATA_QF $sesame_data_qf if_not_empty;
            fastcgi_param SESAME_DATA_QF_ERROR $sesame_data_qf_error if_not_empty;
            fastcgi_param SESAME_DATA_BOURSE $sesame_data_bourse if_not_empty;
            fastcgi_param SESAME_DATA_BOURSE_ERROR $sesame_data_bourse_error if_not_empty;
            fastcgi_param SESAME_DATA_DOWN_ERROR $sesame_data_down_error if_not_empty;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /inscription/ {
            sesame fc;
            sesame_data_refresh on;
            include sesame_fastcgi_params;
            fastcgi_param SESAME_DATA_QF       $sesame_data_qf if_not_empty;
            fastcgi_param SESAME_DATA_QF_ERROR $sesame_data_qf_error if_not_empty;
            include fastcgi_creche;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
""", "apache": """\
AliasMatch "^/inscription/" "{{PHP_DIR}}/creche.php"
<Location /inscription/>
    AuthType Sesame
    SesameUse fc
    SesameDataRefresh on
    Require valid-user
{{PHP_HANDLER}}</Location>
AliasMatch "^/creche/" "{{PHP_DIR}}/index.php"
<Location /creche/>
    AuthType Sesame
    SesameUse fc
    SesameDataRefresh on
    Require valid-user
{{PHP_HANDLER}}</Location>
"""}


def data_lines(emulator):
    base = emulator.base + emu_data.PREFIX
    return [
        f"QF {base}{QF_ROUTE} scope={QF_SCOPE} recipient={SIRET} timeout=2s",
        f"bourse {base}{BOURSE_ROUTE} scope={BOURSE_SCOPE} recipient={SIRET} timeout=2s",
        # Nothing listens on port 1: refused at once.
        "DOWN https://127.0.0.1:1/v3/nothing timeout=1s",
    ]


@pytest.fixture(scope="module")
def site(make_site, server_kind, emulator):
    standard = {"nginx": nginx.STANDARD_LOCATIONS, "apache": apache.STANDARD_LOCATIONS}[server_kind]
    site = make_site(locations=standard + LOCATIONS[server_kind])
    site.providers["fc"]["data"] = data_lines(emulator)
    if server_kind == "nginx":
        backend = (E2E / "conf" / "fastcgi_backend").read_text().replace("{{BACKEND}}", str(site.env.php.root))
        site.files["conf/fastcgi_creche"] = backend.replace("/index.php", "/creche.php")
    return site


class DataControl:
    """The emulator's data provider switches, back to normal after each test."""

    def __init__(self, emulator):
        self.emulator = emulator

    def set(self, **apis):
        self.emulator._post("/_emulator/data", apis)

    def calls(self):
        r = self.emulator.http.get(self.emulator.base + "/_emulator/data/requests", timeout=10)
        r.raise_for_status()
        return r.json()

    def restore(self):
        self.set(quotient_familial={"delay": 0, "fail": None},
                 etudiant_boursier={"delay": 0, "fail": None}, refuse_scopes=[])


@pytest.fixture
def data(emulator):
    control = DataControl(emulator)
    control.restore()
    yield control
    control.restore()


def expected_body(api, login):
    """The JSON text the emulator sends (the same serialisation as emu_data's send_json)."""
    obj = {"data": emu_data.FIXTURES[api][login], "links": {}, "meta": {}}
    return json.dumps(obj, ensure_ascii=False)


def login(pki, server, identity="testfc1"):
    """A login in a fresh browser; (the $_SERVER PHP printed, seconds the callback took)."""
    browser = Browser(pki.ca, site_base=server.base)
    started = browser.start(server.url("/creche/form"))
    callback_url = browser.authorize(started, identity)
    t0 = time.monotonic()
    callback = browser.get(callback_url)
    elapsed = time.monotonic() - t0
    assert callback.status_code == 303, callback.text[:800]
    assert callback.headers["Location"].endswith("/creche/form")
    return php_server(browser.get(server.url("/creche/form"))), elapsed


def test_the_data_scopes_are_asked_at_authorize(pki, server, emulator, data):
    browser = Browser(pki.ca, site_base=server.base)
    location = browser.start(server.url("/creche/"))
    scope = dict(p.split("=", 1) for p in location.split("?", 1)[1].split("&"))["scope"]
    words = scope.replace("%20", "+").split("+")
    assert QF_SCOPE in words and BOURSE_SCOPE in words and "openid" in words


def test_two_data_calls_reach_php_byte_for_byte(pki, server, data):
    php, _ = login(pki, server, "elodie")
    assert php["SESAME_DATA_QF"] == expected_body("quotient_familial", "elodie")
    assert php["SESAME_DATA_BOURSE"] == expected_body("etudiant_boursier", "elodie")
    assert "Élodie" in php["SESAME_DATA_QF"], "UTF-8 kept as sent"
    assert "SESAME_DATA_QF_ERROR" not in php and "SESAME_DATA_BOURSE_ERROR" not in php
    both = json.loads(php["SESAME_DATA"])
    assert both["QF"]["data"]["quotient_familial"]["valeur"] == 812
    assert both["BOURSE"]["data"]["est_boursier"] is False
    assert json.loads(php["SESAME_DATA_ERRORS"]) == {"DOWN": "unreachable"}
    assert php["SESAME_DATA_DOWN_ERROR"] == "unreachable"
    calls = [c for c in data.calls() if c["started"] > time.time() - 60]
    assert {c["api"] for c in calls[-2:]} == {"quotient_familial", "etudiant_boursier"}
    assert all(c["recipient"] == SIRET and c["authorization"] == "Bearer" for c in calls[-2:])


@pytest.mark.parametrize("switch, reason", [
    ("500", "http_500"),
    ("invalid_json", "invalid_json"),
    ("oversized", "too_large"),
    ("expired_token", "http_401"),
])
def test_a_failed_call_never_fails_the_login_and_says_why(pki, server, data, switch, reason):
    data.set(quotient_familial={"fail": switch})
    php, _ = login(pki, server)
    assert php["SESAME_DATA_QF_ERROR"] == reason
    assert "SESAME_DATA_QF" not in php
    assert php["SESAME_DATA_BOURSE"] == expected_body("etudiant_boursier", "testfc1")
    assert php["SESAME_CLAIM_GIVEN_NAME"] == "Angela Claire Louise"


def test_a_slow_api_gives_timeout_after_its_own_deadline(pki, server, data):
    data.set(quotient_familial={"delay": 3})
    php, elapsed = login(pki, server)
    assert php["SESAME_DATA_QF_ERROR"] == "timeout"
    assert php["SESAME_DATA_BOURSE"] == expected_body("etudiant_boursier", "testfc1")
    assert 1.9 < elapsed < 2.9, f"the call's timeout is 2s; the callback took {elapsed:.2f}s"


def test_a_user_without_a_file_gets_http_404(pki, server, data):
    php, _ = login(pki, server, "foreign")
    assert php["SESAME_DATA_QF_ERROR"] == "http_404"
    assert php["SESAME_DATA_BOURSE_ERROR"] == "http_404"
    assert php["SESAME_USER"]


def test_a_scope_the_user_did_not_grant_is_not_called(pki, server, data):
    data.set(refuse_scopes=[BOURSE_SCOPE])
    before = len(data.calls())
    php, _ = login(pki, server)
    assert php["SESAME_DATA_BOURSE_ERROR"] == "scope_not_granted"
    assert php["SESAME_DATA_QF"] == expected_body("quotient_familial", "testfc1")
    assert [c["api"] for c in data.calls()[before:]] == ["quotient_familial"]


def test_the_calls_run_in_parallel(pki, server, data):
    # Each call takes 1 s: the login waits for the slowest, not for the sum.
    data.set(quotient_familial={"delay": 1}, etudiant_boursier={"delay": 1})
    before = len(data.calls())
    php, elapsed = login(pki, server)
    assert php["SESAME_DATA_QF"] and php["SESAME_DATA_BOURSE"]
    assert 1.0 <= elapsed < 1.8, f"two 1 s calls took {elapsed:.2f}s in all"
    first, second = data.calls()[before:]
    assert max(first["started"], second["started"]) < min(first["ended"], second["ended"])


def test_no_access_token_in_any_log_line(pki, server, emulator, data):
    offset = server.log_size()
    login(pki, server)
    tokens = {c["token"] for c in data.calls()[-2:]}
    assert tokens and all(tokens)
    logs = server.log_since(offset)
    assert "data of user" in logs, "the data calls are logged, without their token"
    # Every log the server writes (error and access logs), and the emulator's own.
    files = list((server.site.prefix / "logs").glob("*.log")) + [emulator.dir / "emulator.log"]
    texts = [logs] + [f.read_text(errors="replace") for f in files]
    for token in tokens:
        for text in texts:
            assert token not in text


# ---------------------------------------------------------------------------- data refresh

def absolute(server, location):
    return server.base + location if location.startswith("/") else location


def logged_in_browser(pki, server, identity="testfc1"):
    browser = Browser(pki.ca, site_base=server.base)
    result = browser.login(server.url("/creche/form"), identity=identity)
    return browser, php_server(result.final)


def test_a_refresh_fetches_the_data_again_and_lands_on_the_page(pki, server, emulator, data):
    data.set(quotient_familial={"fail": "500"})
    browser, php = logged_in_browser(pki, server)
    assert php["SESAME_DATA_QF_ERROR"] == "http_500"
    data.set(quotient_familial={"fail": None})
    old_cookie = browser.cookie("__Host-sesame")
    refresh = browser.get(server.url("/creche/form?x=%C3%A9&sesame_data_refresh=1"))
    assert refresh.status_code == 303 and refresh.headers["Location"].startswith(emulator.issuer + "/authorize?")
    # Within FranceConnect's SSO the user only confirms (the emulator's page names them).
    assert "Continuer en tant que" in browser.get(refresh.headers["Location"]).text
    callback = browser.get(browser.authorize(refresh.headers["Location"], "testfc1"))
    assert callback.status_code == 303
    assert callback.headers["Location"].endswith("/creche/form?x=%C3%A9"), "the page, without the parameter"
    again = php_server(browser.get(absolute(server, callback.headers["Location"])))
    assert again["SESAME_DATA_QF"] == expected_body("quotient_familial", "testfc1")
    assert "SESAME_DATA_QF_ERROR" not in again
    assert again["SESAME_USER"] == php["SESAME_USER"]
    assert browser.cookie("__Host-sesame") != old_cookie, "a new session replaced the old one"


def test_a_refresh_after_the_sso_window_asks_the_user_to_log_in_again(pki, server, emulator, data):
    browser, php = logged_in_browser(pki, server)
    try:
        emulator.control(clock_offset=31 * 60)  # FranceConnect's 30 min SSO session is over
        refresh = browser.get(server.url("/creche/form?sesame_data_refresh=1"))
        assert "Choisissez" in browser.get(refresh.headers["Location"]).text, "a full login"
        callback_url = browser.authorize(refresh.headers["Location"], "testfc1")
    finally:
        emulator.control(clock_offset=0)
    callback = browser.get(callback_url)
    assert callback.status_code == 303
    again = php_server(browser.get(absolute(server, callback.headers["Location"])))
    assert again["SESAME_USER"] == php["SESAME_USER"]
    assert again["SESAME_DATA_QF"] == expected_body("quotient_familial", "testfc1")


def test_a_refresh_that_comes_back_with_another_account_changes_nothing(pki, server, emulator, data):
    browser, php = logged_in_browser(pki, server, "testfc1")
    refresh = browser.get(server.url("/creche/form?sesame_data_refresh=1"))
    browser.drop_cookie("fc_session_id")  # at FranceConnect, the user logs in as someone else
    callback = browser.get(browser.authorize(refresh.headers["Location"], "elodie"))
    assert callback.status_code == 403, callback.text[:500]
    after = php_server(browser.get(server.url("/creche/form")))
    assert after["SESAME_USER"] == php["SESAME_USER"], "the session is kept unchanged"
    assert after["SESAME_DATA_QF"] == expected_body("quotient_familial", "testfc1"), "not Élodie's data"


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},        # another site's link
    {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"},  # a script's fetch()
], ids=["cross-site-link", "script"])
def test_a_refresh_asked_by_another_site_or_a_script_is_not_started(pki, server, data, headers):
    browser, php = logged_in_browser(pki, server)
    resp = browser.get(server.url("/creche/form?sesame_data_refresh=1"), headers=headers)
    assert resp.status_code == 200, resp.status_code
    assert php_server(resp)["SESAME_USER"] == php["SESAME_USER"]


def test_the_refresh_parameter_does_nothing_where_the_option_is_off(pki, server, data):
    browser = Browser(pki.ca, site_base=server.base)
    browser.login(server.url("/demarches/"))
    resp = browser.get(server.url("/demarches/?sesame_data_refresh=1"))
    assert resp.status_code == 200


# ---------------------------------------------------------------------------- the README's example

def test_the_readme_crèche_page_is_the_one_tested_here():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## API FranceConnectées", 1)[1].split("\n## ", 1)[0]
    block = section.split("```php\n", 1)[1].split("```", 1)[0]
    assert block == (E2E / "backend" / "creche.php").read_text(encoding="utf-8")


def test_the_readme_crèche_page_shows_the_quotient_familial(pki, server, data):
    browser = Browser(pki.ca, site_base=server.base)
    page = browser.login(server.url("/inscription/"), identity="elodie").final
    assert page.status_code == 200, page.text[:500]
    assert "Demandeur : Élodie Ñúñez-Œuvray" in page.text
    assert 'id="qf"' in page.text and "MSA" in page.text and "812 €" in page.text
    assert "tarif horaire 1,20 €" in page.text


def test_the_readme_crèche_page_offers_another_way_when_the_call_failed(pki, server, data):
    data.set(quotient_familial={"fail": "500"})
    browser = Browser(pki.ca, site_base=server.base)
    page = browser.login(server.url("/inscription/"), identity="testfc1").final
    assert page.status_code == 200
    assert "non récupéré (http_500)" in page.text
    assert 'href="?sesame_data_refresh=1"' in page.text
