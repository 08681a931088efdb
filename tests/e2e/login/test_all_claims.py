"""Every claim reaches the backend, also one without a parameter of its own: `SESAME_CLAIMS` holds
all claims as one JSON object (nginx `include sesame_fastcgi_params;`, Apache env for php-fpm and
mod_php), and the proxied form `X-Sesame-Claims` is percent-encoded, so no claim value can break a
header. ProConnect's `sid` (its session id, in the id_token) has no line in the include files."""

import json
import re
from urllib.parse import unquote

import pytest

from e2e_rig.checks import php_server
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    PC_LOCATIONS, _pc_emulator_back_to_normal, make_pc_site, pc_emulator, start_pc_site)
from e2e_rig.paths import REPO

APACHE_AGENTS = """\
AliasMatch "^/agents/" "{{PHP_DIR}}/index.php"
<Location /agents/>
    AuthType Sesame
    SesameUse pc
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /agents/app/>
    AuthType Sesame
    SesameUse pc
    SesamePassHeaders On
    Require valid-user
    ProxyPass "http://127.0.0.1:{{ECHO_PORT}}/agents/app/"
</Location>
"""

HEADER_SAFE = re.compile(r"[A-Za-z0-9._~%-]+")


# Apache passes the claims to php-fpm and to mod_php: both are run.
APACHE_VARIANTS = {"php-fpm": {}, "mod_php": {"mpm": "prefork", "php": "mod_php"}}


@pytest.fixture(scope="module")
def site(make_site, server_kind, pc_emulator):
    locations = {"nginx": PC_LOCATIONS, "apache": APACHE_AGENTS}[server_kind]
    return make_pc_site(make_site, pc_emulator, locations=locations)


@pytest.fixture(scope="module")
def server(site, pc_emulator, start_server):
    return start_pc_site(site, pc_emulator, start_server)


def listed_claims():
    """The claims sesame_fastcgi_params has a line for."""
    text = (REPO / "nginx" / "conf" / "sesame_fastcgi_params").read_text()
    return set(re.findall(r"\$sesame_claim_(\w+)", text))


def test_php_sees_every_claim_in_sesame_claims_also_one_without_its_own_parameter(browser, server):
    php_vars = php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    claims = json.loads(php_vars["SESAME_CLAIMS"])
    assert "sid" not in listed_claims(), "the claim this test is about has no line of its own"
    assert claims["sid"], claims
    assert claims["given_name"] == "Angela Claire Louise"
    assert isinstance(claims["amr"], list), "arrays stay arrays"
    assert claims["sub"] == php_vars["SESAME_CLAIM_SUB"]
    for name in ("iss", "aud", "exp", "iat", "nonce", "at_hash"):
        assert name not in claims, f"protocol member {name} is not a claim"
    # Every per-claim parameter says the same as SESAME_CLAIMS.
    for key, value in php_vars.items():
        if key.startswith("SESAME_CLAIM_"):
            name = next(n for n in claims if n.upper().replace(":", "_") == key[len("SESAME_CLAIM_"):])
            expected = claims[name]
            assert value == (expected if isinstance(expected, str) else
                             json.dumps(expected, separators=(",", ":"), ensure_ascii=False)), key


def test_sesame_claims_keeps_utf8_and_replaced_control_characters(new_browser, server):
    php_vars = php_server(new_browser().login(server.url("/agents/"), identity="ctrl@fia1.fr").final)
    claims = json.loads(php_vars["SESAME_CLAIMS"])
    assert claims["usual_name"] == "DU\ufffdBOIS" == php_vars["SESAME_CLAIM_USUAL_NAME"]
    assert claims["given_name"] == "Marc\tAntoine", "tab is kept"
    assert claims["uid"] == '["c-4"]', "a string that looks like an array stays a string"
    assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", php_vars["SESAME_CLAIMS"])
    php_vars = php_server(new_browser().login(server.url("/agents/"), identity="mfa@fia2.fr").final)
    assert json.loads(php_vars["SESAME_CLAIMS"])["usual_name"] == "Ñúñez-Œuvray"
    assert "Ñúñez-Œuvray" in php_vars["SESAME_CLAIMS"], "UTF-8 as it is, not \\u escapes"


def test_proxied_app_gets_every_claim_in_one_header_safe_x_sesame_claims(new_browser, server):
    resp = new_browser().login(server.url("/agents/app/"), identity="ctrl@fia1.fr").final
    assert resp.status_code == 200, resp.text[:1500]
    headers = resp.json()["headers"]
    values = [v for k, v in headers if k.lower() == "x-sesame-claims"]
    assert len(values) == 1, headers
    assert HEADER_SAFE.fullmatch(values[0]), values[0][:200]
    claims = json.loads(unquote(values[0]))
    assert claims["usual_name"] == "DU\ufffdBOIS"
    assert claims["sid"] and claims["given_name"] == "Marc\tAntoine"
