"""Shared hosting with mod_sesame: an .htaccess (AllowOverride AuthConfig) protects its folder
with a provider the server admin defined and adds Require rules, but cannot touch secrets, the
Redis URL or provider definitions; Require sesame-acr / sesame-claim compose with RequireAll /
RequireAny; two virtual hosts sharing one Redis cannot use each other's sessions."""

import secrets

import pytest

from e2e_rig import apache
from e2e_rig.browser import Browser
from e2e_rig.checks import SESSION, assert_redirects_to_provider, php_server
from e2e_rig.procs import free_port
from e2e_rig.services import new_client

pytestmark = pytest.mark.only("apache", reason="Apache hosting: .htaccess, Require rules, virtual hosts")

RULES = """\
<Location /acr1/>
    AuthType Sesame
    SesameUse fc
    Require sesame-acr eidas1
</Location>
<Location /acr2/>
    AuthType Sesame
    SesameUse fc
    Require sesame-acr eidas2
</Location>
<Location /any/>
    AuthType Sesame
    SesameUse fc
    <RequireAny>
        Require sesame-acr eidas2
        Require sesame-claim family_name DUBOIS MARTIN
    </RequireAny>
</Location>
<Location /all/>
    AuthType Sesame
    SesameUse fc
    <RequireAll>
        Require valid-user
        Require sesame-claim given_name Élodie
        Require sesame-acr eidas1
    </RequireAll>
</Location>
"""

HTACCESS = {
    # What a hosted customer may write: protect a folder with the admin's provider, add rules.
    "html/espace/.htaccess": "AuthType Sesame\nSesameUse fc\nRequire sesame-claim family_name DUBOIS\n",
    # What they may not.
    "html/secret/.htaccess": "SesameSecretFile /etc/passwd\n",
    "html/redis/.htaccess": "SesameRedis redis://127.0.0.1:1/0\n",
    "html/provider/.htaccess": "<SesameProvider mine>\n    Preset generic\n</SesameProvider>\n",
    "html/timeout/.htaccess": "SesameSessionLifetime 100h\n",
    "html/unknown/.htaccess": "AuthType Sesame\nSesameUse nosuch\nRequire valid-user\n",
}
FOLDERS = ["acr1", "acr2", "any", "all", "espace", "secret", "redis", "provider", "timeout", "unknown"]


@pytest.fixture(scope="module")
def site(make_site):
    site = make_site(locations=apache.STANDARD_LOCATIONS + RULES)
    site.files.update(HTACCESS)
    for folder in FOLDERS:
        site.files[f"html/{folder}/index.html"] = f"{folder} content\n"
    return site


def _logged_in(pki, server, identity):
    browser = Browser(pki.ca, server.base)
    browser.login(server.url("/demarches/"), identity=identity)
    assert browser.cookie(SESSION)
    return browser


def test_htaccess_protects_a_folder_with_the_admin_provider(browser, server, emulator, pki):
    assert_redirects_to_provider(browser.get(server.url("/espace/")), emulator)
    dubois = _logged_in(pki, server, "testfc1")
    resp = dubois.get(server.url("/espace/"))
    assert resp.status_code == 200 and resp.text == "espace content\n"
    other = _logged_in(pki, server, "elodie")
    assert other.get(server.url("/espace/")).status_code in (401, 403)


@pytest.mark.parametrize("folder, directive", [
    ("secret", "SesameSecretFile"), ("redis", "SesameRedis"), ("provider", "<SesameProvider"),
    ("timeout", "SesameSessionLifetime"),
])
def test_htaccess_cannot_touch_secrets_redis_or_providers(folder, directive, browser, server):
    offset = server.log_size()
    resp = browser.get(server.url(f"/{folder}/"))
    assert resp.status_code == 500
    logged = server.log_since(offset)
    assert directive in logged and "not allowed here" in logged, logged[-2000:]


def test_htaccess_naming_an_unknown_provider_fails_closed(pki, server):
    browser = _logged_in(pki, server, "testfc1")
    offset = server.log_size()
    resp = browser.get(server.url("/unknown/"))
    assert resp.status_code == 500
    assert "nosuch" in server.log_since(offset)


def test_require_sesame_acr_grants_that_level(pki, server):
    browser = _logged_in(pki, server, "testfc1")  # FranceConnect: eidas1
    assert browser.get(server.url("/acr1/")).status_code == 200


def test_require_sesame_acr_refuses_a_lower_level(pki, server):
    browser = _logged_in(pki, server, "testfc1")
    assert browser.get(server.url("/acr2/")).status_code in (401, 403)


def test_require_any_grants_on_a_claim_when_the_acr_is_too_low(pki, server):
    assert _logged_in(pki, server, "testfc1").get(server.url("/any/")).status_code == 200
    assert _logged_in(pki, server, "elodie").get(server.url("/any/")).status_code in (401, 403)


def test_require_all_needs_every_rule_utf8_claims_included(pki, server):
    assert _logged_in(pki, server, "elodie").get(server.url("/all/")).status_code == 200
    assert _logged_in(pki, server, "testfc1").get(server.url("/all/")).status_code in (401, 403)


def test_require_rules_without_a_session_start_a_login(browser, server, emulator):
    for folder in ("acr1", "any", "all"):
        assert_redirects_to_provider(browser.get(server.url(f"/{folder}/")), emulator)


# ---- two virtual hosts, one Redis -----------------------------------------------------------

VHOST = """\
Listen 127.0.0.1:{port}
<VirtualHost 127.0.0.1:{port}>
    ServerName 127.0.0.1
    SSLEngine on
    SSLCertificateFile "{cert}"
    SSLCertificateKeyFile "{key}"
{sesame}
</VirtualHost>
"""


@pytest.fixture(scope="module")
def two_vhosts(make_site, start_server, env):
    """The main server and a virtual host on another port: same SesameRedis (inherited), each
    its own SesameSecretFile and FranceConnect client."""
    site = make_site()
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    client = new_client(base)
    site.clients.append(client)
    site.files["conf/b.secret"] = secrets.token_hex(32)
    site.files["conf/b.client_secret"] = client["client_secret"] + "\n"
    provider = site.fc_provider(client, secret_file="conf/b.client_secret")
    block = site.sesame_block(http={"secret_file": "conf/b.secret"}, providers={"fc": provider})
    site.extra = VHOST.format(port=port, cert=env.pki.cert, key=env.pki.key,
                              sesame="\n".join("    " + line for line in block.splitlines()))
    server = start_server(site)
    return server, base


def test_two_vhosts_sharing_redis_cannot_use_each_other_sessions(two_vhosts, pki, emulator, redis):
    server, b_base = two_vhosts
    before = set(redis.keys("sesame:*"))
    a = Browser(pki.ca, server.base)
    a_server = php_server(a.login(server.url("/demarches/"), identity="testfc1").final)
    b = Browser(pki.ca, b_base)
    b_server = php_server(b.login(b_base + "/demarches/", identity="testfc1").final)
    assert a_server["SESAME_CLAIM_FAMILY_NAME"] == b_server["SESAME_CLAIM_FAMILY_NAME"] == "DUBOIS"
    # A's session cookie at B, and B's at A: not sessions there.
    intruder = Browser(pki.ca, b_base)
    intruder.set_cookie(SESSION, a.cookie(SESSION))
    assert_redirects_to_provider(intruder.get(b_base + "/demarches/"), emulator)
    intruder = Browser(pki.ca, server.base)
    intruder.set_cookie(SESSION, b.cookie(SESSION))
    assert_redirects_to_provider(intruder.get(server.url("/demarches/")), emulator)
    # Both live in the one Redis, under two namespaces.
    new_sessions = [k for k in set(redis.keys("sesame:*")) - before if ":s:" in k]
    namespaces = {k.split(":")[1] for k in new_sessions}
    assert len(new_sessions) == 2 and len(namespaces) == 2, new_sessions
