"""Each location's own rules after an internal redirect. A request allowed at a first location
and sent elsewhere inside the server (nginx: try_files, index, error_page, a named location,
X-Accel-Redirect from a proxied backend) meets the target location's level (step-up) and required
claims (403 page) before the backend sees it; a target of the same provider whose rules the
identity meets is reached with no second session read. Nested locations that repeat
`sesame NAME;` keep the enclosing location's options (as Apache's sections do).

test_apache_internal_redirects.py runs the behaviours that exist on both servers against Apache
(DirectoryIndex, ErrorDocument, FallbackResource, mod_rewrite [PT])."""

import re

import pytest

from e2e_rig.checks import assert_page, php_server
from e2e_rig.procs import free_port
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    _pc_emulator_back_to_normal, make_pc_site, pc_emulator, start_pc_site)
from test_proconnect_login import asked_acr

MFA = ["eidas0-mfa", "eidas1-mfa", "eidas2", "eidas3"]
# test@fia1.fr works for this SIRET; mfa@fia2.fr (SIRET 13002526500013) does not.
SIRET = "21750001600019"

PHP = """\
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};"""

LOCATIONS = """\
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
    "html/idx/secret.html": "index secret\n",
    "html/ep-strict/404.html": "error page secret\n",
    "html/protected-files/secret.html": "accel secret\n",
}


@pytest.fixture(scope="module")
def nginx_site(make_site, pc_emulator):
    site = make_pc_site(make_site, pc_emulator, locations=LOCATIONS)
    # Every request reads its session from Redis: what a redirected request costs shows there.
    site.http["session_cache"] = "0"
    port = free_port()
    site.locations = site.locations.replace("{{ACCEL_PORT}}", str(port))
    site.extra_http = ACCEL_BACKEND % port
    site.files.update(FILES)
    return site


@pytest.fixture(scope="module")
def nginx(nginx_site, pc_emulator, start_nginx):
    return start_pc_site(nginx_site, pc_emulator, start_nginx)


def logged_in(browser, nginx, identity):
    """A ProConnect session at eidas1 (no MFA), opened at a plain protected location."""
    server = php_server(browser.login(nginx.url("/agents/"), identity=identity).final)
    assert server["SESAME_ACR"] == "eidas1"
    return server


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

def test_fallback_to_a_stricter_front_controller_steps_up_before_the_backend(browser, nginx,
                                                                              pc_emulator):
    first = logged_in(browser, nginx, "test@fia1.fr")
    assert_steps_up_to_mfa(browser.get(nginx.url("/nope?x=1")), pc_emulator)
    login = browser.login(nginx.url("/nope?x=1"), identity="test@fia1.fr")
    assert login.callback.headers["Location"].endswith("/nope?x=1")
    server = php_server(login.final)
    assert server["SESAME_ACR"] == "eidas1-mfa"
    assert server["SESAME_USER"] == first["SESAME_USER"]
    assert server["REQUEST_URI"] == "/nope?x=1"


def test_fallback_to_a_front_controller_requiring_a_siret_refuses_other_agents(browser, nginx):
    logged_in(browser, nginx, "mfa@fia2.fr")
    login = browser.login(nginx.url("/nope"), identity="mfa@fia2.fr")
    assert_refused(login.final)


def test_front_controller_refuses_an_mfa_session_without_the_siret_with_a_403_page(browser,
                                                                                   nginx):
    logged_in(browser, nginx, "mfa@fia2.fr")
    stepped_up = browser.login(nginx.url("/idx/"), identity="mfa@fia2.fr").final
    assert stepped_up.status_code == 200 and stepped_up.text == "index secret\n"
    resp = browser.get(nginx.url("/nope"))
    assert "SESAME_USER" not in resp.text
    assert_refused(resp)


def test_index_file_in_a_stricter_location_steps_up(browser, nginx, pc_emulator):
    logged_in(browser, nginx, "test@fia1.fr")
    resp = browser.get(nginx.url("/idx/"))
    assert "index secret" not in resp.text
    assert_steps_up_to_mfa(resp, pc_emulator)
    final = browser.login(nginx.url("/idx/"), identity="test@fia1.fr").final
    assert final.status_code == 200 and final.text == "index secret\n"


def test_error_page_in_a_location_requiring_a_siret_refuses_other_agents(browser, new_browser,
                                                                         nginx):
    logged_in(browser, nginx, "mfa@fia2.fr")
    resp = browser.get(nginx.url("/ep/missing"))
    assert "error page secret" not in resp.text
    assert_refused(resp)
    agent = new_browser()
    logged_in(agent, nginx, "test@fia1.fr")
    resp = agent.get(nginx.url("/ep/missing"))
    assert resp.status_code == 404 and resp.text == "error page secret\n"


def test_named_location_stricter_than_the_first_steps_up(browser, nginx, pc_emulator):
    logged_in(browser, nginx, "test@fia1.fr")
    assert_steps_up_to_mfa(browser.get(nginx.url("/named/page")), pc_emulator)
    server = php_server(browser.login(nginx.url("/named/page"), identity="test@fia1.fr").final)
    assert server["SESAME_ACR"] == "eidas1-mfa"


def test_x_accel_redirect_from_the_backend_to_a_stricter_location_steps_up(browser, nginx,
                                                                           pc_emulator):
    logged_in(browser, nginx, "test@fia1.fr")
    resp = browser.get(nginx.url("/accel/download"))
    assert "accel secret" not in resp.text
    assert_steps_up_to_mfa(resp, pc_emulator)
    final = browser.login(nginx.url("/accel/download"), identity="test@fia1.fr").final
    assert final.status_code == 200 and final.text == "accel secret\n"


def test_redirect_to_an_equally_protected_location_is_allowed_with_one_session_read(
        browser, nginx, redis):
    first = logged_in(browser, nginx, "test@fia1.fr")
    before = session_reads(redis)
    server = php_server(browser.get(nginx.url("/same/page")))
    assert session_reads(redis) - before == 1, "the target reuses the identity in hand"
    assert server["SESAME_USER"] == first["SESAME_USER"]
    assert server["REQUEST_URI"] == "/same/page"


# ---- nested locations -----------------------------------------------------------------------

def test_nested_location_repeating_sesame_keeps_the_enclosing_required_claims(
        browser, new_browser, nginx):
    logged_in(browser, nginx, "mfa@fia2.fr")
    assert_refused(browser.get(nginx.url("/nest/inner/")))
    agent = new_browser()
    logged_in(agent, nginx, "test@fia1.fr")
    assert php_server(agent.get(nginx.url("/nest/inner/")))["SESAME_IDP_ID"] == "fia1v2"


def test_nested_location_repeating_sesame_keeps_the_enclosing_acr(browser, nginx, pc_emulator):
    logged_in(browser, nginx, "test@fia1.fr")
    assert_steps_up_to_mfa(browser.get(nginx.url("/nest-mfa/inner/")), pc_emulator)


def test_nested_location_of_another_provider_starts_without_the_enclosing_options(
        browser, nginx, emulator):
    start = browser.start(nginx.url("/nest-mfa/fc/"))
    assert start.startswith(emulator.issuer + "/authorize?"), start
    assert "acr_values=eidas1" in start
