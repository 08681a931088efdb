"""The per-location policy behind Apache, what is Apache's own: `apache2 -t` with the core's
reason, options inherited from an enclosing <Location> (resolved per request), .htaccess. The
behaviours both servers share (SesameAcr step-up, SesameRequireClaim 403 page, SesamePrompt,
Sesame*Hint) run on both in test_proconnect_login, on the same site (APACHE_PC_LOCATIONS)."""

import pytest

from e2e_rig.checks import php_server
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    APACHE_PC_LOCATIONS, _pc_emulator_back_to_normal, asked_acr, make_pc_site, pc_emulator, query,
    start_pc_site)

pytestmark = pytest.mark.only("apache", reason="Apache's own: `apache2 -t` lines, options inherited from an enclosing section, .htaccess")

HTACCESS = {
    "html/pcdocs/.htaccess": "AuthType Sesame\nSesameUse pc\nSesameAcr eidas2 eidas3\n"
                             "Require valid-user\n",
    "html/pcdocs/index.html": "pcdocs content\n",
    "html/pcbad/.htaccess": "AuthType Sesame\nSesameUse pc\nSesameAcr eidas9\n"
                            "Require valid-user\n",
    "html/pcbad/index.html": "never served\n",
}


@pytest.fixture(scope="module")
def site(make_site, pc_emulator):
    site = make_pc_site(make_site, pc_emulator, locations=APACHE_PC_LOCATIONS)
    site.files.update(HTACCESS)
    return site


@pytest.fixture(scope="module")
def server(site, pc_emulator, start_server):
    return start_pc_site(site, pc_emulator, start_server)


# ---- configuration ------------------------------------------------------------------------

def _config_test(make_site, pc_emulator, section):
    site = make_pc_site(make_site, pc_emulator, locations=section)
    return site.config_test()


def test_option_franceconnect_rejects_fails_config_test_with_the_core_reason(make_site,
                                                                             pc_emulator):
    rc, out = _config_test(make_site, pc_emulator, """\
<Location /usagers/>
    AuthType Sesame
    SesameUse fc
    SesamePrompt none
    Require valid-user
</Location>
""")
    assert rc != 0, out
    assert "SesamePrompt none is refused by FranceConnect" in out, out
    assert "SesamePrompt at " in out and "apache.conf:" in out, out


def test_acr_value_proconnect_does_not_know_fails_config_test(make_site, pc_emulator):
    rc, out = _config_test(make_site, pc_emulator, """\
<Location /agents/>
    AuthType Sesame
    SesameUse pc
    SesameAcr eidas1 eidas9
    Require valid-user
</Location>
""")
    assert rc != 0 and "eidas9 is not a ProConnect value" in out, out
    assert "SesameAcr at " in out, out


def test_siret_hint_on_franceconnect_fails_config_test(make_site, pc_emulator):
    rc, out = _config_test(make_site, pc_emulator, """\
<Location /usagers/>
    AuthType Sesame
    SesameUse fc
    SesameSiretHint $arg_siret
    Require valid-user
</Location>
""")
    assert rc != 0 and "SesameSiretHint is refused by FranceConnect" in out, out


@pytest.mark.parametrize("line, why", [
    ("SesamePrompt login none", "SesamePrompt takes exactly one value"),
    ("SesameRequireClaim siret", "SesameRequireClaim takes a claim name then its accepted values"),
    ("SesameAcr eidas1\n    SesameAcr eidas2", "SesameAcr is duplicate"),
    ("SesameMaxAuthAge 30s", "SesameMaxAuthAge \"30s\" is below 60s"),
    ("SesameMaxAuthAge 5m\n    SesamePrompt none", "cannot be combined with SesamePrompt none"),
])
def test_malformed_option_lines_fail_config_test_at_their_line(make_site, pc_emulator, line,
                                                                why):
    rc, out = _config_test(make_site, pc_emulator, f"""\
<Location /agents/>
    AuthType Sesame
    SesameUse pc
    {line}
    Require valid-user
</Location>
""")
    assert rc != 0 and why in out, out


def test_options_next_to_sesame_logout_alone_fail_config_test(make_site, pc_emulator):
    rc, out = _config_test(make_site, pc_emulator, """\
<Location /logout>
    SetHandler sesame-logout
    SesameLogout pc
    SesameAcr eidas1
</Location>
""")
    assert rc != 0 and "only applies to a protected location" in out, out
    assert "SesameAcr at " in out, out


def test_valid_options_pass_config_test(make_site, pc_emulator):
    rc, out = _config_test(make_site, pc_emulator, APACHE_PC_LOCATIONS)
    assert rc == 0 and "Syntax OK" in out, out


# ---- requests -----------------------------------------------------------------------------

def test_inherited_option_the_provider_rejects_gives_500_and_the_reason_in_the_log(browser,
                                                                                   server):
    offset = server.log_size()
    assert browser.get(server.url("/inherited/silent/")).status_code == 500
    logged = server.log_since(offset)
    assert "SesamePrompt none is refused by FranceConnect" in logged, logged[-2000:]
    assert "SesamePrompt at " in logged, logged[-2000:]
    assert browser.get(server.url("/inherited/")).status_code == 303, "the parent still works"


def test_nested_section_adds_required_claims_to_the_inherited_ones(new_browser, server):
    paris = new_browser()
    php_server(paris.login(server.url("/agents/paris/fia/"), identity="test@fia1.fr").final)
    other = new_browser()
    final = other.login(server.url("/agents/paris/fia/"), identity="mfa@fia2.fr").final
    assert final.status_code == 403 and "Accès refusé" in final.text, \
        "the parent's siret rule still holds under the nested section's idp_id rule"


def test_nested_section_replaces_the_inherited_acr(browser, server):
    first = php_server(browser.login(server.url("/agents/"), identity="mfa@fia2.fr").final)
    assert first["SESAME_ACR"] == "eidas1"
    resp = browser.get(server.url("/agents/eidas2/any/"))
    assert resp.status_code == 200, "SesameAcr eidas1 eidas2 eidas3 replaces eidas2 eidas3: no step-up"
    assert php_server(resp)["SESAME_USER"] == first["SESAME_USER"]


def test_nested_section_with_another_provider_drops_the_inherited_options(browser, server,
                                                                            emulator):
    start = browser.start(server.url("/agents/eidas2/fc/"))
    assert start.startswith(emulator.issuer + "/authorize?"), start
    assert query(start)["acr_values"] == "eidas1"


def test_htaccess_sesame_acr_steps_up_and_lands_on_the_asked_page(browser, server):
    first = php_server(browser.login(server.url("/agents/"), identity="mfa@fia2.fr").final)
    assert first["SESAME_ACR"] == "eidas1"
    login = browser.login(server.url("/pcdocs/?page=2"), identity="mfa@fia2.fr")
    assert asked_acr(login.authorize_url) == ["eidas2", "eidas3"]
    assert login.callback.headers["Location"].endswith("/pcdocs/?page=2")
    assert login.final.status_code == 200 and login.final.text == "pcdocs content\n"
    after = php_server(browser.get(server.url("/agents/")))
    assert after["SESAME_ACR"] == "eidas2"
    assert after["SESAME_USER"] == first["SESAME_USER"], "the step-up keeps the identity"


def test_htaccess_sesame_acr_already_met_opens_without_a_login(browser, server):
    php_server(browser.login(server.url("/agents/eidas2/"), identity="mfa@fia2.fr").final)
    resp = browser.get(server.url("/pcdocs/"))
    assert resp.status_code == 200 and resp.text == "pcdocs content\n"


def test_htaccess_option_the_provider_rejects_is_a_500_with_the_reason(browser, server):
    offset = server.log_size()
    assert browser.get(server.url("/pcbad/")).status_code == 500
    logged = server.log_since(offset)
    assert "eidas9 is not a ProConnect value" in logged, logged[-2000:]
    assert ".htaccess" in logged, logged[-2000:]
