"""Each location's own rules after an internal redirect. A request allowed at a first location
and sent elsewhere inside the server (nginx: try_files, index, error_page, a named location,
X-Accel-Redirect from a proxied backend; Apache: FallbackResource, DirectoryIndex, ErrorDocument,
mod_rewrite's [PT]) meets the target location's level (step-up) and required claims (403 page)
before the backend sees it; a target of the same provider whose rules the identity meets is
reached with no second session read. Nested locations that repeat `sesame NAME;` keep the
enclosing location's options (as Apache's sections do). The same paths on both servers."""

import re

import pytest

from e2e_rig.checks import assert_page, php_server
from e2e_rig.procs import free_port
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    _pc_emulator_back_to_normal, asked_acr, make_pc_site, pc_emulator, start_pc_site)

MFA = ["eidas0-mfa", "eidas1-mfa", "eidas2", "eidas3"]
# test@fia1.fr works for this SIRET; mfa@fia2.fr (SIRET 13002526500013) does not.
SIRET = "21750001600019"

PHP = """\
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};"""

NGINX_LOCATIONS = """\
        # A front-controller site: any path that is not a file goes to the PHP front controller,
        # which needs MFA and a SIRET.
        location / {
            sesame pc;
            try_files $uri /index.php;
        }
        location ~ \\.php$ {
            sesame pc;
            sesame_acr mfa;
            sesame_require siret %(siret)s;
%(php)s
        }
        location /agents/ {
            sesame pc;
%(php)s
        }
        location /idx/ {
            sesame pc;
            index secret.html;
        }
        location = /idx/secret.html {
            sesame pc;
            sesame_acr mfa;
        }
        location /ep/ {
            sesame pc;
            error_page 404 /ep-strict/404.html;
        }
        location /ep-strict/ {
            sesame pc;
            sesame_require siret %(siret)s;
        }
        location /named/ {
            sesame pc;
            try_files $uri @strict;
        }
        location @strict {
            sesame pc;
            sesame_acr mfa;
%(php)s
        }
        location /accel/ {
            sesame pc;
            proxy_pass http://127.0.0.1:{{ACCEL_PORT}};
        }
        location /protected-files/ {
            internal;
            sesame pc;
            sesame_acr mfa;
        }
        location /same/ {
            sesame pc;
            try_files $uri /same-target/;
        }
        location /same-target/ {
            sesame pc;
            sesame_require email @fia1.fr @fia2.fr;
%(php)s
        }
        location /nest/ {
            sesame pc;
            sesame_require siret %(siret)s;
%(php)s
            location /nest/inner/ {
                sesame pc;
                sesame_require idp_id fia1v2 fia2v2;
%(php)s
            }
        }
        location /nest-mfa/ {
            sesame pc;
            sesame_acr mfa;
%(php)s
            location /nest-mfa/inner/ {
                sesame pc;
%(php)s
            }
            location /nest-mfa/fc/ {
                sesame fc;
%(php)s
            }
        }
""" % {"siret": SIRET, "php": PHP}

# The same paths in Apache's words (the kinds Apache has).
APACHE_LOCATIONS = """\
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

# A second server of the same nginx: the proxied application that answers with
# X-Accel-Redirect, as a PHP or Python app serving protected downloads does.
ACCEL_BACKEND = """\
    server {
        listen 127.0.0.1:%d;
        location / {
            add_header X-Accel-Redirect /protected-files/secret.html;
            return 200 "backend body\\n";
        }
    }
"""

FILES = {
    "nginx": {
        "html/idx/secret.html": "index secret\n",
        "html/ep-strict/404.html": "error page secret\n",
        "html/protected-files/secret.html": "accel secret\n",
    },
    "apache": {
        "html/idx/secret.html": "index secret\n",
        "html/ep/present.html": "present\n",
        "html/ep-strict/404.html": "error page secret\n",
        "html/pt/present.html": "present\n",
        "html/pt-strict/secret.html": "rewrite secret\n",
    },
}


@pytest.fixture(scope="module")
def site(make_site, server_kind, pc_emulator):
    locations = {"nginx": NGINX_LOCATIONS, "apache": APACHE_LOCATIONS}[server_kind]
    site = make_pc_site(make_site, pc_emulator, locations=locations)
    # Every request reads its session from Redis: what a redirected request costs shows there.
    site.http["session_cache"] = "0"
    site.files.update(FILES[server_kind])
    if server_kind == "nginx":
        port = free_port()
        site.locations = site.locations.replace("{{ACCEL_PORT}}", str(port))
        site.extra_http = ACCEL_BACKEND % port
    else:
        site.extra_modules.append(("rewrite_module", "mod_rewrite.so"))
    return site


@pytest.fixture(scope="module")
def server(site, pc_emulator, start_server):
    return start_pc_site(site, pc_emulator, start_server)


def logged_in(browser, server, identity):
    """A ProConnect session at eidas1 (no MFA), opened at a plain protected location."""
    php_vars = php_server(browser.login(server.url("/agents/"), identity=identity).final)
    assert php_vars["SESAME_ACR"] == "eidas1"
    return php_vars


def assert_steps_up_to_mfa(resp, pc_emulator):
    assert resp.status_code == 303, \
        f"the target's sesame_acr was skipped: {resp.status_code}\n{resp.text[:500]}"
    location = resp.headers["Location"]
    assert location.startswith(pc_emulator.issuer + "/authorize?"), location
    assert asked_acr(location) == MFA


def assert_refused(resp):
    assert_page(resp, [403])
    assert "Accès refusé" in resp.text


def session_reads(redis):
    stats = redis.command("INFO", "commandstats")
    m = re.search(r"^cmdstat_get:calls=(\d+),", stats, re.M)
    return int(m.group(1)) if m else 0


# ---- internal redirects ---------------------------------------------------------------------

def test_fallback_to_a_stricter_front_controller_steps_up_before_the_backend(browser, server,
                                                                              pc_emulator):
    first = logged_in(browser, server, "test@fia1.fr")
    assert_steps_up_to_mfa(browser.get(server.url("/nope?x=1")), pc_emulator)
    login = browser.login(server.url("/nope?x=1"), identity="test@fia1.fr")
    assert login.callback.headers["Location"].endswith("/nope?x=1")
    php_vars = php_server(login.final)
    assert php_vars["SESAME_ACR"] == "eidas1-mfa"
    assert php_vars["SESAME_USER"] == first["SESAME_USER"]
    assert php_vars["REQUEST_URI"] == "/nope?x=1"


def test_fallback_to_a_front_controller_requiring_a_siret_refuses_other_agents(browser, server):
    logged_in(browser, server, "mfa@fia2.fr")
    login = browser.login(server.url("/nope"), identity="mfa@fia2.fr")
    assert_refused(login.final)


def test_front_controller_refuses_an_mfa_session_without_the_siret_with_a_403_page(browser,
                                                                                   server):
    logged_in(browser, server, "mfa@fia2.fr")
    stepped_up = browser.login(server.url("/idx/"), identity="mfa@fia2.fr").final
    assert stepped_up.status_code == 200 and stepped_up.text == "index secret\n"
    resp = browser.get(server.url("/nope"))
    assert "SESAME_USER" not in resp.text
    assert_refused(resp)


def test_index_file_in_a_stricter_location_steps_up(browser, server, pc_emulator):
    logged_in(browser, server, "test@fia1.fr")
    resp = browser.get(server.url("/idx/"))
    assert "index secret" not in resp.text
    assert_steps_up_to_mfa(resp, pc_emulator)
    final = browser.login(server.url("/idx/"), identity="test@fia1.fr").final
    assert final.status_code == 200 and final.text == "index secret\n"


def test_error_page_in_a_location_requiring_a_siret_refuses_other_agents(browser, new_browser,
                                                                         server):
    logged_in(browser, server, "mfa@fia2.fr")
    resp = browser.get(server.url("/ep/missing"))
    assert "error page secret" not in resp.text
    assert_refused(resp)
    agent = new_browser()
    logged_in(agent, server, "test@fia1.fr")
    resp = agent.get(server.url("/ep/missing"))
    assert resp.status_code == 404 and resp.text == "error page secret\n"


@pytest.mark.only("nginx", reason="named locations are nginx's; Apache has none")
def test_named_location_stricter_than_the_first_steps_up(browser, server, pc_emulator):
    logged_in(browser, server, "test@fia1.fr")
    assert_steps_up_to_mfa(browser.get(server.url("/named/page")), pc_emulator)
    php_vars = php_server(browser.login(server.url("/named/page"), identity="test@fia1.fr").final)
    assert php_vars["SESAME_ACR"] == "eidas1-mfa"


@pytest.mark.only("nginx", reason="X-Accel-Redirect is nginx's")
def test_x_accel_redirect_from_the_backend_to_a_stricter_location_steps_up(browser, server,
                                                                           pc_emulator):
    logged_in(browser, server, "test@fia1.fr")
    resp = browser.get(server.url("/accel/download"))
    assert "accel secret" not in resp.text
    assert_steps_up_to_mfa(resp, pc_emulator)
    final = browser.login(server.url("/accel/download"), identity="test@fia1.fr").final
    assert final.status_code == 200 and final.text == "accel secret\n"


def test_redirect_to_an_equally_protected_location_is_allowed_with_one_session_read(
        browser, server, redis):
    first = logged_in(browser, server, "test@fia1.fr")
    before = session_reads(redis)
    php_vars = php_server(browser.get(server.url("/same/page")))
    assert session_reads(redis) - before == 1, "the target reuses the identity in hand"
    assert php_vars["SESAME_USER"] == first["SESAME_USER"]
    assert php_vars["REQUEST_URI"] == "/same/page"


# ---- nested locations -----------------------------------------------------------------------

@pytest.mark.only("nginx", reason="nested location blocks are nginx's; Apache's merged sections are in test_apache_policy")
def test_nested_location_repeating_sesame_keeps_the_enclosing_required_claims(
        browser, new_browser, server):
    logged_in(browser, server, "mfa@fia2.fr")
    assert_refused(browser.get(server.url("/nest/inner/")))
    agent = new_browser()
    logged_in(agent, server, "test@fia1.fr")
    assert php_server(agent.get(server.url("/nest/inner/")))["SESAME_IDP_ID"] == "fia1v2"


@pytest.mark.only("nginx", reason="nested location blocks are nginx's; Apache's merged sections are in test_apache_policy")
def test_nested_location_repeating_sesame_keeps_the_enclosing_acr(browser, server, pc_emulator):
    logged_in(browser, server, "test@fia1.fr")
    assert_steps_up_to_mfa(browser.get(server.url("/nest-mfa/inner/")), pc_emulator)


@pytest.mark.only("nginx", reason="nested location blocks are nginx's; Apache's merged sections are in test_apache_policy")
def test_nested_location_of_another_provider_starts_without_the_enclosing_options(
        browser, server, emulator):
    start = browser.start(server.url("/nest-mfa/fc/"))
    assert start.startswith(emulator.issuer + "/authorize?"), start
    assert "acr_values=eidas1" in start


@pytest.mark.only("apache", reason="mod_rewrite's [PT] pass-through is Apache's")
def test_rewrite_pass_through_to_a_stricter_section_steps_up(browser, server, pc_emulator):
    logged_in(browser, server, "test@fia1.fr")
    resp = browser.get(server.url("/pt/anything"))
    assert "rewrite secret" not in resp.text
    assert_steps_up_to_mfa(resp, pc_emulator)
    final = browser.login(server.url("/pt/anything"), identity="test@fia1.fr").final
    assert final.status_code == 200 and final.text == "rewrite secret\n"
