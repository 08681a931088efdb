"""The core's run-time log lines name directives as the running server writes them: on
Apache `SesameRequireClaim`, `SesameAcr`, `SesameRedis`..., never nginx's `sesame_require`
(the adapter tells the core its syntax when it builds the configuration, as configuration
errors already are)."""

import pytest

from e2e_rig.checks import assert_page
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    _pc_emulator_back_to_normal, make_pc_site, pc_emulator, start_pc_site)

pytestmark = pytest.mark.only("apache", reason="nginx's spelling is the default, which every other log assertion reads")

LOCATIONS = """\
AliasMatch "^/paris/" "{{PHP_DIR}}/index.php"
<Location /paris/>
    AuthType Sesame
    SesameUse pc
    SesameRequireClaim siret 21750001600019
    Require valid-user
{{PHP_HANDLER}}</Location>
"""


@pytest.fixture(scope="module")
def site(make_site, pc_emulator):
    return make_pc_site(make_site, pc_emulator, locations=LOCATIONS)


@pytest.fixture(scope="module")
def server(site, pc_emulator, start_server):
    return start_pc_site(site, pc_emulator, start_server)


def test_a_refused_claim_is_logged_with_the_apache_directive(browser, server):
    offset = server.log_size()
    final = browser.login(server.url("/paris/"), identity="mfa@fia2.fr").final
    assert_page(final, [403])
    logged = server.log_since(offset)
    assert "(SesameRequireClaim of this location)" in logged, logged[-2000:]
    assert "sesame_require" not in logged, logged[-2000:]
