"""A configuration reload (nginx: SIGHUP; Apache: graceful restart) keeps every session, since a
session lives in Redis under the site's secret and not in the worker that opened it, and a
protected location the reload adds is protected from its first request."""

import pytest

from e2e_rig.checks import assert_redirects_to_provider, php_server

# The location the reload adds, in each server's words.
ADDED = {"nginx": """\
        location /added/ {
            sesame fc;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
""", "apache": """\
AliasMatch "^/added/" "{{PHP_DIR}}/index.php"
<Location /added/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
{{PHP_HANDLER}}</Location>
"""}


@pytest.fixture(scope="module")
def site(make_site):
    site = make_site()
    # Every protected request reads Redis: the session must be found there after the reload.
    site.http["session_cache"] = "0"
    return site


def test_a_reload_keeps_every_session_and_protects_a_location_it_adds(
        browser, new_browser, server, site, server_kind, emulator):
    php_vars = php_server(browser.login(server.url("/demarches/"), identity="testfc1").final)
    assert browser.get(server.url("/added/")).status_code == 404
    site.locations += ADDED[server_kind]
    server.reload()
    assert server.alive()
    again = php_server(browser.get(server.url("/demarches/again")))
    assert again["REMOTE_USER"] == php_vars["REMOTE_USER"], "the session outlives the reload"
    assert php_server(browser.get(server.url("/added/")))["REMOTE_USER"] == php_vars["REMOTE_USER"]
    assert_redirects_to_provider(new_browser().get(server.url("/added/")), emulator)
