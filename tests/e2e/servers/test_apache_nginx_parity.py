"""The same identity reaches PHP with exactly the same variables behind nginx
(`include sesame_fastcgi_params;`) and behind Apache (`AuthType Sesame`), names and values."""

import json

import pytest

from e2e_rig.browser import Browser
from e2e_rig.checks import php_server


@pytest.fixture(scope="module")
def both(make_nginx_site, make_apache_site, start_server):
    """nginx and Apache as two front ends of one FranceConnect client (FranceConnect's `sub` is
    per client), so the same person gets the same `sub` on both."""
    nginx_site, apache_site = make_nginx_site(), make_apache_site()
    client = dict(nginx_site.client)
    for key in ("redirect_uris", "post_logout_redirect_uris"):
        client[key] = nginx_site.client[key] + apache_site.client[key]
    nginx_site.client = nginx_site.clients[0] = client
    apache_site.client = apache_site.clients[0] = client
    apache_site.providers["fc"]["client_id"] = client["client_id"]
    return start_server(nginx_site), start_server(apache_site)


def _identity_vars(server):
    return {k: v for k, v in server.items() if k.startswith("SESAME_") or k in ("REMOTE_USER", "AUTH_TYPE")}


@pytest.mark.parametrize("identity", ["elodie", "prenoms", "foreign", "testfc1"])
def test_php_sees_the_same_identity_variables_on_both_servers(identity, both, pki):
    server, apache = both
    on_nginx = _identity_vars(php_server(Browser(pki.ca, server.base).login(server.url("/demarches/"), identity=identity).final))
    on_apache = _identity_vars(php_server(Browser(pki.ca, apache.base).login(apache.url("/demarches/"), identity=identity).final))
    assert on_apache.pop("AUTH_TYPE") == "Sesame"
    on_nginx.pop("AUTH_TYPE", None)
    # auth_time is the second each login happened at.
    assert abs(int(on_apache.pop("SESAME_CLAIM_AUTH_TIME", 0)) - int(on_nginx.pop("SESAME_CLAIM_AUTH_TIME", 0))) < 60
    all_on_apache, all_on_nginx = json.loads(on_apache.pop("SESAME_CLAIMS")), json.loads(on_nginx.pop("SESAME_CLAIMS"))
    assert abs(all_on_apache.pop("auth_time", 0) - all_on_nginx.pop("auth_time", 0)) < 60
    assert all_on_apache == all_on_nginx
    assert on_apache == on_nginx
    assert on_apache["SESAME_CLAIM_GIVEN_NAME"]
