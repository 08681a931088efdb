"""ProConnect with `token_auth private_key_jwt`: every request Sesame makes with the client's
credentials — the code exchange, the refresh and the revocation at logout (RFC 7009) — carries a
fresh assertion signed with `client_signing_key_file`, which the emulator verifies with the key
it reads at the site's `jwks_uri`; a secret is never sent."""

import time

import pytest

from e2e_rig.checks import php_server
from e2e_rig.fcplus import keygen
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    _pc_emulator_back_to_normal, add_pc_provider, pc_client, pc_emulator, start_pc_site)

from .test_proconnect_tokens import LOCATIONS, revocations, token_status

JWKS_PATH = "/sesame/pc/jwks"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module", params=["ec", "rsa"])
def server(request, make_site, server_kind, pc_emulator, start_server):
    """A ProConnect site whose client authenticates with an EC (ES256) or RSA (RS256) key."""
    site = make_site(locations=LOCATIONS[server_kind])
    key = keygen(site.prefix / "keys" / f"client-sig-{request.param}.pem", request.param)
    client = dict(pc_client(site.base), token_endpoint_auth_method="private_key_jwt",
                  jwks_uri=site.base + JWKS_PATH)
    add_pc_provider(site, pc_emulator, client, token_auth="private_key_jwt",
                    client_signing_key_file=key, jwks_uri=site.base + JWKS_PATH)
    server = start_pc_site(site, pc_emulator, start_server)
    server.pc_site = site
    return server


def assert_assertion_only(request):
    form = dict(tuple(pair) for pair in request["form"] or [])
    assert form.get("client_assertion_type") == ASSERTION_TYPE, form
    assert form.get("client_assertion", "").count(".") == 2, form
    assert "client_secret" not in form and not request["authorization"], request


def test_code_exchange_refresh_and_revocation_authenticate_with_the_site_key(
        new_browser, server, pc_emulator):
    pc_emulator.control(access_token_ttl=15)
    pc_emulator.clear_requests()
    browser = new_browser()
    first = php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    old = first["SESAME_ACCESS_TOKEN"]
    assert token_status(pc_emulator, old)["active"] is True
    # Within 10 s of its end the token is refreshed, with a new assertion.
    time.sleep(6)
    fresh = php_server(browser.get(server.url("/agents/")))
    new = fresh["SESAME_ACCESS_TOKEN"]
    assert new != old and token_status(pc_emulator, new)["active"] is True
    exchanges = pc_emulator.requests_to("/token")
    grants = [dict(tuple(p) for p in r["form"]).get("grant_type") for r in exchanges]
    assert grants == ["authorization_code", "refresh_token"], grants
    for request in exchanges:
        assert_assertion_only(request)
    assertions = [dict(tuple(p) for p in r["form"])["client_assertion"] for r in exchanges]
    assert len(set(assertions)) == 2, "each request has its own assertion (jti)"

    before = len(revocations(pc_emulator))
    browser.follow(browser.get(server.url("/agents/logout")))
    done = revocations(pc_emulator)[before:]
    assert sorted(r["outcome"] for r in done) == ["access_token", "refresh_token"], done
    assert token_status(pc_emulator, new)["active"] is False
    for request in pc_emulator.requests_to("/token/revocation"):
        assert_assertion_only(request)


def test_an_assertion_the_provider_cannot_verify_fails_the_login_with_invalid_client(
        new_browser, server, pc_emulator):
    """The keys URL registered at the provider publishes no key of the site: the token
    exchange is refused (invalid_client), and the log says so."""
    registered = server.pc_site.pc_client
    pc_emulator.add_client(dict(registered, jwks_uri=server.pc_site.base + "/no-such-jwks"))
    offset = server.log_size()
    try:
        login = new_browser().login(server.url("/agents/"), identity="test@fia1.fr")
        assert login.final.status_code >= 400, login.final.status_code
        assert "invalid_client" in server.log_since(offset)
    finally:
        pc_emulator.add_client(registered)
    # Registered right again, the same site logs in.
    again = new_browser().login(server.url("/agents/"), identity="test@fia1.fr")
    assert php_server(again.final)["SESAME_ACCESS_TOKEN"]
