"""Several providers on one site, `sesame off` (Apache: `AuthType None`), `sesame_logout ... local`
(Apache: `SesameLogout ... local`), RS256 clients."""

import pytest

from e2e_rig.browser import Browser
from e2e_rig.checks import SESSION, assert_redirects_to_provider, php_server
from e2e_rig import apache, nginx

# The standard site plus these, in each server's words.
EXTRA_LOCATIONS = {"nginx": """\
        location /autre/ {
            sesame fc2;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /demarches/aide/ {
            sesame off;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location = /logout-local {
            sesame_logout fc local;
        }
""", "apache": """\
AliasMatch "^/autre/" "{{PHP_DIR}}/index.php"
<Location /autre/>
    AuthType Sesame
    SesameUse fc2
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /demarches/aide/>
    AuthType None
    Require all granted
</Location>
<LocationMatch "^/logout-local$">
    SetHandler sesame-logout
    SesameLogout fc local
</LocationMatch>
"""}
STANDARD_LOCATIONS = {"nginx": nginx.STANDARD_LOCATIONS, "apache": apache.STANDARD_LOCATIONS}


@pytest.fixture(scope="module")
def site(make_site, server_kind):
    site = make_site(locations=STANDARD_LOCATIONS[server_kind] + EXTRA_LOCATIONS[server_kind])
    # A second FranceConnect client of the same site (another service, another client_id).
    site.second_client = site.add_fc_provider("fc2", "/sesame/callback2", "/sesame/logged-out2")
    return site


def test_session_of_one_provider_does_not_open_a_location_of_another(browser, server, emulator):
    php_server(browser.login(server.url("/demarches/"), identity="testfc1").final)
    resp = browser.get(server.url("/autre/"))
    assert_redirects_to_provider(resp, emulator)
    assert f"client_id={server.site.second_client['client_id']}" in resp.headers["Location"]


def test_second_provider_logs_in_with_its_own_client_and_callback(browser, server, emulator):
    login = browser.login(server.url("/autre/page"), identity="elodie")
    assert login.callback_url.startswith(server.url("/sesame/callback2?"))
    php_vars = php_server(login.final)
    assert php_vars["SESAME_PROVIDER"] == "fc2"
    assert php_vars["SESAME_CLAIM_GIVEN_NAME"] == "Élodie"


def test_sesame_off_sublocation_needs_no_login_and_gets_no_identity(browser, server):
    php_vars = php_server(browser.get(server.url("/demarches/aide/faq")))
    assert "REMOTE_USER" not in php_vars
    assert not any(k.startswith("SESAME_") for k in php_vars)


def test_local_logout_ends_the_session_without_visiting_the_provider(browser, server, emulator):
    php_server(browser.login(server.url("/demarches/")).final)
    resp = browser.get(server.url("/logout-local"))
    assert resp.status_code == 303
    assert not resp.headers["Location"].startswith(emulator.base), resp.headers["Location"]
    assert browser.cookie(SESSION) is None
    assert_redirects_to_provider(browser.get(server.url("/demarches/")), emulator)


def test_rs256_client_logs_in(make_site, start_server, pki):
    site = make_site()
    site.client["id_token_signed_response_alg"] = "RS256"
    site.client["userinfo_signed_response_alg"] = "RS256"
    site.providers["fc"]["id_token_alg"] = "RS256"
    server = start_server(site)
    login = Browser(pki.ca, server.base).login(server.url("/demarches/"), identity="corse")
    assert php_server(login.final)["SESAME_CLAIM_BIRTHPLACE"] == "2A004"
    server.stop()


def test_rs256_token_for_an_es256_configured_client_is_refused(make_site, start_server, pki, emulator):
    site = make_site()
    site.client["id_token_signed_response_alg"] = "RS256"
    site.client["userinfo_signed_response_alg"] = "RS256"
    server = start_server(site)  # module expects ES256 (the FranceConnect preset's default)
    browser = Browser(pki.ca, server.base)
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    resp = browser.get(login.callback_url)
    assert resp.status_code >= 400
    assert browser.cookie(SESSION) is None
    server.stop()
