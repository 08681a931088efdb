"""ProConnect behind Apache: an agent logs in through the strict ProConnect emulator, PHP gets the
uniform claims, and `Require sesame-acr` follows ProConnect's rule (a set of accepted values,
never "greater than"; `mfa` for its multi-factor values, verified at login), `Require sesame-claim`
filters agents by SIRET or e-mail domain with the semantics of `SesameRequireClaim`."""

import json

import pytest

from e2e_rig.checks import php_server
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    _pc_emulator_back_to_normal, make_pc_site, pc_emulator, start_pc_site)

pytestmark = pytest.mark.only("apache", reason="Apache's Require sesame-acr / sesame-claim authorization providers")

AGENTS = """\
AliasMatch "^/agents/" "{{PHP_DIR}}/index.php"
<Location /agents/>
    AuthType Sesame
    SesameUse pc
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /agents/eidas1/>
    Require sesame-acr eidas1
</Location>
<Location /agents/eidas2/>
    Require sesame-acr eidas2 eidas3
</Location>
<Location /agents/paris/>
    Require sesame-claim siret 21750001600019 21750001600027
</Location>
<Location /agents/fia1/>
    Require sesame-claim email @fia1.fr
</Location>
<Location /agents/uid/>
    Require sesame-claim uid c-4
</Location>
<Location /agents/uid-text/>
    Require sesame-claim uid ["c-4"]
</Location>
<Location /agents/login-mfa/>
    SesameAcr mfa
</Location>
<Location /agents/login-any-level/>
    SesameAcr eidas1 eidas1-mfa
</Location>
<Location /agents/require-mfa/>
    Require sesame-acr mfa
</Location>
"""


@pytest.fixture(scope="module")
def site(make_site, pc_emulator):
    return make_pc_site(make_site, pc_emulator, locations=AGENTS)


@pytest.fixture(scope="module")
def server(site, pc_emulator, start_server):
    return start_pc_site(site, pc_emulator, start_server)


def test_agent_logs_in_and_php_gets_the_uniform_claims(browser, server):
    php_vars = php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    assert php_vars["SESAME_PROVIDER"] == "pc"
    assert php_vars["SESAME_FAMILY_NAME"] == "DUBOIS" == php_vars["SESAME_CLAIM_USUAL_NAME"]
    assert php_vars["SESAME_SIRET"] == "21750001600019"
    assert php_vars["SESAME_ACR"] == "eidas1"


def test_require_sesame_acr_is_a_set_for_proconnect(browser, server):
    php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    assert php_server(browser.get(server.url("/agents/eidas1/")))["SESAME_ACR"] == "eidas1"
    assert browser.get(server.url("/agents/eidas2/")).status_code in (401, 403)


def test_require_sesame_claim_filters_agents_by_siret(new_browser, server):
    ok = new_browser()
    php_server(ok.login(server.url("/agents/"), identity="test@fia1.fr").final)
    assert ok.get(server.url("/agents/paris/")).status_code == 200
    other = new_browser()
    php_server(other.login(server.url("/agents/"), identity="mfa@fia2.fr").final)
    assert other.get(server.url("/agents/paris/")).status_code in (401, 403)


def test_require_sesame_claim_matches_an_email_domain_like_sesame_require(new_browser, server):
    ok = new_browser()
    php_server(ok.login(server.url("/agents/"), identity="test@fia1.fr").final)
    assert ok.get(server.url("/agents/fia1/")).status_code == 200
    other = new_browser()
    php_server(other.login(server.url("/agents/"), identity="mfa@fia2.fr").final)
    assert other.get(server.url("/agents/fia1/")).status_code in (401, 403)


def test_require_sesame_acr_mfa_admits_a_session_whose_login_proved_a_second_factor(browser,
                                                                                     server):
    php_vars = php_server(browser.login(server.url("/agents/login-mfa/"),
                                      identity="test@fia1.fr").final)
    assert php_vars["SESAME_ACR"] == "eidas1-mfa"
    resp = browser.get(server.url("/agents/require-mfa/"))
    assert resp.status_code == 200 and php_server(resp)["SESAME_ACR"] == "eidas1-mfa"


def test_require_sesame_acr_mfa_refuses_an_mfa_acr_with_a_single_factor_amr(browser, server,
                                                                            pc_emulator):
    pc_emulator.misbehave("mfa_single_factor_amr")
    php_vars = php_server(browser.login(server.url("/agents/login-any-level/"),
                                      identity="test@fia1.fr").final)
    assert php_vars["SESAME_ACR"] == "eidas1-mfa"
    assert json.loads(php_vars["SESAME_CLAIM_AMR"]) == ["pwd"]
    assert browser.get(server.url("/agents/require-mfa/")).status_code in (401, 403)


def test_require_sesame_claim_compares_a_string_that_looks_like_an_array_as_a_string(browser,
                                                                                     server):
    php_vars = php_server(browser.login(server.url("/agents/"), identity="ctrl@fia1.fr").final)
    assert php_vars["SESAME_CLAIM_UID"] == '["c-4"]'
    assert browser.get(server.url("/agents/uid/")).status_code in (401, 403), \
        "a string claim is not an array"
    assert browser.get(server.url("/agents/uid-text/")).status_code == 200
