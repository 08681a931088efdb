"""Each section's own rules after an internal redirect, behind Apache: FallbackResource,
DirectoryIndex, ErrorDocument and mod_rewrite's [PT] send a request allowed at a first section to
one whose SesameAcr / SesameRequireClaim the identity must meet before the backend sees it. The
nginx behaviour tests of test_internal_redirects run here unchanged, against the same paths."""

import pytest

from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    _pc_emulator_back_to_normal, make_pc_site, pc_emulator, start_pc_site)
from test_internal_redirects import (  # noqa: F401 (the nginx behaviour tests, run on Apache)
    SIRET,
    assert_steps_up_to_mfa,
    logged_in,
    test_error_page_in_a_location_requiring_a_siret_refuses_other_agents,
    test_fallback_to_a_front_controller_requiring_a_siret_refuses_other_agents,
    test_fallback_to_a_stricter_front_controller_steps_up_before_the_backend,
    test_front_controller_refuses_an_mfa_session_without_the_siret_with_a_403_page,
    test_index_file_in_a_stricter_location_steps_up,
    test_redirect_to_an_equally_protected_location_is_allowed_with_one_session_read,
)

# test_internal_redirects.LOCATIONS in Apache's words (the kinds Apache has).
LOCATIONS = """\
AliasMatch "^/(agents|same-target)/" "{{PHP_DIR}}/index.php"
AliasMatch "^/index\\.php$" "{{PHP_DIR}}/index.php"
<Location />
    AuthType Sesame
    SesameUse pc
    Require valid-user
    FallbackResource /index.php
</Location>
<Location /index.php>
    SesameAcr mfa
    SesameRequireClaim siret %(siret)s
{{PHP_HANDLER}}</Location>
<Location /agents/>
{{PHP_HANDLER}}</Location>
<Location /idx/>
    DirectoryIndex secret.html
</Location>
<Location /idx/secret.html>
    SesameAcr mfa
</Location>
<Location /ep/>
    FallbackResource disabled
    ErrorDocument 404 /ep-strict/404.html
</Location>
<Location /ep-strict/>
    SesameRequireClaim siret %(siret)s
</Location>
<Location /same/>
    FallbackResource /same-target/
</Location>
<Location /same-target/>
    SesameRequireClaim email @fia1.fr @fia2.fr
{{PHP_HANDLER}}</Location>
<Directory "{{PREFIX}}/html/pt">
    FallbackResource disabled
    RewriteEngine On
    RewriteRule ^ /pt-strict/secret.html [PT]
</Directory>
<Location /pt-strict/>
    SesameAcr mfa
</Location>
""" % {"siret": SIRET}

FILES = {
    "html/idx/secret.html": "index secret\n",
    "html/ep/present.html": "present\n",
    "html/ep-strict/404.html": "error page secret\n",
    "html/pt/present.html": "present\n",
    "html/pt-strict/secret.html": "rewrite secret\n",
}


@pytest.fixture(scope="module")
def make_site(make_apache_site):
    return make_apache_site


@pytest.fixture(scope="module")
def nginx_site(make_site, pc_emulator):
    site = make_pc_site(make_site, pc_emulator, locations=LOCATIONS)
    site.http["session_cache"] = "0"
    site.extra_modules.append(("rewrite_module", "mod_rewrite.so"))
    site.files.update(FILES)
    return site


@pytest.fixture(scope="module")
def nginx(nginx_site, pc_emulator, start_nginx):
    return start_pc_site(nginx_site, pc_emulator, start_nginx)


def test_rewrite_pass_through_to_a_stricter_section_steps_up(browser, nginx, pc_emulator):
    logged_in(browser, nginx, "test@fia1.fr")
    resp = browser.get(nginx.url("/pt/anything"))
    assert "rewrite secret" not in resp.text
    assert_steps_up_to_mfa(resp, pc_emulator)
    final = browser.login(nginx.url("/pt/anything"), identity="test@fia1.fr").final
    assert final.status_code == 200 and final.text == "rewrite secret\n"
