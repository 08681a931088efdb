"""ProConnect clients as registered: HS256 keyed by the client secret, userinfo as plain JSON when
no userinfo alg is registered; the reading mode follows the configuration, never the response."""

import pytest

from e2e_rig.browser import Browser

from e2e_rig.checks import assert_page, php_server
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    _pc_emulator_back_to_normal, add_pc_provider, pc_client, pc_emulator)
from e2e_rig.proconnect import PC_SITE


@pytest.fixture(scope="module")
def hs256_json(make_site, server_kind, pc_emulator, start_server):
    site = make_site(locations=PC_SITE[server_kind])
    client = pc_client(site.base, alg="HS256", userinfo_alg=None)
    add_pc_provider(site, pc_emulator, client, id_token_alg="HS256", userinfo="json")
    site.clients = [c for c in site.clients if c is not client]
    server = start_server(site)
    pc_emulator.add_client(client)
    return server


@pytest.fixture(scope="module")
def rs256_jwt(make_site, server_kind, pc_emulator, start_server):
    site = make_site(locations=PC_SITE[server_kind])
    client = pc_client(site.base, alg="RS256")
    add_pc_provider(site, pc_emulator, client, id_token_alg="RS256")
    site.clients = [c for c in site.clients if c is not client]
    server = start_server(site)
    pc_emulator.add_client(client)
    return server


def test_hs256_client_with_json_userinfo_logs_in(hs256_json, pki):
    browser = Browser(pki.ca, site_base=hs256_json.base)
    server = php_server(browser.login(hs256_json.url("/agents/"), identity="test@fia1.fr").final)
    assert server["SESAME_FAMILY_NAME"] == "DUBOIS"
    assert server["SESAME_PROVIDER"] == "pc"


def test_rs256_client_with_signed_userinfo_logs_in(rs256_jwt, pki):
    browser = Browser(pki.ca, site_base=rs256_jwt.base)
    server = php_server(browser.login(rs256_jwt.url("/agents/"), identity="mfa@fia2.fr").final)
    assert server["SESAME_IDP_ID"] == "fia2v2"


def test_plain_json_userinfo_is_refused_when_a_signed_one_is_registered(rs256_jwt, pki,
                                                                        pc_emulator):
    pc_emulator.misbehave("userinfo_plain_json")
    login = Browser(pki.ca, site_base=rs256_jwt.base).login(rs256_jwt.url("/agents/"), identity="test@fia1.fr")
    assert_page(login.callback, range(400, 600))


def test_forged_hs256_id_token_is_refused(hs256_json, pki, pc_emulator):
    pc_emulator.misbehave("wrong_nonce")
    login = Browser(pki.ca, site_base=hs256_json.base).login(hs256_json.url("/agents/"), identity="test@fia1.fr")
    assert_page(login.callback, range(400, 600))
