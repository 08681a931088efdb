"""ProConnect next to FranceConnect on one server: login, isolation, step-up, MFA, required
claims, silent SSO, hints, logout, against the strict ProConnect emulator. On nginx and on
Apache (the same paths: e2e_rig/proconnect.py's PC_LOCATIONS and APACHE_PC_LOCATIONS)."""

import json
import re
import time
from urllib.parse import urljoin

import pytest

from e2e_rig.checks import SESSION, assert_page, php_server
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    APACHE_PC_LOCATIONS, PC_LOCATIONS, _pc_emulator_back_to_normal, asked_acr, follow_to_site,
    make_pc_site, pc_emulator, query, start_pc_site)

MFA = ["eidas0-mfa", "eidas1-mfa", "eidas2", "eidas3"]


@pytest.fixture(scope="module")
def site(make_site, server_kind, pc_emulator):
    locations = {"nginx": PC_LOCATIONS, "apache": APACHE_PC_LOCATIONS}[server_kind]
    return make_pc_site(make_site, pc_emulator, locations=locations)


@pytest.fixture(scope="module")
def server(site, pc_emulator, start_server):
    return start_pc_site(site, pc_emulator, start_server)


def test_strict_emulator_shows_y000400_for_a_parameter_sesame_never_sends(browser, server,
                                                                         pc_emulator):
    start = browser.start(server.url("/agents/"))
    assert browser.get(start).status_code == 200, "what Sesame sends passes the strict mode"
    page = browser.get(start + "&max_age=0")
    assert page.status_code == 400 and "Y000400" in page.text
    assert pc_emulator.last_error() == "Y000400"


def test_proconnect_login_sends_only_accepted_parameters_with_pkce(browser, server, pc_emulator):
    login = browser.login(server.url("/agents/"), identity="test@fia1.fr")
    assert login.authorize_url.startswith(pc_emulator.issuer + "/authorize?")
    q = query(login.authorize_url)
    assert set(q) <= {"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
                      "claims", "code_challenge", "code_challenge_method"}
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert len(q["state"]) >= 32 and len(q["nonce"]) >= 32
    assert "acr_values" not in q
    php_vars = php_server(login.final)
    assert php_vars["SESAME_PROVIDER"] == "pc"
    assert php_vars["SESAME_ACR"] == "eidas1"


def test_uniform_claims_sit_next_to_the_raw_ones(browser, server):
    php_vars = php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    assert php_vars["SESAME_CLAIM_USUAL_NAME"] == "DUBOIS"
    assert php_vars["SESAME_FAMILY_NAME"] == "DUBOIS"
    assert php_vars["SESAME_GIVEN_NAME"] == "Angela Claire Louise"
    assert php_vars["SESAME_EMAIL"] == "test@fia1.fr"
    assert php_vars["SESAME_SIRET"] == "21750001600019"
    assert php_vars["SESAME_IDP_ID"] == "fia1v2" == php_vars["SESAME_CLAIM_IDP_ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", php_vars["SESAME_USER"])
    assert re.fullmatch(r"[0-9a-f-]{36}", php_vars["SESAME_CLAIM_SUB"])


def test_franceconnect_uniform_claims_include_birth_data(browser, server):
    php_vars = php_server(browser.login(server.url("/usagers/"), identity="testfc1").final)
    assert php_vars["SESAME_PROVIDER"] == "fc"
    assert php_vars["SESAME_FAMILY_NAME"] == "DUBOIS"
    assert php_vars["SESAME_BIRTHDATE"] == "1962-08-24"
    assert php_vars["SESAME_BIRTHPLACE"] == "75107"
    assert php_vars["SESAME_GENDER"] == "female"
    assert "SESAME_SIRET" not in php_vars


def test_franceconnect_sensitive_location_asks_prompt_login_within_the_whitelist(browser, server):
    login = browser.login(server.url("/usagers/sensible/"), identity="testfc1")
    q = query(login.authorize_url)
    assert q["prompt"] == "login" and q["acr_values"] == "eidas1"
    assert set(q) == {"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
                      "acr_values", "prompt"}
    assert php_server(login.final)["SESAME_PROVIDER"] == "fc"


def test_prompt_login_location_re_authenticates_a_session_authenticated_long_ago(
        browser, server, emulator):
    emulator.misbehave("old_auth_time")
    first = php_server(browser.login(server.url("/usagers/"), identity="testfc1").final)
    resp = browser.get(server.url("/usagers/sensible/doc?id=7"))
    assert resp.status_code == 303, "sesame_prompt login: an old authentication is not enough"
    assert resp.headers["Location"].startswith(emulator.issuer + "/authorize?")
    assert query(resp.headers["Location"])["prompt"] == "login"
    login = browser.login(server.url("/usagers/sensible/doc?id=7"), identity="testfc1")
    assert login.callback.headers["Location"].endswith("/usagers/sensible/doc?id=7")
    php_vars = php_server(login.final)
    assert php_vars["SESAME_USER"] == first["SESAME_USER"]
    again = browser.get(server.url("/usagers/sensible/"))
    assert again.status_code == 200, "a fresh authentication does not loop"


def test_max_auth_age_re_authenticates_an_old_session_once_and_lands_on_the_page(
        browser, server, pc_emulator):
    pc_emulator.misbehave("old_auth_time")
    first = php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    resp = browser.get(server.url("/agents/recent/page?x=1"))
    assert resp.status_code == 303
    assert query(resp.headers["Location"])["prompt"] == "login"
    assert "max_age" not in query(resp.headers["Location"])
    login = browser.login(server.url("/agents/recent/page?x=1"), identity="test@fia1.fr")
    assert login.callback.headers["Location"].endswith("/agents/recent/page?x=1")
    assert php_server(login.final)["SESAME_USER"] == first["SESAME_USER"]
    assert browser.get(server.url("/agents/recent/")).status_code == 200
    assert browser.get(server.url("/agents/")).status_code == 200


def test_provider_answering_prompt_login_with_an_old_authentication_gets_a_page_not_a_loop(
        browser, server, pc_emulator):
    pc_emulator.misbehave("old_auth_time")
    offset = server.log_size()
    login = browser.login(server.url("/agents/recent/"), identity="test@fia1.fr")
    assert query(login.authorize_url)["prompt"] == "login"
    assert_page(login.callback, [403])
    assert browser.cookie(SESSION) is None
    assert "the provider did not re-authenticate the user" in server.log_since(offset)


def test_franceconnect_session_never_opens_a_proconnect_location(browser, server, emulator,
                                                                  pc_emulator):
    php_server(browser.login(server.url("/usagers/"), identity="testfc1").final)
    resp = browser.get(server.url("/agents/"))
    assert resp.status_code == 303
    assert resp.headers["Location"].startswith(pc_emulator.issuer + "/authorize?")


def test_proconnect_session_never_opens_a_franceconnect_location(browser, server, emulator):
    php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    resp = browser.get(server.url("/usagers/"))
    assert resp.status_code == 303
    assert resp.headers["Location"].startswith(emulator.issuer + "/authorize?")


@pytest.mark.only("nginx", reason="the Apache site here has no proxied /agents/app/")
def test_proxy_backend_gets_uniform_headers(browser, server):
    resp = browser.login(server.url("/agents/app/x"), identity="mfa@fia2.fr").final
    headers = {k.lower(): v for k, v in resp.json()["headers"]}
    assert headers["x-sesame-family-name"] == "%C3%91%C3%BAn%CC%83ez-%C5%92uvray" or \
        headers["x-sesame-family-name"].startswith("%C3%91")
    assert headers["x-sesame-idp-id"] == "fia2v2"


def test_eidas1_session_steps_up_to_eidas2_and_lands_on_the_asked_page(browser, server,
                                                                        pc_emulator):
    first = php_server(browser.login(server.url("/agents/"), identity="mfa@fia2.fr").final)
    assert first["SESAME_ACR"] == "eidas1"
    login = browser.login(server.url("/agents/eidas2/dossier?id=42"), identity="mfa@fia2.fr")
    assert asked_acr(login.authorize_url) == ["eidas2", "eidas3"]
    assert login.callback.headers["Location"].endswith("/agents/eidas2/dossier?id=42")
    php_vars = php_server(login.final)
    assert php_vars["SESAME_ACR"] == "eidas2"
    assert php_vars["SESAME_USER"] == first["SESAME_USER"], "the step-up keeps the identity"
    assert php_vars["REQUEST_URI"] == "/agents/eidas2/dossier?id=42"


def _session_keys(redis):
    return {k for k in redis.keys("sesame:*") if ":s:" in k}


def _new_session_key(redis, before):
    [key] = _session_keys(redis) - before
    return key


def _refused_within_the_cache_lifetime(browser, url, issuer, seconds=6.0):
    """True once `url` answers a login redirect to `issuer`. Another worker or Apache child
    that cached the session may accept it for up to sesame_session_cache (5 s here): that is
    the documented delay, so it is waited for (never longer)."""
    deadline = time.monotonic() + seconds
    while True:
        resp = browser.get(url)
        if resp.status_code == 303 and resp.headers["Location"].startswith(issuer + "/authorize?"):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)


def test_step_up_ends_the_lower_session_in_redis_and_in_the_cache(browser, new_browser, server,
                                                                 redis, pc_emulator):
    before = _session_keys(redis)
    php_server(browser.login(server.url("/agents/"), identity="mfa@fia2.fr").final)
    lower_cookie, lower_key = browser.cookie(SESSION), _new_session_key(redis, before)
    login = browser.login(server.url("/agents/eidas2/"), identity="mfa@fia2.fr")
    assert php_server(login.final)["SESAME_ACR"] == "eidas2"
    assert lower_key not in _session_keys(redis), "the eidas1 session is deleted from Redis"
    # A copy of the eidas1 cookie (another tab, a captured cookie) opens nothing: at once in
    # the process that ran the step-up, within the cache lifetime in the others.
    other = new_browser()
    other.set_cookie(SESSION, lower_cookie)
    assert _refused_within_the_cache_lifetime(other, server.url("/agents/"), pc_emulator.issuer)
    assert php_server(browser.get(server.url("/agents/eidas2/")))["SESAME_ACR"] == "eidas2"


def test_a_login_while_holding_a_session_ends_the_previous_session(browser, new_browser, server,
                                                                   redis, emulator):
    before = _session_keys(redis)
    php_server(browser.login(server.url("/usagers/"), identity="testfc1").final)
    fc_cookie, fc_key = browser.cookie(SESSION), _new_session_key(redis, before)
    # The FranceConnect session does not open /agents/: a ProConnect login replaces it.
    assert php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)[
        "SESAME_PROVIDER"] == "pc"
    assert fc_key not in _session_keys(redis), "the previous session is deleted from Redis"
    other = new_browser()
    other.set_cookie(SESSION, fc_cookie)
    assert _refused_within_the_cache_lifetime(other, server.url("/usagers/"), emulator.issuer)


def test_eidas1_session_steps_up_to_mfa_with_the_four_mfa_values(browser, server):
    php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    login = browser.login(server.url("/agents/mfa/"), identity="test@fia1.fr")
    assert asked_acr(login.authorize_url) == MFA
    php_vars = php_server(login.final)
    assert php_vars["SESAME_ACR"] == "eidas1-mfa"
    assert json.loads(php_vars["SESAME_CLAIM_AMR"]) == ["pwd", "mail"]


def test_step_up_with_another_account_is_refused_and_keeps_the_session(browser, server):
    first = php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    login = browser.login(server.url("/agents/eidas2/"), identity="mfa@fia2.fr")
    assert_page(login.callback, [403])
    assert "Compte différent" in login.callback.text
    again = php_server(browser.get(server.url("/agents/")))
    assert again["SESAME_USER"] == first["SESAME_USER"]


def test_mfa_claimed_without_a_second_factor_in_amr_is_refused(browser, server, pc_emulator):
    pc_emulator.misbehave("mfa_single_factor_amr")
    login = browser.login(server.url("/agents/mfa/"), identity="test@fia1.fr")
    assert_page(login.callback, [403])
    assert "Niveau de sécurité insuffisant" in login.callback.text
    assert browser.cookie(SESSION) is None


def test_id_token_without_at_hash_logs_in(browser, server, pc_emulator):
    pc_emulator.misbehave("no_at_hash")
    login = browser.login(server.url("/agents/"), identity="test@fia1.fr")
    php_vars = php_server(login.final)
    assert php_vars["SESAME_PROVIDER"] == "pc" and php_vars["SESAME_ACR"] == "eidas1"


def test_id_token_with_a_wrong_at_hash_is_refused(browser, server, pc_emulator):
    pc_emulator.misbehave("wrong_at_hash")
    offset = server.log_size()
    login = browser.login(server.url("/agents/"), identity="test@fia1.fr")
    assert login.callback.status_code >= 400
    assert browser.cookie(SESSION) is None
    assert "at_hash does not match the access_token" in server.log_since(offset)


def test_mfa_acr_with_a_single_factor_amr_from_another_location_steps_up_at_an_mfa_location(
        browser, server, pc_emulator):
    pc_emulator.misbehave("mfa_single_factor_amr")
    first = php_server(browser.login(server.url("/agents/any-level/"),
                                     identity="test@fia1.fr").final)
    assert first["SESAME_ACR"] == "eidas1-mfa", "this location accepts eidas1 and eidas1-mfa"
    assert json.loads(first["SESAME_CLAIM_AMR"]) == ["pwd"]
    resp = browser.get(server.url("/agents/mfa/"))
    assert resp.status_code == 303, "an MFA acr without a second factor is not MFA"
    assert resp.headers["Location"].startswith(pc_emulator.issuer + "/authorize?")
    assert asked_acr(resp.headers["Location"]) == MFA
    login = browser.login(server.url("/agents/mfa/"), identity="test@fia1.fr")
    php_vars = php_server(login.final)
    assert json.loads(php_vars["SESAME_CLAIM_AMR"]) == ["pwd", "mail"]
    assert php_vars["SESAME_USER"] == first["SESAME_USER"]


def test_control_characters_in_claims_reach_the_backend_replaced_and_logged(browser, server):
    offset = server.log_size()
    php_vars = php_server(browser.login(server.url("/agents/"), identity="ctrl@fia1.fr").final)
    assert php_vars["SESAME_CLAIM_USUAL_NAME"] == "DU\ufffdBOIS" == php_vars["SESAME_FAMILY_NAME"]
    assert php_vars["SESAME_GIVEN_NAME"] == "Marc\tAntoine", "tab is kept"
    logged = server.log_since(offset)
    assert "control characters replaced by U+FFFD in claim(s) usual_name" in logged, logged[-2000:]


def test_acr_with_control_characters_is_refused_with_a_log_line(browser, server, pc_emulator):
    pc_emulator.misbehave("control_acr")
    offset = server.log_size()
    login = browser.login(server.url("/agents/app/"), identity="test@fia1.fr")
    assert login.callback.status_code >= 400
    assert browser.cookie(SESSION) is None
    assert "is not a token of printable ASCII" in server.log_since(offset)


def test_acr_outside_the_asked_set_is_refused(browser, server, pc_emulator):
    pc_emulator.misbehave("low_acr")
    login = browser.login(server.url("/agents/mfa/"), identity="test@fia1.fr")
    assert_page(login.callback, [403])
    assert "Niveau de sécurité insuffisant" in login.callback.text


def test_level_proconnect_cannot_reach_gives_an_explained_page(browser, server):
    login = browser.login(server.url("/agents/eidas2/"), identity="noamr@fia3.fr")
    assert query(login.callback_url)["error"] == "access_denied"
    assert_page(login.callback, [403])
    assert "double authentification" in login.callback.text
    size = server.log_size()
    assert size > 0


def test_required_claim_values_let_the_right_agents_in(browser, server):
    php_vars = php_server(browser.login(server.url("/agents/paris/"), identity="test@fia1.fr").final)
    assert php_vars["SESAME_SIRET"] == "21750001600019"


def test_required_claim_values_refuse_other_agents_with_a_403_page(browser, server):
    offset = server.log_size()
    final = browser.login(server.url("/agents/paris/"), identity="mfa@fia2.fr").final
    assert_page(final, [403])
    assert "Accès refusé" in final.text
    assert "claim siret does not hold any of the values required" in server.log_since(offset)


def test_silent_sso_without_provider_session_falls_back_to_one_interactive_login(
        browser, server, pc_emulator):
    start = browser.start(server.url("/agents/silent/page"))
    assert query(start)["prompt"] == "none"
    back = browser.get(start)
    cb = urljoin(start, back.headers["Location"])
    assert query(cb)["error"] == "login_required"
    retry = browser.get(cb)
    assert retry.status_code == 303
    again = retry.headers["Location"]
    assert again.startswith(pc_emulator.issuer + "/authorize?")
    assert "prompt" not in query(again), "the fallback must not loop on prompt=none"
    callback = browser.authorize(again, identity="test@fia1.fr")
    final = follow_to_site(browser, browser.get(callback), server)
    assert php_server(final)["REQUEST_URI"] == "/agents/silent/page"


def test_silent_sso_with_a_provider_session_logs_in_without_a_page(browser, server, pc_emulator):
    php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    browser.drop_cookie(SESSION)
    start = browser.start(server.url("/agents/silent/"))
    back = browser.get(start)
    assert back.status_code == 303 and "code=" in back.headers["Location"]
    final = follow_to_site(browser, browser.get(urljoin(start, back.headers["Location"])), server)
    assert php_server(final)["SESAME_PROVIDER"] == "pc"


def test_hints_from_the_query_are_validated_and_fixed_ones_sent(browser, server):
    start = browser.start(server.url("/agents/hint/?email=agent%40fia1.fr&siret=123"))
    q = query(start)
    assert q["login_hint"] == "agent@fia1.fr"
    assert q["idp_hint"] == "fia1v2"
    assert q["prompt"] == "login"
    assert "siret_hint" not in q, "a malformed siret is never sent (ProConnect: Y000400)"
    start = browser.start(server.url("/agents/hint/?siret=21750001600019&email=nope"))
    assert query(start)["siret_hint"] == "21750001600019"
    assert "login_hint" not in query(start)


def test_logout_sends_hint_state_and_the_exact_post_logout_uri(browser, server, pc_emulator):
    php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    resp = browser.get(server.url("/agents/logout"))
    assert resp.status_code == 303
    loc = resp.headers["Location"]
    assert loc.startswith(pc_emulator.issuer + "/session/end?")
    q = query(loc)
    assert q["post_logout_redirect_uri"] == server.site.pc_client["post_logout_redirect_uris"][0]
    assert len(q["state"]) >= 32 and q["id_token_hint"].count(".") == 2
    back = browser.get(loc)
    assert back.status_code == 303
    assert back.headers["Location"].startswith(server.url("/sesame/pc/logged-out/?state="))
    final = follow_to_site(browser, browser.get(back.headers["Location"]), server)
    assert final.status_code == 200
    assert browser.get(server.url("/agents/")).status_code == 303


@pytest.mark.parametrize("error, description, status, page_words, log_words", [
    ("access_denied", "none of the requested ACRs could be obtained (Y020032)", 403,
     "Niveau de sécurité insuffisant", "Y020032: the identity provider could not deliver"),
    ("invalid_scope", "requested scope is not allowed", 502,
     "Erreur de configuration du service", "remove it from `scope`"),
    ("idp_hint_not_found", "idp_hint not found", 400, "identité choisi",
     "sesame_idp_hint"),
    ("server_error", "Y500006 invalid identity", 503, "Merci de réessayer",
     "Y500006: the identity provider returned an invalid identity"),
])
def test_provider_errors_become_an_actionable_log_line_and_a_french_page(
        browser, server, pc_emulator, error, description, status, page_words, log_words):
    start = browser.start(server.url("/agents/"))
    state = query(start)["state"]
    offset = server.log_size()
    cb = server.url("/sesame/pc/callback")
    resp = browser.get(cb, params={"error": error, "error_description": description,
                                   "state": state, "iss": pc_emulator.issuer})
    assert_page(resp, [status])
    assert page_words in resp.text
    assert description not in resp.text, "provider text never reaches the page"
    log = server.log_since(offset)
    assert log_words in log, log
    ref = re.search(r"<code>([0-9a-f]{12})</code>", resp.text).group(1)
    assert f"ref {ref}" in log
