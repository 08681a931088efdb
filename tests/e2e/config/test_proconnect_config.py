"""`nginx -t` with ProConnect presets and location options: what a federation would refuse at
login time is refused at config test, with a message naming the directive and the file:line."""

import pytest

from e2e_rig.proconnect import PC_LOCATIONS, add_pc_provider, pc_client

pytestmark = pytest.mark.only("nginx", reason="nginx directives and the lines of `nginx -t`; Apache's are in test_apache_policy")


class FakeEmulator:
    issuer = "https://fca.integ01.dev-agentconnect.fr/api/v2"


def site_with(make_site, locations):
    site = make_site(locations=locations)
    add_pc_provider(site, FakeEmulator, pc_client(site.base))
    return site


# (name, the location nginx -t must refuse, words its [emerg] line must contain). The site has
# the fc (FranceConnect) and pc (ProConnect) provider blocks and this one location.
CASES = [
    ("fc_eidas2", """\
        location /app/ {
            sesame fc;
            sesame_acr eidas2;
        }
""", ["sesame_acr", "eidas1"]),
    ("fc_prompt_none", """\
        location /app/ {
            sesame fc;
            sesame_prompt none;
        }
""", ["prompt none", "FranceConnect"]),
    ("fc_login_hint", """\
        location /app/ {
            sesame fc;
            sesame_login_hint a@b.fr;
        }
""", ["login_hint", "FranceConnect"]),
    ("fc_siret_hint", """\
        location /app/ {
            sesame fc;
            sesame_siret_hint 21750001600019;
        }
""", ["siret_hint", "FranceConnect"]),
    ("pc_unknown_acr", """\
        location /agents/eidas2/ {
            sesame pc;
            sesame_acr eidas4;
        }
""", ["eidas4", "ProConnect"]),
    ("pc_bad_fixed_login_hint", """\
        location /agents/hint/ {
            sesame pc;
            sesame_login_hint agent;
        }
""", ["login_hint", "agent"]),
    ("pc_bad_siret_hint", """\
        location /agents/hint/ {
            sesame pc;
            sesame_siret_hint 1234;
        }
""", ["siret_hint"]),
    ("pc_other_variable", """\
        location /agents/hint/ {
            sesame pc;
            sesame_login_hint $http_x_mail;
        }
""", ["$arg_NAME"]),
    ("pc_bad_prompt", """\
        location /agents/silent/ {
            sesame pc;
            sesame_prompt select_account;
        }
""", ["prompt", "select_account"]),
    ("require_without_value", """\
        location /agents/paris/ {
            sesame pc;
            sesame_require email;
        }
""", ["sesame_require"]),
    ("max_auth_age_too_short", """\
        location /agents/recent/ {
            sesame pc;
            sesame_max_auth_age 30s;
        }
""", ["sesame_max_auth_age", "below 60s"]),
    ("max_auth_age_garbage", """\
        location /agents/recent/ {
            sesame pc;
            sesame_max_auth_age soon;
        }
""", ["sesame_max_auth_age", "not a duration"]),
    ("max_auth_age_with_prompt_none", """\
        location /agents/silent/ {
            sesame pc;
            sesame_prompt none;
            sesame_max_auth_age 5m;
        }
""", ["sesame_max_auth_age", "sesame_prompt none"]),
    ("option_without_sesame", """\
        location / {
            sesame_acr eidas1;
        }
""", ["sesame_acr", "sesame PROVIDER"]),
    ("option_on_logout", """\
        location = /agents/logout {
            sesame_logout pc;
            sesame_acr mfa;
        }
""", ["sesame_acr"]),
]


def test_proconnect_site_passes_nginx_t(make_site):
    rc, err = site_with(make_site, PC_LOCATIONS).config_test()
    assert rc == 0, err


@pytest.mark.parametrize("name, locations, words", CASES, ids=[c[0] for c in CASES])
def test_refused_location_options_fail_nginx_t(name, locations, words, make_site):
    site = site_with(make_site, locations)
    rc, err = site.config_test()
    assert rc != 0, f"nginx -t accepted:\n{site.render()}"
    emerg = [line for line in err.splitlines() if "[emerg]" in line]
    assert emerg, err
    for word in words:
        assert word in emerg[0], f"{word!r} missing from: {emerg[0]}"
    assert "nginx.conf:" in emerg[0], emerg[0]


@pytest.mark.parametrize("preset", ["proconnect-integration", "proconnect-production",
                                    "proconnect-integration-rie", "proconnect-production-rie"])
def test_every_proconnect_preset_is_accepted(preset, make_site):
    site = site_with(make_site, PC_LOCATIONS)
    site.providers["pc"]["preset"] = preset
    site.providers["pc"]["issuer"] = None
    rc, err = site.config_test()
    assert rc == 0, err


def test_hs256_is_refused_for_franceconnect_but_accepted_for_proconnect(make_site):
    site = site_with(make_site, PC_LOCATIONS)
    site.providers["pc"]["id_token_alg"] = "HS256"
    rc, err = site.config_test()
    assert rc == 0, err
    site = site_with(make_site, PC_LOCATIONS)
    site.providers["fc"]["id_token_alg"] = "HS256"
    rc, err = site.config_test()
    assert rc != 0 and "HS256" in err, err


def test_proconnect_production_refuses_an_http_redirect_uri(make_site):
    site = site_with(make_site, PC_LOCATIONS)
    site.providers["pc"]["preset"] = "proconnect-production"
    site.providers["pc"]["issuer"] = None
    site.providers["pc"]["redirect_uri"] = f"http://127.0.0.1:{site.port}/sesame/pc/callback"
    rc, err = site.config_test()
    assert rc != 0 and "redirect_uri must be https" in err, err


def test_error_pages_directory_without_any_known_page_fails_nginx_t(make_site):
    site = site_with(make_site, PC_LOCATIONS)
    site.providers["pc"]["error_pages"] = "conf/nopages"
    site.files["conf/nopages/readme.txt"] = "nothing here\n"
    (site.prefix / "conf" / "nopages").mkdir(parents=True, exist_ok=True)
    rc, err = site.config_test()
    assert rc != 0 and "error_pages" in err and "forbidden" in err, err
