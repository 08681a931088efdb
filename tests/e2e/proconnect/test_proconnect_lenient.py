"""The same ProConnect journeys against the emulator's lenient mode (unknown parameters dropped,
as the live service does since 2025-10): the module must pass against both modes."""

from urllib.parse import urljoin

import pytest

from e2e_rig.checks import php_server
from e2e_rig.proconnect import (  # noqa: F401 (fixture)
    PC_SITE, _pc_emulator_back_to_normal, asked_acr, follow_to_site, make_pc_site, query,
    start_pc_emulator, start_pc_site)


@pytest.fixture(scope="module")
def pc_emulator(module_tmp, pki):
    emu = start_pc_emulator(module_tmp / "pc-emulator-lenient", pki, lenient=True)
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def site(make_site, server_kind, pc_emulator):
    return make_pc_site(make_site, pc_emulator, locations=PC_SITE[server_kind])


@pytest.fixture(scope="module")
def server(site, pc_emulator, start_server):
    return start_pc_site(site, pc_emulator, start_server)


def test_lenient_emulator_really_drops_unknown_parameters(browser, server):
    start = browser.start(server.url("/agents/"))
    assert browser.get(start + "&max_age=0").status_code == 200


def test_login_and_step_up_work_in_lenient_mode(browser, server):
    first = php_server(browser.login(server.url("/agents/"), identity="mfa@fia2.fr").final)
    login = browser.login(server.url("/agents/eidas2/x"), identity="mfa@fia2.fr")
    assert asked_acr(login.authorize_url) == ["eidas2", "eidas3"]
    php_vars = php_server(login.final)
    assert php_vars["SESAME_ACR"] == "eidas2"
    assert php_vars["SESAME_USER"] == first["SESAME_USER"]


def test_silent_sso_fallback_works_in_lenient_mode(browser, server, pc_emulator):
    start = browser.start(server.url("/agents/silent/"))
    back = browser.get(start)
    retry = browser.get(urljoin(start, back.headers["Location"]))
    assert "prompt" not in query(retry.headers["Location"])
    callback = browser.authorize(retry.headers["Location"], identity="test@fia1.fr")
    final = follow_to_site(browser, browser.get(callback), server)
    assert php_server(final)["SESAME_PROVIDER"] == "pc"


def test_required_claims_in_lenient_mode(browser, server):
    final = browser.login(server.url("/agents/paris/"), identity="mfa@fia2.fr").final
    assert final.status_code == 403
