"""The site's own keys: a rotation without a failed login, private_key_jwt refused when the
provider only knows another signing key, and bad key files refused at `nginx -t` / `apache2 -t`."""

import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from e2e_rig.browser import Browser
from e2e_rig.checks import assert_page, php_server
from e2e_rig.redis_topologies import run_cli
from e2e_rig.fcplus import (  # noqa: F401 (fixtures)
    FCP_SITE, JWKS_PATH, _fcp_emulator_back_to_normal, add_fcp_provider, fcp_client,
    fcp_emulator, keygen, start_fcp_site)


def published_kids(server, pki):
    keys = Browser(pki.ca, site_base=server.base).get(server.url(JWKS_PATH)).json()["keys"]
    return [k["kid"] for k in keys if k["use"] == "enc"]


def logs_in(server, pki):
    login = Browser(pki.ca, site_base=server.base).login(server.url("/plus/"))
    return php_server(login.final)["SESAME_ACR"] == "eidas2"


def test_key_rotation_step_by_step_never_fails_a_login(make_site, server_kind, fcp_emulator,
                                                       start_server, pki):
    site = make_site(locations=FCP_SITE[server_kind])
    old = keygen(site.prefix / "keys" / "old.pem", "ec")
    add_fcp_provider(site, fcp_emulator, fcp_client(site.base, "ECDH-ES"), [old])
    server = start_fcp_site(site, fcp_emulator, start_server)
    assert logs_in(server, pki)
    (old_kid,) = published_kids(server, pki)

    # 1. Publish the new key after the current one: both decrypt; the provider's copy of the
    #    JWKS (still the old one) and a fresh one both work.
    new = keygen(site.prefix / "keys" / "new.pem", "ec")
    site.providers["fcp"]["encryption_key_file"] = f"{old} {new}"
    server.reload()
    kids = published_kids(server, pki)
    assert kids[0] == old_kid and len(kids) == 2
    new_kid = kids[1]
    assert logs_in(server, pki)
    fcp_emulator.forget_client_keys()
    assert logs_in(server, pki)

    # 2. Switch: the new key first. The provider encrypts to it once it reads the JWKS again;
    #    until then tokens encrypted to the old key still decrypt.
    site.providers["fcp"]["encryption_key_file"] = f"{new} {old}"
    server.reload()
    assert published_kids(server, pki) == [new_kid, old_kid]
    assert logs_in(server, pki)  # encrypted to the old key (the provider's copy)
    fcp_emulator.forget_client_keys()
    assert logs_in(server, pki)  # encrypted to the new key

    # 3. No token can still be encrypted to the old key: remove it.
    site.providers["fcp"]["encryption_key_file"] = new
    server.reload()
    assert published_kids(server, pki) == [new_kid]
    assert logs_in(server, pki)


def test_private_key_jwt_with_a_key_the_provider_does_not_know_is_refused(
        make_site, server_kind, fcp_emulator, start_server, pki):
    site = make_site(locations=FCP_SITE[server_kind])
    keys = site.prefix / "keys"
    client = fcp_client(site.base, "ECDH-ES", method="private_key_jwt")
    add_fcp_provider(site, fcp_emulator, client, [keygen(keys / "enc.pem", "ec")],
                     token_auth="private_key_jwt",
                     client_signing_key_file=keygen(keys / "sig-1.pem", "ec"))
    server = start_fcp_site(site, fcp_emulator, start_server)
    assert logs_in(server, pki)
    # Another signing key, while the provider still holds the JWKS with the first one.
    site.providers["fcp"]["client_signing_key_file"] = keygen(keys / "sig-2.pem", "ec")
    server.reload()
    offset = server.log_size()
    login = Browser(pki.ca, site_base=server.base).login(server.url("/plus/"))
    assert_page(login.callback, range(400, 600))
    assert "invalid_client" in server.log_since(offset)
    # Once the provider reads the site's JWKS again, the new key is accepted.
    fcp_emulator.forget_client_keys()
    assert logs_in(server, pki)


def pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


BAD_KEYS = {
    "world_readable": (lambda: pem(ec.generate_private_key(ec.SECP256R1())), 0o644,
                       "is readable by group or others (mode 0644)"),
    "rsa_1024": (lambda: pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
                 0o600, "is an RSA key of 1024 bits: at least 2048"),
    "p384": (lambda: pem(ec.generate_private_key(ec.SECP384R1())), 0o600,
             "is an EC key on secp384r1: only P-256"),
    "not_a_key": (lambda: b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                  0o600, "is not a PEM private key"),
}


@pytest.mark.parametrize("case", sorted(BAD_KEYS))
def test_bad_key_files_fail_the_config_test_with_the_file_named(case, make_site, server_kind,
                                                                fcp_emulator):
    make, mode, words = BAD_KEYS[case]
    site = make_site(locations=FCP_SITE[server_kind])
    keys = site.prefix / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    path = keys / (case + ".pem")
    path.write_bytes(make())
    os.chmod(path, mode)
    add_fcp_provider(site, fcp_emulator, fcp_client(site.base, "ECDH-ES"), [str(path)])
    rc, err = site.config_test()
    assert rc != 0, err
    directive = "encryption_key_file" if server_kind == "nginx" else "EncryptionKeyFile"
    assert f'{directive} "{path}" {words}' in err, err


def test_an_rsa_client_signing_key_fails_the_config_test_under_franceconnect_plus(
        make_site, server_kind, fcp_emulator):
    """FranceConnect+ takes private_key_jwt assertions signed with ES256 only: an RSA key would
    fail every token exchange, so the configuration test refuses it with the file named."""
    site = make_site(locations=FCP_SITE[server_kind])
    keys = site.prefix / "keys"
    rsa_key = keygen(keys / "sig-rsa.pem", "rsa")
    add_fcp_provider(site, fcp_emulator, fcp_client(site.base, "ECDH-ES", method="private_key_jwt"),
                     [keygen(keys / "enc.pem", "ec")], token_auth="private_key_jwt",
                     client_signing_key_file=rsa_key)
    rc, err = site.config_test()
    assert rc != 0, err
    directive = "client_signing_key_file" if server_kind == "nginx" else "ClientSigningKeyFile"
    assert f'{directive} "{rsa_key}" is a key for RS256' in err, err
    assert "accepts client assertions signed with ES256 only" in err, err


@pytest.mark.only("nginx", reason="the sesame command reads nginx.conf")
def test_keygen_enc_writes_0600_keys_that_config_check_accepts(make_site, server_kind,
                                                                fcp_emulator, tmp_path):
    ec_key, rsa_key = tmp_path / "enc-ec.pem", tmp_path / "enc-rsa.pem"
    for path, kind, header in ((ec_key, "ec", b"-----BEGIN PRIVATE KEY-----"),
                               (rsa_key, "rsa", b"-----BEGIN PRIVATE KEY-----")):
        rc, _, err = run_cli("keygen", "--enc", kind, path)
        assert rc == 0, err
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert path.read_bytes().startswith(header)
    # Never overwritten by accident; an unknown kind is refused.
    before = ec_key.read_bytes()
    rc, _, err = run_cli("keygen", "--enc", "ec", ec_key)
    assert rc != 0 and "already exists" in err and ec_key.read_bytes() == before
    rc, _, err = run_cli("keygen", "--enc", "dsa", tmp_path / "x.pem")
    assert rc != 0 and "expected ec or rsa" in err
    # Accepted by the configuration, as the current key and as the one being rotated out.
    site = make_site(locations=FCP_SITE[server_kind])
    add_fcp_provider(site, fcp_emulator, fcp_client(site.base, "ECDH-ES"),
                     [str(ec_key), str(rsa_key)])
    site.prepare()
    rc, out, _ = run_cli("config", "check", "-c", site.prefix / "conf" / "nginx.conf")
    assert rc == 0, out
