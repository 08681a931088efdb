"""Every bad id_token / userinfo the emulator can produce is refused; key rotation is survived."""

import pytest

from e2e_rig.checks import assert_login_refused, php_server

# (misbehaviour, why it must be refused) — docs/federations.md §4.3–§4.5 and §10.4.
REFUSED = [
    ("alg_none", "unsigned id_token"),
    ("hs256_public_key", "HS256 keyed with the public key for an ES256 client (algorithm confusion)"),
    ("wrong_aud", "id_token for another client"),
    ("expired", "id_token past its 60 s lifetime"),
    ("wrong_nonce", "id_token for another login"),
    ("wrong_iss", "id_token from another issuer"),
    ("low_acr", "acr eidas0 below the required eidas1"),
    ("unknown_kid", "signed by a key that is not in the JWKS even after refetch"),
    ("userinfo_other_sub", "userinfo about someone else"),
    ("userinfo_plain_json", "unsigned userinfo where FranceConnect signs it"),
]


@pytest.mark.parametrize("misbehaviour", [m for m, _ in REFUSED], ids=[m for m, _ in REFUSED])
def test_login_with_bad_tokens_is_refused(misbehaviour, browser, server, emulator):
    emulator.misbehave(misbehaviour)
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    resp = browser.get(login.callback_url)
    assert_login_refused(resp, browser, server, emulator)
    # The misbehaviour was consumed by this login (it really was exercised).
    assert emulator.http.get(emulator.base + "/_emulator/control", timeout=5).json()["misbehave"] == []


def test_login_after_refusal_works_again(browser, new_browser, server, emulator):
    emulator.misbehave("wrong_nonce")
    login = browser.login(server.url("/demarches/"))
    assert login.callback.status_code >= 400
    php_vars = php_server(new_browser().login(server.url("/demarches/"), identity="testfc1").final)
    assert php_vars["SESAME_CLAIM_FAMILY_NAME"] == "DUBOIS"


def test_login_after_provider_key_rotation_succeeds_by_refetching_jwks(make_site, start_server, pki, emulator):
    # Its own nginx: the unknown_kid case above just forced a JWKS refetch, and refetches are
    # rate-limited; a real rotation happens long after the last one.
    from e2e_rig.browser import Browser

    fresh = start_server(make_site())
    # A first login makes the module fetch and cache the JWKS.
    php_server(Browser(pki.ca, fresh.base).login(fresh.url("/demarches/"), identity="testfc1").final)
    emulator.rotate_keys()
    emulator.clear_requests()
    server = php_server(Browser(pki.ca, fresh.base).login(fresh.url("/demarches/"), identity="elodie").final)
    assert server["SESAME_CLAIM_GIVEN_NAME"] == "Élodie"
    assert emulator.requests_to("/jwks"), "the new kid must have been looked up in a fresh JWKS"
    fresh.stop()
