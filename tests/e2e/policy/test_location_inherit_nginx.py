"""nginx's nested locations by the core's nesting rule, the cases test_internal_redirects.py
does not cover (it proves inherited sesame_require and sesame_acr, and another provider
starting clean): a nested sesame_acr replaces the enclosing one, and an option with no
`sesame NAME;` in its location or around it fails `nginx -t`. The same cases on Apache:
test_location_inherit_apache.py."""

import pytest

from e2e_rig.checks import php_server
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    _pc_emulator_back_to_normal, make_pc_site, pc_emulator, start_pc_site)

pytestmark = pytest.mark.only("nginx", reason="nginx's nested locations and `nginx -t`; Apache's sections: test_location_inherit_apache.py")

PHP = """\
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};"""

LOCATIONS = """\
        location /agents/ {
            sesame pc;
%(php)s
        }
        location /nest-mfa/ {
            sesame pc;
            sesame_acr mfa;
%(php)s
            location /nest-mfa/any/ {
                sesame_acr eidas1 eidas1-mfa;
%(php)s
            }
        }
""" % {"php": PHP}


@pytest.fixture(scope="module")
def site(make_site, pc_emulator):
    return make_pc_site(make_site, pc_emulator, locations=LOCATIONS)


@pytest.fixture(scope="module")
def server(site, pc_emulator, start_server):
    return start_pc_site(site, pc_emulator, start_server)


def test_nested_location_writing_acr_replaces_the_enclosing_one(browser, server):
    first = php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    assert first["SESAME_ACR"] == "eidas1"
    resp = browser.get(server.url("/nest-mfa/any/"))
    assert resp.status_code == 200, "sesame_acr eidas1 eidas1-mfa replaces mfa: no step-up"
    assert php_server(resp)["SESAME_USER"] == first["SESAME_USER"]


def test_option_without_an_enclosing_provider_fails_config_test(make_site, pc_emulator):
    site = make_pc_site(make_site, pc_emulator, locations="""\
        location /early/ {
            sesame_require siret 21750001600019;
            location /early/in/ {
                sesame pc;
            }
        }
""")
    rc, err = site.config_test()
    assert rc != 0
    assert '"sesame_require" needs "sesame PROVIDER;" in this location or an enclosing one' \
        in err, err
