"""Identity headers sent by the client never reach PHP or the proxied app."""

import pytest

from e2e_rig.checks import php_server

SPOOFED = [
    "X-Sesame-Claim-Sub",
    "Sesame-Claim-Sub",
    "X_Sesame_Claim_Sub",
    "x-sesame-claim-given-name",
    "X-Sesame-Provider",
    # Every claim as one JSON object (SESAME_CLAIMS, X-Sesame-Claims).
    "X-Sesame-Claims",
    "Sesame_Claims",
    "Remote-User",
    "X-Remote-User",
    "X-Forwarded-User",
    # mod_auth_openidc's variable set, which migrated applications read.
    "OIDC_CLAIM_sub",
    "OIDC-CLAIM-email",
    "oidc_claim_given_name",
    "OIDC_access_token",
    "OIDC_id_token_payload",
]
FAKE = "spoofed-admin"


def _php_keys(name):
    return {"HTTP_" + name.upper().replace("-", "_")}


@pytest.mark.parametrize("name", SPOOFED)
def test_spoofed_identity_header_never_reaches_php(name, browser, server):
    real = php_server(browser.login(server.url("/demarches/"), identity="testfc1").final)
    resp = browser.get(server.url("/demarches/page"), headers={name: FAKE})
    php_vars = php_server(resp)
    assert FAKE not in resp.text, {k: v for k, v in php_vars.items() if v == FAKE}
    assert not (_php_keys(name) & set(php_vars))
    assert php_vars["REMOTE_USER"] == real["REMOTE_USER"]


@pytest.mark.parametrize("name", SPOOFED)
def test_spoofed_identity_header_never_reaches_proxied_app(name, browser, server):
    browser.login(server.url("/app/"), identity="testfc1")
    resp = browser.get(server.url("/app/page"), headers={name: FAKE})
    assert resp.status_code == 200
    assert FAKE not in resp.text, resp.json()["headers"]


def test_spoofed_remote_user_does_not_bypass_login(browser, server, emulator):
    # Without a session the protected location redirects; the backend never sees the request.
    resp = browser.get(server.url("/demarches/page"), headers={"Remote-User": FAKE})
    assert resp.status_code in (302, 303)
    assert resp.headers["Location"].startswith(emulator.issuer)


def test_ordinary_headers_still_reach_php(browser, server):
    browser.login(server.url("/demarches/"), identity="testfc1")
    php_vars = php_server(browser.get(server.url("/demarches/"), headers={"X-Request-Id": "abc-123"}))
    assert php_vars["HTTP_X_REQUEST_ID"] == "abc-123"
