"""Fixtures: a running emulator (subprocess, HTTPS, temp PKI) and a small client for it."""

import json
import os
import re
import sys
import urllib.parse

import pytest
import requests
from jwcrypto import jwk, jws

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))

from emulator_proc import EmulatorProcess  # noqa: E402

CLIENTS = [
    {
        "client_id": "client-es256",
        "client_secret": "secret-es256-0123456789",
        "redirect_uris": ["http://localhost:8080/callback"],
        "post_logout_redirect_uris": ["http://localhost:8080/logged-out"],
        "id_token_signed_response_alg": "ES256",
        "userinfo_signed_response_alg": "ES256",
        "amr_allowed": False,
    },
    {
        "client_id": "client-rs256",
        "client_secret": "secret-rs256-9876543210",
        "redirect_uris": ["https://app.example/cb/", "https://app.example/other"],
        "post_logout_redirect_uris": ["https://app.example/bye/"],
        "id_token_signed_response_alg": "RS256",
        "userinfo_signed_response_alg": "RS256",
        "amr_allowed": True,
    },
]
ES, RS = CLIENTS


class Emulator:
    def __init__(self, base, ca):
        self.base = base
        self.issuer = base + "/api/v2"
        self.ca = ca

    # -- control
    def post(self, name, body=None):
        r = requests.post(self.base + "/_emulator/" + name, json=body, verify=self.ca, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def get(self, name):
        r = requests.get(self.base + "/_emulator/" + name, verify=self.ca, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def control(self, **fields):
        return self.post("control", fields)

    def misbehave(self, *names):
        return self.control(misbehave=list(names))

    def last_error(self):
        return self.get("last-error")["code"]

    # -- protocol helpers
    def session(self):
        s = requests.Session()
        # REQUESTS_CA_BUNDLE in the environment would silently override Session.verify.
        s.trust_env = False
        s.verify = self.ca
        return s

    def auth_params(self, client=ES, **overrides):
        params = {
            "client_id": client["client_id"],
            "redirect_uri": client["redirect_uris"][0],
            "response_type": "code",
            "scope": "openid given_name family_name birthdate birthplace birthcountry gender email",
            "acr_values": "eidas1",
            "state": "s" * 32,
            "nonce": "n" * 32,
        }
        for k, v in overrides.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = v
        return params

    def authorize(self, sess, client=ES, raw_query=None, **overrides):
        url = self.issuer + "/authorize"
        if raw_query is not None:
            return sess.get(url + "?" + raw_query, allow_redirects=False, timeout=10)
        return sess.get(url, params=self.auth_params(client, **overrides),
                        allow_redirects=False, timeout=10)

    def submit_login(self, sess, page, login="testfc1", action="login"):
        m = re.search(r'<form method="post" action="([^"]+)">', page.text)
        assert m, page.text
        inter = re.search(r'name="interaction" value="([^"]+)"', page.text).group(1)
        return sess.post(m.group(1), data={"interaction": inter, "login": login,
                                           "action": action},
                         allow_redirects=False, timeout=10)

    def login(self, sess=None, client=ES, login="testfc1", **overrides):
        """Authorize + login; return the callback query as a dict (plus '_url')."""
        sess = sess or self.session()
        page = self.authorize(sess, client, **overrides)
        assert page.status_code == 200, page.text
        cb = self.submit_login(sess, page, login)
        assert cb.status_code == 303, cb.text
        return callback_params(cb)

    def token(self, code, client=ES, redirect_uri=None, **kw):
        data = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": redirect_uri or client["redirect_uris"][0],
                "client_id": client["client_id"], "client_secret": client["client_secret"]}
        data.update(kw.pop("data", {}))
        for k in [k for k, v in data.items() if v is None]:
            del data[k]
        return requests.post(self.issuer + "/token", data=data, verify=self.ca, timeout=20,
                             **kw)

    def userinfo(self, access_token, **kw):
        return requests.get(self.issuer + "/userinfo", verify=self.ca, timeout=20,
                            headers={"Authorization": "Bearer " + access_token}, **kw)

    def jwks(self):
        r = requests.get(self.issuer + "/jwks", verify=self.ca, timeout=10)
        return jwk.JWKSet.from_json(r.text)

    def verify(self, token, alg):
        """Verify a compact JWS against the published JWKS (by kid); return claims."""
        obj = jws.JWS()
        obj.deserialize(token)
        kid = obj.jose_header["kid"]
        key = self.jwks().get_key(kid)
        assert key is not None, "kid %s not in JWKS" % kid
        obj.verify(key, alg=alg)
        return json.loads(obj.payload)

    def full_flow(self, client=ES, login="testfc1", **overrides):
        cb = self.login(client=client, login=login, **overrides)
        tok = self.token(cb["code"], client)
        assert tok.status_code == 200, tok.text
        return cb, tok.json()


def callback_params(resp):
    loc = resp.headers["Location"]
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query, keep_blank_values=True))
    q["_url"] = loc
    return q


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    proc = EmulatorProcess.start(tmp_path_factory.mktemp("emulator"), clients=CLIENTS)
    try:
        yield Emulator(proc.base, proc.ca)
    finally:
        proc.stop()  # kills by PID


@pytest.fixture(autouse=True)
def clean(emulator):
    emulator.post("reset")
    emulator.post("clients", CLIENTS)
    yield
