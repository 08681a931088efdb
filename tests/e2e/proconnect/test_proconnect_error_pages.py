"""`error_pages DIR`: the administrator replaces Sesame's French pages, the reference id kept."""

import re

import pytest

from e2e_rig.checks import assert_page
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    PC_SITE, _pc_emulator_back_to_normal, make_pc_site, pc_emulator, start_pc_site)


@pytest.fixture(scope="module")
def site(make_site, server_kind, pc_emulator):
    site = make_pc_site(make_site, pc_emulator, locations=PC_SITE[server_kind], error_pages="conf/pages")
    (site.prefix / "conf" / "pages").mkdir(parents=True, exist_ok=True)
    site.files["conf/pages/forbidden.html"] = (
        "<!DOCTYPE html><html lang=\"fr\"><head><style>h1 { color: #000091 }</style></head>"
        "<body><h1>Espace réservé à la mairie</h1>"
        "<p>Référence : {reference}</p></body></html>\n")
    return site


@pytest.fixture(scope="module")
def server(site, pc_emulator, start_server):
    return start_pc_site(site, pc_emulator, start_server)


def test_replaced_page_is_served_with_the_logged_reference(browser, server):
    offset = server.log_size()
    final = browser.login(server.url("/agents/paris/"), identity="mfa@fia2.fr").final
    assert_page(final, [403])
    assert "Espace réservé à la mairie" in final.text
    ref = re.search(r"Référence : ([0-9a-f]{12})", final.text).group(1)
    assert f"ref {ref}" in server.log_since(offset)
    # The administrator's page keeps its own inline style, and still refuses to be framed.
    csp = final.headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in csp and "frame-ancestors 'none'" in csp, csp
    assert final.headers["X-Frame-Options"] == "DENY"


def test_pages_not_replaced_keep_sesame_wording(browser, server, pc_emulator):
    pc_emulator.misbehave("low_acr")
    login = browser.login(server.url("/agents/mfa/"), identity="test@fia1.fr")
    assert_page(login.callback, [403])
    assert "Niveau de sécurité insuffisant" in login.callback.text
