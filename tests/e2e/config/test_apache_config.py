"""`apache2 -t` refuses bad Sesame configurations with the core's own message (the same checks
and words as `nginx -t`: the mutations are test_config's), and keeps Apache's rules on where each
directive may appear."""

import re
import secrets
import subprocess
from pathlib import Path

import pytest

from e2e_rig.procs import free_port
from e2e_rig.services import new_client
from .test_config import CASES

pytestmark = pytest.mark.only("apache", reason="Apache's directives and the lines of `apache2 -t`; nginx's are in test_config")

# Location-level mutations written for nginx's syntax, replaced by Apache equivalents below.
NGINX_ONLY = {"unknown_provider_in_location", "unknown_provider_in_logout"}


def unknown_provider_in_location(site):
    site.locations = """\
<Location /app/>
    AuthType Sesame
    SesameUse nosuch
    Require valid-user
</Location>
"""


def unknown_provider_in_logout(site):
    site.locations = """\
<LocationMatch "^/logout$">
    SetHandler sesame-logout
    SesameLogout nosuch
</LocationMatch>
"""


# The same mistakes, read by an Apache operator: the core names each directive as httpd.conf
# writes it (never nginx's sesame_secret_file or client_id).
APACHE_WORDS = {
    "client_id": "ClientID",
    "preset": "Preset",
    "redirect_uri": "RedirectURI",
    "secret_file": "SesameSecretFile",
    "client_secret_file": "ClientSecretFile",
    "pkce": "PKCE",
    "acr_values": "AcrValues",
    "post_logout_redirect_uri": "PostLogoutRedirectURI",
    "scope": "Scope",
    "redis": "SesameRedis",
    "redis_timeout": "SesameRedisTimeout",
    "session_idle_timeout": "SesameSessionIdleTimeout",
    "session_lifetime": "SesameSessionLifetime",
    "issuer": "Issuer",
    "session_cache 15m": "SesameSessionCache 15m",
    "half of sesame_session_idle_timeout (30m)": "half of SesameSessionIdleTimeout (30m)",
}


def _in_apache_words(case):
    mutate, words, at_line = case
    return mutate, [APACHE_WORDS.get(w, w) for w in words], at_line


APACHE_CASES = [_in_apache_words(c) for c in CASES if c[0].__name__ not in NGINX_ONLY] + [
    (unknown_provider_in_location, ["nosuch"], False),
    (unknown_provider_in_logout, ["nosuch"], False),
]


def test_standard_config_passes_apache_t(make_site):
    rc, out = make_site().config_test()
    assert rc == 0, out
    assert "Syntax OK" in out


@pytest.mark.parametrize("mutate, words, at_line", APACHE_CASES, ids=[m.__name__ for m, _, _ in APACHE_CASES])
def test_bad_config_fails_apache_t_with_the_core_message(mutate, words, at_line, make_site):
    site = make_site()
    mutate(site)
    rc, out = site.config_test()
    assert rc != 0, f"apache2 -t accepted the configuration:\n{site.render()}"
    assert "Syntax OK" not in out
    for word in words:
        assert word in out, f"{word!r} missing from: {out}"
    assert "sesame_" not in out.replace("mod_sesame", ""), f"nginx syntax told to an Apache operator: {out}"
    # Every error names the configuration file and line it is about.
    assert "apache.conf" in out, out
    if at_line:
        assert "Syntax error on line" in out, out


VHOST_WITH_OWN_PROVIDER = """\
Listen 127.0.0.1:{port}
<VirtualHost 127.0.0.1:{port}>
    ServerName vhost-b.example
    SSLEngine on
    SSLCertificateFile "{cert}"
    SSLCertificateKeyFile "{key}"
{sesame}
</VirtualHost>
"""


def _site_with_a_second_vhost(make_site, env, secret):
    """The main server plus a virtual host with its own FranceConnect client and the secret
    file conf/b.secret holding `secret`."""
    site = make_site()
    port = free_port()
    client = new_client(f"https://127.0.0.1:{port}")
    site.files["conf/b.secret"] = secret
    site.files["conf/b.client_secret"] = client["client_secret"] + "\n"
    provider = site.fc_provider(client, secret_file="conf/b.client_secret")
    block = site.sesame_block(http={"secret_file": "conf/b.secret"}, providers={"fc": provider})
    site.extra = VHOST_WITH_OWN_PROVIDER.format(
        port=port, cert=env.pki.cert, key=env.pki.key,
        sesame="\n".join("    " + line for line in block.splitlines()))
    return site


def test_two_vhosts_sharing_one_secret_get_a_warning_at_apache_t(make_site, env):
    secret = secrets.token_hex(32)
    site = _site_with_a_second_vhost(make_site, env, secret=secret)
    # The main server's conf/sesame.secret: another file, the same bytes (the secret is what
    # counts, not the path).
    site.secret = secret.encode()
    rc, out = site.config_test()
    assert rc == 0 and "Syntax OK" in out, out
    warning = [line for line in out.splitlines() if "use the same secret" in line]
    assert len(warning) == 1, out
    assert "vhost-b.example" in warning[0] and "apache.conf:" in warning[0], warning[0]
    assert "SesameSecretFile" in warning[0]


def test_vhosts_with_their_own_secrets_get_no_warning(make_site, env):
    site = _site_with_a_second_vhost(make_site, env, secret=secrets.token_hex(32))
    rc, out = site.config_test()
    assert rc == 0 and "Syntax OK" in out, out
    assert "same secret" not in out, out


@pytest.mark.parametrize("directive", [
    "SesameRedis redis://127.0.0.1:1/0",
    "SesameSecretFile /etc/passwd",
    "SesameSessionLifetime 1h",
])
def test_server_directives_are_refused_inside_a_location(directive, make_site):
    site = make_site()
    site.locations = f"""\
<Location /demarches/>
    AuthType Sesame
    SesameUse fc
    {directive}
    Require valid-user
</Location>
"""
    rc, out = site.config_test()
    assert rc != 0, site.render()
    assert "not allowed" in out, out


def test_provider_section_is_refused_inside_a_location(make_site):
    site = make_site()
    site.locations = """\
<Location /app-public/>
<SesameProvider other>
    Preset generic
</SesameProvider>
</Location>
"""
    rc, out = site.config_test()
    assert rc != 0 and "not allowed" in out, out


def test_require_sesame_acr_needs_a_level(make_site):
    site = make_site()
    site.locations = """\
<Location /demarches/>
    AuthType Sesame
    SesameUse fc
    Require sesame-acr
</Location>
"""
    rc, out = site.config_test()
    assert rc != 0 and "sesame-acr takes one or more levels" in out, out


def test_sesame_variables_accepts_only_known_styles(make_site):
    site = make_site()
    site.locations = """\
<Location /demarches/>
    AuthType Sesame
    SesameUse fc
    SesameVariables shibboleth
    Require valid-user
</Location>
"""
    rc, out = site.config_test()
    assert rc != 0 and "mod_auth_openidc" in out, out


def test_module_loaded_without_any_sesame_directive_passes(make_site):
    site = make_site(locations="")
    site.http = {}
    site.providers = {}
    rc, out = site.config_test()
    assert rc == 0, out


def test_sample_configuration_passes_apache_t(make_site, env):
    """apache/sesame.conf.example, with its paths pointed at test files, is a valid setup."""
    from e2e_rig.paths import REPO

    site = make_site(locations="")
    site.http = {}
    site.providers = {}
    sample = (REPO / "apache" / "sesame.conf.example").read_text()
    sample = sample.replace("/usr/lib/apache2/modules/mod_sesame.so", str(site.prefix / "modules" / "mod_sesame.so"))
    sample = sample.replace("/etc/sesame/secret", str(site.prefix / "conf" / "sesame.secret"))
    sample = sample.replace("/etc/sesame/fc.secret", str(site.prefix / "conf" / "fc.client_secret"))
    sample = sample.replace("redis://127.0.0.1:6379/0", env.redis.url)
    conf = site.render().replace(f'LoadModule sesame_module "{site.prefix / "modules" / "mod_sesame.so"}"\n', "")
    rc, out = site.config_test(conf + "\n" + sample)
    assert rc == 0, out
    assert "Syntax OK" in out


def _readme_apache_blocks():
    from e2e_rig.paths import REPO

    section = (REPO / "README.md").read_text().split("## Apache httpd", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```apache\n(.*?)```", section, re.S)


@pytest.mark.parametrize("index", [0, 2])
def test_readme_apache_examples_pass_apache_t(index, make_site, env):
    """The README's complete example and its mod_auth_openidc migration target are valid."""
    blocks = _readme_apache_blocks()
    assert len(blocks) == 3, "README: complete example, mod_auth_openidc, mod_sesame"
    site = make_site(locations="")
    site.http = {}
    site.providers = {}
    port = free_port()
    text = blocks[index]
    for old, new in {
        "/usr/lib/apache2/modules/mod_sesame.so": str(site.prefix / "modules" / "mod_sesame.so"),
        "/etc/sesame/secret": str(site.prefix / "conf" / "sesame.secret"),
        "/etc/sesame/fc.secret": str(site.prefix / "conf" / "fc.client_secret"),
        "*:443": f"127.0.0.1:{port}",
    }.items():
        text = text.replace(old, new)
    conf = site.render()
    if "LoadModule sesame_module" in text:
        conf = conf.replace(f'LoadModule sesame_module "{site.prefix / "modules" / "mod_sesame.so"}"\n', "")
    extra = f"Listen 127.0.0.1:{port}\n" if "<VirtualHost" in text else ""
    rc, out = site.config_test(conf + "\n" + extra + text)
    assert rc == 0, out + "\n" + text


def test_readme_mod_auth_openidc_example_is_a_real_mod_auth_openidc_configuration(make_site):
    """The 'before' side of the migration example passes apache2 -t with Debian's
    mod_auth_openidc, so the comparison is with a configuration that exists."""
    module = Path("/usr/lib/apache2/modules/mod_auth_openidc.so")
    assert module.is_file(), "apt-get install libapache2-mod-auth-openidc (tools/setup.sh installs it)"
    site = make_site(sesame=False)
    site.extra_modules.append(("auth_openidc_module", "mod_auth_openidc.so"))
    rc, out = site.config_test(site.render() + "\n" + _readme_apache_blocks()[1])
    assert rc == 0, out


def test_module_exports_only_sesame_module(apache_module):
    """The core's symbols (Rust std, ring...) stay out of Apache's global namespace."""
    out = subprocess.run(["nm", "-D", "--defined-only", str(apache_module)], capture_output=True, text=True, check=True)
    exported = sorted(line.split()[2] for line in out.stdout.splitlines() if line.split()[1] not in ("w", "W"))
    assert exported == ["sesame_module"], exported[:20]
