"""The emulator's FranceConnect+ mode (docs/federations.md §10.2): levels, ES256 only, tokens
encrypted to the client's JWKS, the misbehaviour switches, private_key_jwt."""

import json
import os
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from jwcrypto import jwe, jwk, jws

from conftest import Emulator, EmulatorProcess
import pki


class ClientKeys:
    """The client's key pairs and an HTTPS server publishing their public halves."""

    def __init__(self, paths):
        self.enc = {
            "ECDH-ES": jwk.JWK.generate(kty="EC", crv="P-256"),
            "RSA-OAEP-256": jwk.JWK.generate(kty="RSA", size=2048),
            "RSA-OAEP": jwk.JWK.generate(kty="RSA", size=2048),
        }
        self.sig = jwk.JWK.generate(kty="EC", crv="P-256")
        self.published = None
        self.publish()
        keys = self

        class Serve(BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps(keys.published).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(paths["server"], paths["server_key"])
        self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.url = "https://127.0.0.1:%d/jwks" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def kid(self, alg):
        return "enc-" + alg

    def publish(self, extra=()):
        keys = []
        for alg, key in self.enc.items():
            public = json.loads(key.export_public())
            public.update({"kid": self.kid(alg), "use": "enc", "alg": alg})
            keys.append(public)
        public = json.loads(self.sig.export_public())
        public.update({"kid": "sig-1", "use": "sig", "alg": "ES256"})
        keys.append(public)
        self.published = {"keys": keys + list(extra)}

    def decrypt(self, token, alg):
        obj = jwe.JWE()
        obj.deserialize(token)
        obj.allowed_algs = [alg, "A256GCM"]
        obj.decrypt(self.enc[alg])
        return obj.jose_header, obj.payload.decode()


def plus_client(cid, alg, keys, method="client_secret_post"):
    return {
        "client_id": cid, "client_secret": "secret-" + cid,
        "redirect_uris": ["https://fs.example/sesame/plus/callback"],
        "post_logout_redirect_uris": ["https://fs.example/sesame/plus/logged-out"],
        "id_token_signed_response_alg": "ES256", "jwks_uri": keys.url,
        "id_token_encrypted_response_alg": alg, "userinfo_encrypted_response_alg": alg,
        "token_endpoint_auth_method": method,
    }


class PlusEmulator(Emulator):
    def auth_params(self, client=None, **overrides):
        overrides.setdefault("acr_values", "eidas2")
        return super().auth_params(client, **overrides)


@pytest.fixture(scope="module")
def plus(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("emulator-plus"))
    paths = pki.ensure_pki(os.path.join(workdir, "pki"))
    keys = ClientKeys(paths)
    clients = [plus_client("c-" + alg, alg, keys) for alg in keys.enc]
    clients.append(plus_client("c-pkjwt", "ECDH-ES", keys, "private_key_jwt"))
    proc = EmulatorProcess.start(workdir, clients=clients, extra_args=[
        "--federation", "franceconnect-plus", "--client-ca", paths["ca"]])
    emu = PlusEmulator(proc.base, proc.ca)
    emu.keys, emu.clients = keys, {c["client_id"]: c for c in clients}
    try:
        yield emu
    finally:
        proc.stop()
        keys.server.shutdown()


@pytest.fixture(autouse=True)
def clean(plus):
    plus.post("reset")
    plus.post("forget-client-keys")
    plus.keys.publish()
    yield


def login_tokens(plus, cid, **overrides):
    client = plus.clients[cid]
    cb = plus.login(client=client, **overrides)
    tok = plus.token(cb["code"], client)
    assert tok.status_code == 200, tok.text
    return tok.json()


def test_discovery_says_fcplus_levels_es256_and_encryption(plus):
    doc = plus.session().get(plus.issuer + "/.well-known/openid-configuration").json()
    assert doc["acr_values_supported"] == ["eidas2", "eidas3"]
    assert doc["id_token_signing_alg_values_supported"] == ["ES256"]
    assert set(doc["id_token_encryption_alg_values_supported"]) == {
        "ECDH-ES", "RSA-OAEP", "RSA-OAEP-256"}
    assert doc["userinfo_encryption_enc_values_supported"] == ["A256GCM"]


def test_eidas1_is_refused_and_the_default_is_eidas3(plus):
    client = plus.clients["c-ECDH-ES"]
    r = plus.authorize(plus.session(), client, acr_values="eidas1")
    assert r.status_code == 303 and "error=invalid_acr" in r.headers["Location"]
    tokens = login_tokens(plus, "c-ECDH-ES", acr_values="unknown-level")
    _, inner = plus.keys.decrypt(tokens["id_token"], "ECDH-ES")
    assert plus.verify(inner, "ES256")["acr"] == "eidas3"


def test_rs256_clients_are_refused_at_registration(plus):
    bad = dict(plus.clients["c-ECDH-ES"], id_token_signed_response_alg="RS256")
    r = plus.session().post(plus.base + "/_emulator/clients", json=[bad])
    assert r.status_code == 400 and "ES256" in r.text


def test_a_localhost_redirect_uri_is_refused_with_a_page(plus):
    local = dict(plus.clients["c-ECDH-ES"], client_id="c-local",
                 redirect_uris=["https://localhost:8443/sesame/plus/callback"],
                 post_logout_redirect_uris=["https://localhost:8443/bye"])
    named = dict(local, client_id="c-named",
                 redirect_uris=["https://fs.example/sesame/plus/callback"])
    registered = list(plus.clients.values())
    r = plus.session().post(plus.base + "/_emulator/clients", json=registered + [local, named])
    assert r.status_code == 200, r.text
    try:
        r = plus.authorize(plus.session(), local)
        assert r.status_code == 400 and "Y030007" in r.text and "localhost" in r.text
        assert "Location" not in r.headers
        # The same client on a name of its own gets the login page.
        r = plus.authorize(plus.session(), named)
        assert r.status_code == 200 and "Y030007" not in r.text, r.text[:300]
    finally:
        plus.session().post(plus.base + "/_emulator/clients", json=registered)


@pytest.mark.parametrize("alg", ["ECDH-ES", "RSA-OAEP-256", "RSA-OAEP"])
def test_id_token_and_userinfo_are_encrypted_to_the_client_key(plus, alg):
    tokens = login_tokens(plus, "c-" + alg)
    header, inner = plus.keys.decrypt(tokens["id_token"], alg)
    assert header["alg"] == alg and header["enc"] == "A256GCM"
    assert header["cty"] == "JWT" and header["kid"] == plus.keys.kid(alg)
    claims = plus.verify(inner, "ES256")
    assert claims["acr"] == "eidas2"
    ui = plus.userinfo(tokens["access_token"])
    assert ui.status_code == 200 and ui.headers["Content-Type"].startswith("application/jwt")
    header, inner = plus.keys.decrypt(ui.text, alg)
    assert plus.verify(inner, "ES256")["sub"] == claims["sub"]


def header_of(token):
    return json.loads(jwk.base64url_decode(token.split(".")[0]))


@pytest.mark.parametrize("switch, check", [
    ("plain_jws", lambda t, k: t.count(".") == 2),
    ("jwe_wrong_alg", lambda t, k: header_of(t)["alg"] == "RSA-OAEP"),
    ("jwe_wrong_enc", lambda t, k: header_of(t)["enc"] == "A128GCM"),
    ("jwe_zip", lambda t, k: header_of(t)["zip"] == "DEF"),
    ("jwe_no_kid", lambda t, k: "kid" not in header_of(t)),
    ("jwe_unknown_kid", lambda t, k: header_of(t)["kid"].startswith("unknown-")),
    ("jwe_sig_key", lambda t, k: header_of(t)["kid"] == "sig-1"),
])
def test_misbehaviour_switches_alter_the_jwe(plus, switch, check):
    plus.misbehave(switch)
    tokens = login_tokens(plus, "c-RSA-OAEP-256")
    assert check(tokens["id_token"], plus.keys), header_of(tokens["id_token"])


def test_inner_jws_switches_sign_wrongly(plus):
    plus.misbehave("jwe_inner_wrong_key")
    _, inner = plus.keys.decrypt(login_tokens(plus, "c-ECDH-ES")["id_token"], "ECDH-ES")
    with pytest.raises(Exception):
        plus.verify(inner, "ES256")
    plus.misbehave("jwe_inner_wrong_alg")
    _, inner = plus.keys.decrypt(login_tokens(plus, "c-ECDH-ES")["id_token"], "ECDH-ES")
    assert header_of(inner)["alg"] == "RS256"


def test_userinfo_plain_jws_switch(plus):
    plus.misbehave("userinfo_plain_jws")
    tokens = login_tokens(plus, "c-ECDH-ES")
    assert tokens["id_token"].count(".") == 4
    assert plus.userinfo(tokens["access_token"]).text.count(".") == 2


def assertion(plus, key, kid="sig-1", **edits):
    now = int(time.time())
    claims = {"iss": "c-pkjwt", "sub": "c-pkjwt", "aud": plus.issuer + "/token",
              "jti": uuid.uuid4().hex, "iat": now, "exp": now + 60}
    claims.update(edits)
    token = jws.JWS(json.dumps(claims))
    token.add_signature(key, alg="ES256", protected=json.dumps({"alg": "ES256", "kid": kid}))
    return token.serialize(compact=True)


def pkjwt_token(plus, signed):
    cb = plus.login(client=plus.clients["c-pkjwt"])
    return plus.token(cb["code"], plus.clients["c-pkjwt"], data={
        "client_secret": None, "client_assertion": signed,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})


def test_private_key_jwt_is_verified_with_the_client_jwks(plus):
    good = assertion(plus, plus.keys.sig)
    assert pkjwt_token(plus, good).status_code == 200
    # The same jti again, another key, another audience, too long a life.
    assert pkjwt_token(plus, good).status_code == 401
    wrong = jwk.JWK.generate(kty="EC", crv="P-256")
    r = pkjwt_token(plus, assertion(plus, wrong))
    assert r.status_code == 401 and "signature is invalid" in r.text
    r = pkjwt_token(plus, assertion(plus, plus.keys.sig, aud="https://elsewhere/token"))
    assert r.status_code == 401 and "aud" in r.text
    r = pkjwt_token(plus, assertion(plus, plus.keys.sig, exp=int(time.time()) + 3600))
    assert r.status_code == 401 and "longer than" in r.text
    # A client registered for private_key_jwt cannot use its secret instead.
    cb = plus.login(client=plus.clients["c-pkjwt"])
    assert plus.token(cb["code"], plus.clients["c-pkjwt"]).status_code == 401


def test_sso_is_reused_for_eidas2_only_and_lasts_ten_minutes(plus):
    sess = plus.session()
    client = plus.clients["c-ECDH-ES"]

    def auth_time(acr):
        cb = plus.login(sess, client=client, acr_values=acr)
        tok = plus.token(cb["code"], client).json()
        _, inner = plus.keys.decrypt(tok["id_token"], "ECDH-ES")
        return plus.verify(inner, "ES256")["auth_time"]

    first = auth_time("eidas2")
    plus.control(clock_offset=5)
    assert auth_time("eidas2") == first
    plus.control(clock_offset=10)
    assert auth_time("eidas3") != first
    # Ten minutes after the first login there is no SSO session left to reuse.
    plus.control(clock_offset=10 * 60 + 30)
    assert auth_time("eidas2") != first
