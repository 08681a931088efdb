"""`apache2 -t` refuses bad Sesame configurations with the core's own message (the same checks
and words as `nginx -t`: the mutations are test_config's), and keeps Apache's rules on where each
directive may appear."""

import pytest

from e2e_rig.apache import STANDARD_LOCATIONS
from test_config import CASES

# Location-level mutations written for nginx's syntax, replaced by Apache equivalents below.
NGINX_ONLY = {"unknown_provider_in_location", "unknown_provider_in_logout"}


def unknown_provider_in_location(site):
    site.locations = STANDARD_LOCATIONS.replace("SesamePassHeaders On", "SesamePassHeaders On\n    SesameUse nosuch")


def unknown_provider_in_logout(site):
    site.locations = STANDARD_LOCATIONS.replace("SesameLogout fc", "SesameLogout nosuch")


APACHE_CASES = [c for c in CASES if c[0].__name__ not in NGINX_ONLY] + [
    (unknown_provider_in_location, ["nosuch"], False),
    (unknown_provider_in_logout, ["nosuch"], False),
]


@pytest.fixture(scope="module")
def make_site(make_apache_site):
    return make_apache_site


def test_standard_config_passes_apache_t(make_site):
    rc, out = make_site().config_test()
    assert rc == 0, out
    assert "Syntax OK" in out


@pytest.mark.parametrize("mutate, words, at_line", APACHE_CASES, ids=[m.__name__ for m, _, _ in APACHE_CASES])
def test_bad_config_fails_apache_t_with_the_core_message(mutate, words, at_line, make_site):
    site = make_site()
    mutate(site)
    rc, out = site.config_test()
    assert rc != 0, f"apache2 -t accepted the configuration:\n{site.render()}"
    assert "Syntax OK" not in out
    for word in words:
        assert word in out, f"{word!r} missing from: {out}"
    # Every error names the configuration file and line it is about.
    assert "apache.conf" in out, out
    if at_line:
        assert "Syntax error on line" in out, out


@pytest.mark.parametrize("directive", [
    "SesameRedis redis://127.0.0.1:1/0",
    "SesameSecretFile /etc/passwd",
    "SesameSessionLifetime 1h",
])
def test_server_directives_are_refused_inside_a_location(directive, make_site):
    site = make_site()
    site.locations = STANDARD_LOCATIONS.replace("SesameUse fc\n    Require valid-user", f"SesameUse fc\n    {directive}\n    Require valid-user", 1)
    rc, out = site.config_test()
    assert rc != 0, site.render()
    assert "not allowed" in out, out


def test_provider_section_is_refused_inside_a_location(make_site):
    site = make_site()
    site.locations = STANDARD_LOCATIONS.replace("<Location /app-public/>", "<Location /app-public/>\n<SesameProvider other>\n    Preset generic\n</SesameProvider>", 1)
    rc, out = site.config_test()
    assert rc != 0 and "not allowed" in out, out


def test_require_sesame_acr_needs_exactly_one_level(make_site):
    site = make_site()
    site.locations = STANDARD_LOCATIONS.replace("Require valid-user", "Require sesame-acr", 1)
    rc, out = site.config_test()
    assert rc != 0 and "sesame-acr takes one level" in out, out


def test_sesame_variables_accepts_only_known_styles(make_site):
    site = make_site()
    site.locations = STANDARD_LOCATIONS.replace("SesameUse fc", "SesameUse fc\n    SesameVariables shibboleth", 1)
    rc, out = site.config_test()
    assert rc != 0 and "mod_auth_openidc" in out, out


def test_module_loaded_without_any_sesame_directive_passes(make_site):
    site = make_site(locations="")
    site.http = {}
    site.providers = {}
    rc, out = site.config_test()
    assert rc == 0, out
