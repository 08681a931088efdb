"""Apache's merged sections follow the core's nesting rule, the one nginx's nested locations
follow (test_location_inherit_nginx.py): a section of the same provider keeps the options of the
sections around it (<Location> merged in order, <Directory> then its .htaccess), an option it
writes replaces the inherited one, SesameRequireClaim lines accumulate, a section naming
another provider starts without them; options written before any SesameUse go to the section
that names one (an .htaccess's options meet the SesameUse of a <Location>, which Apache merges
after it; nginx refuses options without an enclosing `sesame` at `nginx -t`)."""

import pytest

from e2e_rig.checks import assert_page, php_server
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    _pc_emulator_back_to_normal, make_pc_site, asked_acr, query, pc_emulator, start_pc_site)

pytestmark = pytest.mark.only("apache", reason="Apache's merge of <Location>, <Directory> and .htaccess sections")

MFA = ["eidas0-mfa", "eidas1-mfa", "eidas2", "eidas3"]
# test@fia1.fr works for this SIRET at identity provider fia1v2; mfa@fia2.fr does neither.
SIRET = "21750001600019"

LOCATIONS = f"""\
AliasMatch "^/(agents|nest|nest-mfa|early)/" "{{{{PHP_DIR}}}}/index.php"
<Location /agents/>
    AuthType Sesame
    SesameUse pc
    Require valid-user
{{{{PHP_HANDLER}}}}</Location>
<Location /nest/>
    AuthType Sesame
    SesameUse pc
    SesameRequireClaim siret {SIRET}
    Require valid-user
{{{{PHP_HANDLER}}}}</Location>
<Location /nest/inner/>
    SesameUse pc
    SesameRequireClaim idp_id fia1v2
</Location>
<Location /nest-mfa/>
    AuthType Sesame
    SesameUse pc
    SesameAcr mfa
    Require valid-user
{{{{PHP_HANDLER}}}}</Location>
<Location /nest-mfa/inner/>
    SesameUse pc
</Location>
<Location /nest-mfa/any/>
    SesameAcr eidas1 eidas1-mfa
</Location>
<Location /nest-mfa/fc/>
    SesameUse fc
</Location>
<Location /early/>
    SesameRequireClaim siret {SIRET}
{{{{PHP_HANDLER}}}}</Location>
<Location /early/in/>
    AuthType Sesame
    SesameUse pc
    Require valid-user
</Location>
<Location /locdocs/>
    AuthType Sesame
    SesameUse pc
    Require valid-user
</Location>
<Directory "{{{{PREFIX}}}}/html/hta">
    AuthType Sesame
    SesameUse pc
    SesameRequireClaim siret {SIRET}
    Require valid-user
</Directory>
"""

HTACCESS = {
    "html/hta/index.html": "hta content\n",
    "html/hta/mfa/.htaccess": "SesameAcr mfa\n",
    "html/hta/mfa/index.html": "hta mfa content\n",
    "html/hta/fc/.htaccess": "SesameUse fc\n",
    "html/hta/fc/index.html": "hta fc content\n",
    "html/locdocs/.htaccess": "SesameAcr mfa\n",
    "html/locdocs/index.html": "locdocs content\n",
}


@pytest.fixture(scope="module")
def site(make_site, pc_emulator):
    site = make_pc_site(make_site, pc_emulator, locations=LOCATIONS)
    site.files.update(HTACCESS)
    return site


@pytest.fixture(scope="module")
def server(site, pc_emulator, start_server):
    return start_pc_site(site, pc_emulator, start_server)


def logged_in(browser, server, identity):
    """A ProConnect session at eidas1 (no MFA), opened at a section without options."""
    got = php_server(browser.login(server.url("/agents/"), identity=identity).final)
    assert got["SESAME_ACR"] == "eidas1"
    return got


def assert_steps_up_to_mfa(resp, pc_emulator):
    assert resp.status_code == 303, \
        f"the inherited SesameAcr was skipped: {resp.status_code}\n{resp.text[:500]}"
    location = resp.headers["Location"]
    assert location.startswith(pc_emulator.issuer + "/authorize?"), location
    assert asked_acr(location) == MFA


def assert_refused(resp):
    assert_page(resp, [403])
    assert "Accès refusé" in resp.text


# ---- nested <Location> sections ------------------------------------------------------------

def test_nested_section_keeps_the_enclosing_required_claims_and_adds_its_own(
        browser, new_browser, server):
    logged_in(browser, server, "mfa@fia2.fr")
    assert_refused(browser.get(server.url("/nest/inner/")))
    agent = new_browser()
    logged_in(agent, server, "test@fia1.fr")
    assert php_server(agent.get(server.url("/nest/inner/")))["SESAME_IDP_ID"] == "fia1v2"


def test_nested_section_keeps_the_enclosing_acr(browser, server, pc_emulator):
    logged_in(browser, server, "test@fia1.fr")
    assert_steps_up_to_mfa(browser.get(server.url("/nest-mfa/inner/")), pc_emulator)


def test_nested_section_writing_acr_replaces_the_enclosing_one(browser, server):
    first = logged_in(browser, server, "test@fia1.fr")
    resp = browser.get(server.url("/nest-mfa/any/"))
    assert resp.status_code == 200, "SesameAcr eidas1 eidas1-mfa replaces mfa: no step-up"
    assert php_server(resp)["SESAME_USER"] == first["SESAME_USER"]


def test_nested_section_of_another_provider_starts_without_the_enclosing_options(
        browser, server, emulator):
    start = browser.start(server.url("/nest-mfa/fc/"))
    assert start.startswith(emulator.issuer + "/authorize?"), start
    assert query(start)["acr_values"] == "eidas1"


def test_options_written_before_any_sesame_use_go_to_the_section_that_names_one(
        browser, new_browser, server):
    logged_in(browser, server, "mfa@fia2.fr")
    assert_refused(browser.get(server.url("/early/in/")))
    agent = new_browser()
    logged_in(agent, server, "test@fia1.fr")
    assert php_server(agent.get(server.url("/early/in/")))["SESAME_SIRET"] == SIRET


# ---- <Directory> and its .htaccess ---------------------------------------------------------

def test_htaccess_acr_comes_on_top_of_the_directory_required_claims(
        browser, new_browser, server, pc_emulator):
    logged_in(browser, server, "test@fia1.fr")
    assert browser.get(server.url("/hta/")).text == "hta content\n"
    assert_steps_up_to_mfa(browser.get(server.url("/hta/mfa/")), pc_emulator)
    other = new_browser()
    logged_in(other, server, "mfa@fia2.fr")
    assert_refused(other.get(server.url("/hta/")))


def test_htaccess_options_meet_the_sesame_use_of_an_enclosing_location(
        browser, server, pc_emulator):
    logged_in(browser, server, "test@fia1.fr")
    assert_steps_up_to_mfa(browser.get(server.url("/locdocs/")), pc_emulator)


def test_htaccess_naming_another_provider_starts_without_the_directory_options(
        browser, server, emulator):
    start = browser.start(server.url("/hta/fc/"))
    assert start.startswith(emulator.issuer + "/authorize?"), start
    assert query(start)["acr_values"] == "eidas1"
