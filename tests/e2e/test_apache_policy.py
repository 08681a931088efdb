"""The per-location policy behind Apache: SesameAcr (step-up), SesameRequireClaim (403
page), SesamePrompt (prompt=login, silent SSO with one fallback), Sesame*Hint. The nginx
behaviour tests of test_proconnect_login run unchanged against an Apache site with the same
paths; the rest is Apache's own: `apache2 -t` with the core's reason, options inherited from an
enclosing <Location> (resolved per request), .htaccess."""

import pytest

from e2e_rig.checks import php_server
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    _pc_emulator_back_to_normal, make_pc_site, pc_emulator, start_pc_site)
from test_proconnect_login import (  # noqa: F401 (the nginx behaviour tests, run on Apache)
    asked_acr,
    query,
    test_acr_outside_the_asked_set_is_refused,
    test_acr_with_control_characters_is_refused_with_a_log_line,
    test_control_characters_in_claims_reach_the_backend_replaced_and_logged,
    test_eidas1_session_steps_up_to_eidas2_and_lands_on_the_asked_page,
    test_eidas1_session_steps_up_to_mfa_with_the_four_mfa_values,
    test_franceconnect_sensitive_location_asks_prompt_login_within_the_whitelist,
    test_hints_from_the_query_are_validated_and_fixed_ones_sent,
    test_id_token_with_a_wrong_at_hash_is_refused,
    test_id_token_without_at_hash_logs_in,
    test_mfa_acr_with_a_single_factor_amr_from_another_location_steps_up_at_an_mfa_location,
    test_max_auth_age_re_authenticates_an_old_session_once_and_lands_on_the_page,
    test_prompt_login_location_re_authenticates_a_session_authenticated_long_ago,
    test_provider_answering_prompt_login_with_an_old_authentication_gets_a_page_not_a_loop,
    test_mfa_claimed_without_a_second_factor_in_amr_is_refused,
    test_required_claim_values_let_the_right_agents_in,
    test_required_claim_values_refuse_other_agents_with_a_403_page,
    test_silent_sso_with_a_provider_session_logs_in_without_a_page,
    test_silent_sso_without_provider_session_falls_back_to_one_interactive_login,
    test_a_login_while_holding_a_session_ends_the_previous_session,
    test_step_up_ends_the_lower_session_in_redis_and_in_the_cache,
    test_step_up_with_another_account_is_refused_and_keeps_the_session,
)

# test_proconnect_login's PC_LOCATIONS, in Apache's words. Some sections name their provider
# next to the options (resolved at `apache2 -t`), others inherit it from /agents/ or /usagers/
# (resolved on the request that merges them): both paths are exercised.
PC_LOCATIONS = """\
AliasMatch "^/(usagers|agents|inherited)/" "{{PHP_DIR}}/index.php"
<Location /usagers/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /usagers/sensible/>
    SesameUse fc
    SesameAcr eidas1
    SesamePrompt login
</Location>
<Location /agents/>
    AuthType Sesame
    SesameUse pc
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /agents/mfa/>
    SesameUse pc
    SesameAcr mfa
</Location>
<Location /agents/any-level/>
    SesameAcr eidas1 eidas1-mfa
</Location>
<Location /agents/recent/>
    SesameMaxAuthAge 10m
</Location>
<Location /agents/eidas2/>
    SesameAcr eidas2 eidas3
</Location>
<Location /agents/paris/>
    SesameUse pc
    SesameRequireClaim siret 21750001600019 21750001600027
    SesameRequireClaim email @fia1.fr
</Location>
<Location /agents/paris/fia/>
    SesameRequireClaim idp_id fia1v2 fia2v2
</Location>
<Location /agents/eidas2/any/>
    SesameAcr eidas1 eidas2 eidas3
</Location>
<Location /agents/eidas2/fc/>
    SesameUse fc
</Location>
<Location /agents/silent/>
    SesamePrompt none
</Location>
<Location /agents/hint/>
    SesameLoginHint $arg_email
    SesameSiretHint $arg_siret
    SesameIdpHint fia1v2
    SesamePrompt login
</Location>
<Location /inherited/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /inherited/silent/>
    SesamePrompt none
</Location>
"""

HTACCESS = {
    "html/pcdocs/.htaccess": "AuthType Sesame\nSesameUse pc\nSesameAcr eidas2 eidas3\n"
                             "Require valid-user\n",
    "html/pcdocs/index.html": "pcdocs content\n",
    "html/pcbad/.htaccess": "AuthType Sesame\nSesameUse pc\nSesameAcr eidas9\n"
                            "Require valid-user\n",
    "html/pcbad/index.html": "never served\n",
}


@pytest.fixture(scope="module")
def make_site(make_apache_site):
    return make_apache_site


@pytest.fixture(scope="module")
def nginx_site(make_site, pc_emulator):
    site = make_pc_site(make_site, pc_emulator, locations=PC_LOCATIONS)
    site.files.update(HTACCESS)
    return site


@pytest.fixture(scope="module")
def nginx(nginx_site, pc_emulator, start_nginx):
    return start_pc_site(nginx_site, pc_emulator, start_nginx)


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
    rc, out = _config_test(make_site, pc_emulator, PC_LOCATIONS)
    assert rc == 0 and "Syntax OK" in out, out


# ---- requests -----------------------------------------------------------------------------

def test_inherited_option_the_provider_rejects_gives_500_and_the_reason_in_the_log(browser,
                                                                                   nginx):
    offset = nginx.log_size()
    assert browser.get(nginx.url("/inherited/silent/")).status_code == 500
    logged = nginx.log_since(offset)
    assert "SesamePrompt none is refused by FranceConnect" in logged, logged[-2000:]
    assert "SesamePrompt at " in logged, logged[-2000:]
    assert browser.get(nginx.url("/inherited/")).status_code == 303, "the parent still works"


def test_nested_section_adds_required_claims_to_the_inherited_ones(new_browser, nginx):
    paris = new_browser()
    php_server(paris.login(nginx.url("/agents/paris/fia/"), identity="test@fia1.fr").final)
    other = new_browser()
    final = other.login(nginx.url("/agents/paris/fia/"), identity="mfa@fia2.fr").final
    assert final.status_code == 403 and "Accès refusé" in final.text, \
        "the parent's siret rule still holds under the nested section's idp_id rule"


def test_nested_section_replaces_the_inherited_acr(browser, nginx):
    first = php_server(browser.login(nginx.url("/agents/"), identity="mfa@fia2.fr").final)
    assert first["SESAME_ACR"] == "eidas1"
    resp = browser.get(nginx.url("/agents/eidas2/any/"))
    assert resp.status_code == 200, "SesameAcr eidas1 eidas2 eidas3 replaces eidas2 eidas3: no step-up"
    assert php_server(resp)["SESAME_USER"] == first["SESAME_USER"]


def test_nested_section_with_another_provider_drops_the_inherited_options(browser, nginx,
                                                                            emulator):
    start = browser.start(nginx.url("/agents/eidas2/fc/"))
    assert start.startswith(emulator.issuer + "/authorize?"), start
    assert query(start)["acr_values"] == "eidas1"


def test_htaccess_sesame_acr_steps_up_and_lands_on_the_asked_page(browser, nginx):
    first = php_server(browser.login(nginx.url("/agents/"), identity="mfa@fia2.fr").final)
    assert first["SESAME_ACR"] == "eidas1"
    login = browser.login(nginx.url("/pcdocs/?page=2"), identity="mfa@fia2.fr")
    assert asked_acr(login.authorize_url) == ["eidas2", "eidas3"]
    assert login.callback.headers["Location"].endswith("/pcdocs/?page=2")
    assert login.final.status_code == 200 and login.final.text == "pcdocs content\n"
    after = php_server(browser.get(nginx.url("/agents/")))
    assert after["SESAME_ACR"] == "eidas2"
    assert after["SESAME_USER"] == first["SESAME_USER"], "the step-up keeps the identity"


def test_htaccess_sesame_acr_already_met_opens_without_a_login(browser, nginx):
    php_server(browser.login(nginx.url("/agents/eidas2/"), identity="mfa@fia2.fr").final)
    resp = browser.get(nginx.url("/pcdocs/"))
    assert resp.status_code == 200 and resp.text == "pcdocs content\n"


def test_htaccess_option_the_provider_rejects_is_a_500_with_the_reason(browser, nginx):
    offset = nginx.log_size()
    assert browser.get(nginx.url("/pcbad/")).status_code == 500
    logged = nginx.log_since(offset)
    assert "eidas9 is not a ProConnect value" in logged, logged[-2000:]
    assert ".htaccess" in logged, logged[-2000:]
