"""FranceConnect+ on the rig: an emulator in `--federation franceconnect-plus` mode (it fetches
the site's JWKS over HTTPS), a provider block `fcp` with the site's own keys, and its locations."""

import os
import secrets
import subprocess

from pathlib import Path

import pytest

from .services import Emulator

REPO = Path(__file__).resolve().parents[3]

FCP_LOCATIONS = """\
        location / { }
        location /plus/ {
            sesame fcp;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /plus/high/ {
            sesame fcp;
            sesame_acr eidas3;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location = /plus/logout {
            sesame_logout fcp;
        }
"""

APACHE_FCP_LOCATIONS = """\
AliasMatch "^/plus/" "{{PHP_DIR}}/index.php"
<Location /plus/>
    AuthType Sesame
    SesameUse fcp
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /plus/high/>
    SesameUse fcp
    SesameAcr eidas3
</Location>
<LocationMatch "^/plus/logout$">
    AuthType None
    Require all granted
    SetHandler sesame-logout
    SesameLogout fcp
</LocationMatch>
"""

FCP_SITE = {"nginx": FCP_LOCATIONS, "apache": APACHE_FCP_LOCATIONS}

# The path the site publishes its keys at: in `location /`, where Sesame is not configured.
JWKS_PATH = "/sesame/jwks"


def keygen(path, kind):
    """`sesame keygen --enc KIND PATH` with the built command (what an operator runs)."""
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([str(target / "debug" / "sesame"), "keygen", "--enc", kind, str(path),
                          "--force"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return str(path)


def fcp_client(site_base, alg, method="client_secret_post"):
    return {
        "client_id": "fcp-" + secrets.token_hex(8),
        "client_secret": secrets.token_hex(32),
        "redirect_uris": [f"{site_base}/sesame/plus/callback"],
        "post_logout_redirect_uris": [f"{site_base}/sesame/plus/logged-out"],
        "id_token_signed_response_alg": "ES256",
        "jwks_uri": site_base + JWKS_PATH,
        "id_token_encrypted_response_alg": alg,
        "userinfo_encrypted_response_alg": alg,
        "token_endpoint_auth_method": method,
    }


def key_kind(alg):
    return "ec" if alg == "ECDH-ES" else "rsa"


def add_fcp_provider(site, emulator, client, key_files, **directives):
    """The `fcp` provider block for `client`, decrypting with `key_files` (absolute paths)."""
    secret_file = "conf/fcp.client_secret"
    site.files[secret_file] = client["client_secret"] + "\n"
    block = {
        "preset": "franceconnect-plus-integration",
        "issuer": emulator.issuer,
        "ca_file": str(site.env.pki.ca),
        "client_id": client["client_id"],
        "client_secret_file": secret_file,
        "redirect_uri": client["redirect_uris"][0],
        "post_logout_redirect_uri": client["post_logout_redirect_uris"][0],
        "jwks_uri": client["jwks_uri"],
        "encryption_key_file": " ".join(key_files),
        "logout_redirect": "/",
        "http_timeout": "2s",
    }
    alg = client["id_token_encrypted_response_alg"]
    if alg == "RSA-OAEP":
        block["encryption_alg"] = "RSA-OAEP"
    block.update(directives)
    site.providers["fcp"] = block
    site.fcp_client = client
    return client


def start_fcp_site(site, emulator, start_server):
    """Start the server; the FC+ client is registered at the FC+ emulator only."""
    client = site.fcp_client
    site.clients = [c for c in site.clients if c is not client]
    server = start_server(site)
    emulator.add_client(client)
    return server


class FcPlusEmulator(Emulator):
    def forget_client_keys(self):
        self._post("/_emulator/forget-client-keys")

    def restore(self):
        super().restore()
        self.forget_client_keys()


@pytest.fixture(scope="module")
def fcp_emulator(module_tmp, pki):
    emu = FcPlusEmulator(module_tmp / "fcp-emulator", pki, extra_args=[
        "--federation", "franceconnect-plus", "--client-ca", str(pki.ca)])
    yield emu
    emu.stop()


@pytest.fixture(autouse=True)
def _fcp_emulator_back_to_normal(request):
    yield
    if "fcp_emulator" in request.fixturenames:
        request.getfixturevalue("fcp_emulator").restore()



