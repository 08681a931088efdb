"""Migration from mod_auth_openidc, on both servers: one directive (Apache `SesameVariables
mod_auth_openidc`, nginx `include sesame_fastcgi_params_oidc;`) and a PHP page written for
mod_auth_openidc (backend/oidc_app.php: REMOTE_USER, OIDC_CLAIM_*) runs unchanged."""

import pytest

from e2e_rig import apache
from e2e_rig.checks import php_server
from e2e_rig.nginx import STANDARD_LOCATIONS
from e2e_rig.paths import E2E, REPO

NGINX_OIDC = """\
        location /oidc/ {
            sesame fc;
            include sesame_fastcgi_params_oidc;
            include fastcgi_oidc_app;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /oidc-env/ {
            sesame fc;
            include sesame_fastcgi_params_oidc;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
"""

APACHE_OIDC = """\
AliasMatch "^/oidc/" "{{PHP_DIR}}/oidc_app.php"
AliasMatch "^/oidc-env/" "{{PHP_DIR}}/index.php"
<LocationMatch "^/oidc(-env)?/">
    AuthType Sesame
    SesameUse fc
    SesameVariables mod_auth_openidc
    Require valid-user
{{PHP_HANDLER}}</LocationMatch>
"""


@pytest.fixture(scope="module")
def site(make_site, server_kind):
    if server_kind == "apache":
        return make_site(locations=apache.STANDARD_LOCATIONS + APACHE_OIDC)
    site = make_site(locations=STANDARD_LOCATIONS + NGINX_OIDC)
    backend = (E2E / "conf" / "fastcgi_backend").read_text().replace("{{BACKEND}}", str(site.env.php.root))
    site.files["conf/fastcgi_oidc_app"] = backend.replace("/index.php", "/oidc_app.php")
    site.files["conf/sesame_fastcgi_params_oidc"] = (REPO / "nginx" / "conf" / "sesame_fastcgi_params_oidc").read_text()
    return site


def test_app_written_for_mod_auth_openidc_sees_its_variables(browser, server, emulator):
    login = browser.login(server.url("/oidc/dossier"), identity="elodie")
    assert login.final.status_code == 200, login.final.text[:1500]
    page = login.final.json()
    sub = page["claims"]["sub"]
    # mod_auth_openidc's default REMOTE_USER: OIDCRemoteUserClaim sub@ (issuer without https://).
    assert page["user"] == sub + "@" + emulator.issuer[len("https://"):]
    assert page["greeting"] == "Bonjour Élodie Ñúñez-Œuvray"
    assert page["claims"]["given_name"] == "Élodie"
    assert page["claims"]["birthdate"]
    assert page["sesame"] == [], "only mod_auth_openidc's variables in this mode"


def test_array_claims_are_joined_with_commas_as_mod_auth_openidc_does(new_browser, server):
    login = new_browser().login(server.url("/oidc/"), identity="prenoms")
    claims = login.final.json()["claims"]
    assert claims["given_name_array"] == "Jean-Baptiste,Pierre,Marie"


def test_protocol_members_and_tokens_are_not_passed(new_browser, server):
    php_vars = php_server(new_browser().login(server.url("/oidc-env/"), identity="testfc1").final)
    oidc = {k for k in php_vars if k.startswith("OIDC_")}
    assert "OIDC_CLAIM_family_name" in oidc
    for absent in ("OIDC_CLAIM_nonce", "OIDC_CLAIM_aud", "OIDC_CLAIM_exp", "OIDC_access_token", "OIDC_id_token"):
        assert absent not in oidc
    assert not any(k.startswith("SESAME_") for k in php_vars)


def test_sesame_variables_stay_the_default_elsewhere(browser, server):
    php_vars = php_server(browser.login(server.url("/demarches/"), identity="testfc1").final)
    assert php_vars["SESAME_CLAIM_FAMILY_NAME"] == "DUBOIS"
    assert "@" not in php_vars["REMOTE_USER"]
    assert not any(k.startswith("OIDC_CLAIM_") for k in php_vars)
