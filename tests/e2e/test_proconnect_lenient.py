"""The same ProConnect journeys against the emulator's lenient mode (unknown parameters dropped,
as the live service does since 2025-10): the module must pass against both modes."""

from urllib.parse import urljoin

import pytest

from e2e_rig.checks import php_server
from e2e_rig.proconnect import (  # noqa: F401 (fixture)
    _pc_emulator_back_to_normal, make_pc_site, start_pc_emulator, start_pc_site)
from test_proconnect_login import asked_acr, follow_to_site, query


@pytest.fixture(scope="module")
def pc_emulator(module_tmp, pki):
    emu = start_pc_emulator(module_tmp / "pc-emulator-lenient", pki, lenient=True)
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def nginx_site(make_site, pc_emulator):
    return make_pc_site(make_site, pc_emulator)


@pytest.fixture(scope="module")
def nginx(nginx_site, pc_emulator, start_nginx):
    return start_pc_site(nginx_site, pc_emulator, start_nginx)


def test_lenient_emulator_really_drops_unknown_parameters(browser, nginx):
    start = browser.start(nginx.url("/agents/"))
    assert browser.get(start + "&max_age=0").status_code == 200


def test_login_and_step_up_work_in_lenient_mode(browser, nginx):
    first = php_server(browser.login(nginx.url("/agents/"), identity="mfa@fia2.fr").final)
    login = browser.login(nginx.url("/agents/eidas2/x"), identity="mfa@fia2.fr")
    assert asked_acr(login.authorize_url) == ["eidas2", "eidas3"]
    server = php_server(login.final)
    assert server["SESAME_ACR"] == "eidas2"
    assert server["SESAME_USER"] == first["SESAME_USER"]


def test_silent_sso_fallback_works_in_lenient_mode(browser, nginx, pc_emulator):
    start = browser.start(nginx.url("/agents/silent/"))
    back = browser.get(start)
    retry = browser.get(urljoin(start, back.headers["Location"]))
    assert "prompt" not in query(retry.headers["Location"])
    callback = browser.authorize(retry.headers["Location"], identity="test@fia1.fr")
    final = follow_to_site(browser, browser.get(callback), nginx)
    assert php_server(final)["SESAME_PROVIDER"] == "pc"


def test_required_claims_in_lenient_mode(browser, nginx):
    final = browser.login(nginx.url("/agents/paris/"), identity="mfa@fia2.fr").final
    assert final.status_code == 403
