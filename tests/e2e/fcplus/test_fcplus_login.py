"""FranceConnect+ end to end: a login and a logout per encryption algorithm, the site's JWKS,
the step-up to eidas3, and every refusal of an encrypted token, on nginx and Apache."""

from urllib.parse import urljoin

import pytest

from e2e_rig.browser import Browser
from e2e_rig.checks import assert_page, php_server
from e2e_rig.fcplus import (  # noqa: F401 (fixtures)
    FCP_SITE, JWKS_PATH, _fcp_emulator_back_to_normal, add_fcp_provider, fcp_client,
    fcp_emulator, key_kind, keygen, start_fcp_site)

ALGS = ["ECDH-ES", "RSA-OAEP-256", "RSA-OAEP"]


def plus_site(make_site, server_kind, fcp_emulator, start_server, alg, signing=False):
    site = make_site(locations=FCP_SITE[server_kind])
    keys = site.prefix / "keys"
    enc = keygen(keys / "enc.pem", key_kind(alg))
    client = fcp_client(site.base, alg)
    extra = {}
    if signing:
        # A signing key in the JWKS too (use sig): a JWE naming it must be refused.
        client["token_endpoint_auth_method"] = "private_key_jwt"
        extra = {"token_auth": "private_key_jwt",
                 "client_signing_key_file": keygen(keys / "sig.pem", "ec")}
    add_fcp_provider(site, fcp_emulator, client, [enc], **extra)
    server = start_fcp_site(site, fcp_emulator, start_server)
    server.enc_key = enc
    return server


@pytest.fixture(scope="module", params=ALGS)
def by_alg(request, make_site, server_kind, fcp_emulator, start_server):
    return plus_site(make_site, server_kind, fcp_emulator, start_server, request.param)


@pytest.fixture(scope="module")
def strict(make_site, server_kind, fcp_emulator, start_server):
    return plus_site(make_site, server_kind, fcp_emulator, start_server, "RSA-OAEP-256",
                     signing=True)


def follow(browser, resp, limit=6):
    for _ in range(limit):
        if resp.status_code not in (302, 303):
            return resp
        resp = browser.get(urljoin(resp.url, resp.headers["Location"]))
    return resp


def test_login_and_logout_through_franceconnect_plus(by_alg, pki, fcp_emulator):
    browser = Browser(pki.ca, site_base=by_alg.base)
    login = browser.login(by_alg.url("/plus/"), identity="testfc1")
    asked = login.authorize_params()
    assert asked["acr_values"] == "eidas2"
    assert "code_challenge" not in asked
    server = php_server(login.final)
    assert server["SESAME_ACR"] == "eidas2"
    assert server["SESAME_FAMILY_NAME"] == "DUBOIS"
    assert server["SESAME_PROVIDER"] == "fcp"
    # Logout through FranceConnect+: the id_token_hint it verifies is the signed JWT.
    out = browser.get(by_alg.url("/plus/logout"))
    assert out.status_code == 303 and out.headers["Location"].startswith(
        fcp_emulator.issuer + "/session/end?")
    back = follow(browser, browser.get(out.headers["Location"]))
    assert back.status_code == 200, back.text[:500]
    assert fcp_emulator.last_error() is None
    again = browser.get(by_alg.url("/plus/"))
    assert again.status_code in (302, 303)


def test_the_jwks_holds_the_public_encryption_key_only(by_alg, pki):
    browser = Browser(pki.ca, site_base=by_alg.base)
    resp = browser.get(by_alg.url(JWKS_PATH))
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    keys = resp.json()["keys"]
    assert len(keys) == 1
    (key,) = keys
    assert key["use"] == "enc" and key["kid"]
    assert key["alg"] == by_alg.site.fcp_client["id_token_encrypted_response_alg"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), key


def test_a_location_asking_eidas3_gets_eidas3(strict, pki):
    browser = Browser(pki.ca, site_base=strict.base)
    login = browser.login(strict.url("/plus/high/"), identity="testfc1")
    assert login.authorize_params()["acr_values"] == "eidas3"
    assert php_server(login.final)["SESAME_ACR"] == "eidas3"


def test_jwks_lists_the_signing_key_with_use_sig(strict, pki):
    keys = Browser(pki.ca, site_base=strict.base).get(strict.url(JWKS_PATH)).json()["keys"]
    assert [k["use"] for k in keys] == ["enc", "sig"]
    assert keys[1]["alg"] == "ES256"


@pytest.mark.parametrize("switch, cause", [
    ("plain_jws", "is a plain signed JWT"),
    ("userinfo_plain_jws", "userinfo JWT: is a plain signed JWT"),
    ("jwe_wrong_alg", "JWE alg RSA-OAEP but the site's key"),
    ("jwe_wrong_enc", "is not A256GCM"),
    ("jwe_zip", "asks for compression (zip)"),
    ("jwe_no_kid", "JWE header has no kid"),
    ("jwe_unknown_kid", "is none of the site's encryption keys"),
    ("jwe_sig_key", "is the site's signing key (use sig)"),
    ("jwe_inner_wrong_key", "signature does not verify"),
    ("jwe_inner_wrong_alg", "is signed with \"RS256\" but the client is registered for ES256"),
])
def test_each_refusal_is_an_error_page_and_a_log_line_naming_the_cause(
        strict, pki, fcp_emulator, switch, cause):
    fcp_emulator.misbehave(switch)
    offset = strict.log_size()
    browser = Browser(pki.ca, site_base=strict.base)
    login = browser.login(strict.url("/plus/"), identity="testfc1")
    assert_page(login.callback, range(400, 600))
    assert browser.get(strict.url("/plus/")).status_code in (302, 303)
    log = strict.log_since(offset)
    assert cause in log, log[-2000:]


def test_private_key_jwt_login_sends_an_assertion_and_no_secret(strict, pki, fcp_emulator):
    fcp_emulator.clear_requests()
    login = Browser(pki.ca, site_base=strict.base).login(strict.url("/plus/"))
    php_server(login.final)
    (token,) = fcp_emulator.requests_to("/token")
    form = dict(token["form"])
    assert "client_secret" not in form
    assert form["client_assertion_type"].endswith(":jwt-bearer")
