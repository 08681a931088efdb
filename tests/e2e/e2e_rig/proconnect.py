"""ProConnect on the rig: a second emulator in `--federation proconnect` mode, a ProConnect
provider block next to the FranceConnect one, and the locations the ProConnect tests use."""

import json
import secrets
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

from .services import Emulator

PC_LOCATIONS = """\
        location / { }
        location /usagers/ {
            sesame fc;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /usagers/sensible/ {
            sesame fc;
            sesame_acr eidas1;
            sesame_prompt login;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /agents/ {
            sesame pc;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /agents/mfa/ {
            sesame pc;
            sesame_acr mfa;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /agents/any-level/ {
            sesame pc;
            sesame_acr eidas1 eidas1-mfa;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /agents/recent/ {
            sesame pc;
            sesame_max_auth_age 10m;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /agents/eidas2/ {
            sesame pc;
            sesame_acr eidas2 eidas3;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /agents/paris/ {
            sesame pc;
            sesame_require siret 21750001600019 21750001600027;
            sesame_require email @fia1.fr;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /agents/silent/ {
            sesame pc;
            sesame_prompt none;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /agents/hint/ {
            sesame pc;
            sesame_login_hint $arg_email;
            sesame_siret_hint $arg_siret;
            sesame_idp_hint fia1v2;
            sesame_prompt login;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /agents/app/ {
            sesame pc;
            include sesame_proxy_params;
            proxy_pass http://127.0.0.1:{{ECHO_PORT}};
        }
        location = /agents/logout {
            sesame_logout pc;
        }
"""


# PC_LOCATIONS in Apache's words. Some sections name their provider
# next to the options (resolved at `apache2 -t`), others inherit it from /agents/ or /usagers/
# (resolved on the request that merges them): both paths are exercised.
APACHE_PC_LOCATIONS = """\
AliasMatch "^/(usagers|agents|inherited)/" "{{PHP_DIR}}/index.php"
<Location /usagers/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /usagers/sensible/>
    SesameUse fc
    SesameAcr eidas1
    SesamePrompt login
</Location>
<Location /agents/>
    AuthType Sesame
    SesameUse pc
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /agents/mfa/>
    SesameUse pc
    SesameAcr mfa
</Location>
<Location /agents/any-level/>
    SesameAcr eidas1 eidas1-mfa
</Location>
<Location /agents/recent/>
    SesameMaxAuthAge 10m
</Location>
<Location /agents/eidas2/>
    SesameAcr eidas2 eidas3
</Location>
<Location /agents/paris/>
    SesameUse pc
    SesameRequireClaim siret 21750001600019 21750001600027
    SesameRequireClaim email @fia1.fr
</Location>
<Location /agents/paris/fia/>
    SesameRequireClaim idp_id fia1v2 fia2v2
</Location>
<Location /agents/eidas2/any/>
    SesameAcr eidas1 eidas2 eidas3
</Location>
<Location /agents/eidas2/fc/>
    SesameUse fc
</Location>
<Location /agents/silent/>
    SesamePrompt none
</Location>
<Location /agents/hint/>
    SesameLoginHint $arg_email
    SesameSiretHint $arg_siret
    SesameIdpHint fia1v2
    SesamePrompt login
</Location>
<Location /inherited/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /inherited/silent/>
    SesamePrompt none
</Location>
<LocationMatch "^/agents/logout$">
    AuthType None
    Require all granted
    SetHandler sesame-logout
    SesameLogout pc
</LocationMatch>
"""

# The ProConnect site by server kind (a module's `site` fixture picks with `server_kind`).
PC_SITE = {"nginx": PC_LOCATIONS, "apache": APACHE_PC_LOCATIONS}


def pc_client(nginx_base, alg="ES256", userinfo_alg="same"):
    return {
        "client_id": "pc-" + secrets.token_hex(8),
        "client_secret": secrets.token_hex(32),
        "redirect_uris": [f"{nginx_base}/sesame/pc/callback"],
        "post_logout_redirect_uris": [f"{nginx_base}/sesame/pc/logged-out/"],
        "id_token_signed_response_alg": alg,
        "userinfo_signed_response_alg": alg if userinfo_alg == "same" else userinfo_alg,
    }


def add_pc_provider(site, emulator, client, name="pc", **directives):
    """A ProConnect provider block for `client` at the ProConnect `emulator`."""
    secret_file = f"conf/{name}.client_secret"
    site.files[secret_file] = client["client_secret"] + "\n"
    block = {
        "preset": "proconnect-integration",
        "issuer": emulator.issuer,
        "ca_file": str(site.env.pki.ca),
        "client_id": client["client_id"],
        "client_secret_file": secret_file,
        "redirect_uri": client["redirect_uris"][0],
        "post_logout_redirect_uri": client["post_logout_redirect_uris"][0],
        "http_timeout": "2s",
    }
    block.update(directives)
    site.providers[name] = block
    site.pc_client = client
    return client


def start_pc_emulator(workdir, pki, lenient=False):
    # --client-ca: the sites' jwks_uri, read for private_key_jwt assertions.
    args = ["--federation", "proconnect", "--client-ca", str(pki.ca)] + \
        (["--lenient"] if lenient else [])
    emu = Emulator(workdir, pki, extra_args=args)
    emu.default_strict = not lenient
    return emu


def make_pc_site(make_site, pc_emulator, locations=PC_LOCATIONS, **directives):
    site = make_site(locations=locations)
    add_pc_provider(site, pc_emulator, pc_client(site.base), **directives)
    return site


def start_pc_site(site, pc_emulator, start_server):
    """Start nginx; register the FC client at the FC emulator and the PC one at the PC emulator."""
    pc = site.pc_client
    site.clients = [c for c in site.clients if c is not pc]
    server = start_server(site)
    pc_emulator.add_client(pc)
    return server


@pytest.fixture(scope="module")
def pc_emulator(module_tmp, pki):
    emu = start_pc_emulator(module_tmp / "pc-emulator", pki, lenient=False)
    yield emu
    emu.stop()


@pytest.fixture(autouse=True)
def _pc_emulator_back_to_normal(request):
    yield
    if "pc_emulator" in request.fixturenames:
        emu = request.getfixturevalue("pc_emulator")
        emu.restore()
        emu.control(strict=emu.default_strict)


# ---- what the ProConnect tests read back ------------------------------------------------

def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def asked_acr(authorize_url):
    claims = json.loads(query(authorize_url)["claims"])
    acr = claims["id_token"]["acr"]
    return acr["values"] if acr else None


def follow_to_site(browser, resp, server, limit=6):
    """Follow redirects (site and provider) until a page that is not a redirect."""
    for _ in range(limit):
        if resp.status_code not in (302, 303):
            return resp
        resp = browser.get(urljoin(resp.url, resp.headers["Location"]))
    return resp
