"""The audit line of a ProConnect login names the identity provider (`idp_id`) and the
authentication methods (`amr`) the login used, the level granted and the user key the backend
got; a login the user cancels at ProConnect is recorded with the provider's error code."""

import json

import pytest

from e2e_rig.checks import php_server
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    APACHE_PC_LOCATIONS, PC_LOCATIONS, _pc_emulator_back_to_normal, make_pc_site, pc_emulator,
    start_pc_site)


@pytest.fixture(scope="module")
def site(make_site, server_kind, pc_emulator):
    locations = {"nginx": PC_LOCATIONS, "apache": APACHE_PC_LOCATIONS}[server_kind]
    site = make_pc_site(make_site, pc_emulator, locations=locations)
    site.http["audit_log"] = str(site.prefix / "logs" / "audit.log")
    return site


@pytest.fixture(scope="module")
def server(site, pc_emulator, start_server):
    return start_pc_site(site, pc_emulator, start_server)


def _last_record(site):
    return json.loads((site.prefix / "logs" / "audit.log").read_text().splitlines()[-1])


def test_a_proconnect_login_records_its_identity_provider_and_methods(browser, server, site):
    php_vars = php_server(browser.login(server.url("/agents/mfa/"), identity="test@fia1.fr").final)
    record = _last_record(site)
    assert record["provider"] == "pc" and record["outcome"] == "success", record
    assert record["idp_id"] == php_vars["SESAME_CLAIM_IDP_ID"] == "fia1v2"
    assert record["amr"] == json.loads(php_vars["SESAME_CLAIM_AMR"]) == ["pwd", "mail"]
    assert record["acr"] == php_vars["SESAME_ACR"]
    assert record["user"] == php_vars["SESAME_USER"]
    assert "test@fia1.fr" not in (site.prefix / "logs" / "audit.log").read_text()


def test_a_level_proconnect_cannot_reach_is_recorded_with_its_error_code(browser, server, site):
    login = browser.login(server.url("/agents/eidas2/"), identity="noamr@fia3.fr")
    assert login.callback.status_code == 403
    record = _last_record(site)
    assert record["outcome"] == "provider_error:access_denied", record
    assert record["ref"] in login.callback.text
    assert record["user"] is None and record["idp_id"] is None
