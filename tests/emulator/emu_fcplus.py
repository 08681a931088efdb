"""FranceConnect+ (fcp-high) mode of the emulator: `--federation franceconnect-plus`.

Rules (docs/federations.md §1.2, §2, §4.7, §10.2): as FranceConnect v2, plus
- acr `eidas2` < `eidas3`, default `eidas3`, `eidas1` → 303 `invalid_acr`;
- ES256 signatures only;
- the id_token and userinfo encrypted to the client: the emulator fetches the client's `jwks_uri`
  (over HTTPS, trusting `--client-ca`; kept 5 min, `POST /_emulator/forget-client-keys` drops the
  copy), takes the first key with `use: enc` and the registered `alg`, and sends a compact JWE
  (`alg` ECDH-ES, RSA-OAEP or RSA-OAEP-256, `enc` A256GCM, `cty: JWT`, the key's `kid`) around
  the ES256 JWS;
- SSO session of 10 minutes, not sliding, reused only for `eidas2` logins;
- token endpoint: `client_secret_post` or `private_key_jwt` (ES256 assertion verified with the
  client's JWKS `use: sig` key: `iss` = `sub` = client_id, `aud` the token endpoint, `exp` at
  most 60 s away, `jti` never seen before).

The JWE are made with jwcrypto (the JWS stay hand-written in emu_jose.py, so that they can be
wrong on purpose). Misbehaviour switches (one-shot, as in FranceConnect mode) for every refusal a
relying party owes: `plain_jws` (id_token not encrypted), `userinfo_plain_jws`, `jwe_wrong_alg`
(RSA-OAEP for an RSA-OAEP-256 client and the reverse, ECDH-ES+A256KW for ECDH-ES),
`jwe_wrong_enc` (A128GCM), `jwe_zip` (zip DEF), `jwe_no_kid`, `jwe_unknown_kid`, `jwe_sig_key`
(encrypted to the client's signing key, with its kid), `jwe_inner_wrong_key` (inner JWS signed
by a key the provider does not publish, under its real kid), `jwe_inner_wrong_alg` (inner JWS
RS256).
"""

import json
import urllib.error

from jwcrypto import jwe as jw_jwe
from jwcrypto import jwk as jw_jwk

import emu_jose as jose
import emulator
from emu_assertion import CLIENT_KEYS, PrivateKeyJwtClients, _bare
from emulator import (ClientConfigError, Handler, parse_registration, validate_registrations)

ENC_ALGS = ("ECDH-ES", "RSA-OAEP", "RSA-OAEP-256")
CONTENT_ENC = "A256GCM"
AUTH_METHODS = ("client_secret_post", "private_key_jwt")
FCPLUS_MISBEHAVIOURS = ("plain_jws", "userinfo_plain_jws", "jwe_wrong_alg", "jwe_wrong_enc",
                        "jwe_zip", "jwe_no_kid", "jwe_unknown_kid", "jwe_sig_key",
                        "jwe_inner_wrong_key", "jwe_inner_wrong_alg")
WRONG_ALG = {"RSA-OAEP": "RSA-OAEP-256", "RSA-OAEP-256": "RSA-OAEP",
             "ECDH-ES": "ECDH-ES+A256KW"}


def validate_clients(data):
    """FranceConnect+ registrations: ES256 only, a `jwks_uri`, the encryption algorithms."""
    def parse(item):
        client = parse_registration(item, id_algs=("ES256",), userinfo_algs=("ES256",))
        cid = client["client_id"]
        jwks_uri = item.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise ClientConfigError("client %s: jwks_uri (the client's keys URL) is required"
                                    % cid)
        client["jwks_uri"] = jwks_uri
        for what in ("id_token", "userinfo"):
            alg = item.get(what + "_encrypted_response_alg", "RSA-OAEP-256")
            enc = item.get(what + "_encrypted_response_enc", CONTENT_ENC)
            if alg not in ENC_ALGS or enc != CONTENT_ENC:
                raise ClientConfigError("client %s: %s encryption must be one of %s with %s"
                                        % (cid, what, list(ENC_ALGS), CONTENT_ENC))
            client[what + "_encrypted_response_alg"] = alg
        method = item.get("token_endpoint_auth_method", "client_secret_post")
        if method not in AUTH_METHODS:
            raise ClientConfigError("client %s: token_endpoint_auth_method must be one of %s"
                                    % (cid, list(AUTH_METHODS)))
        client["token_endpoint_auth_method"] = method
        client["amr_allowed"] = bool(item.get("amr_allowed", False))
        return client
    return validate_registrations(data, parse)




def encrypt(jwt, jwk, alg, kid, enc=CONTENT_ENC, zip_it=False):
    header = {"alg": alg, "enc": enc, "cty": "JWT"}
    if kid is not None:
        header["kid"] = kid
    if zip_it:
        header["zip"] = "DEF"
    token = jw_jwe.JWE(jwt.encode("ascii"), protected=json.dumps(header))
    token.allowed_algs = [alg, enc]
    token.add_recipient(jw_jwk.JWK(**_bare(jwk)))
    return token.serialize(compact=True)


class FcPlusHandler(PrivateKeyJwtClients, Handler):
    PLATFORM_ACRS = ("eidas2", "eidas3")
    DEFAULT_ACR = "eidas3"
    REFUSES_LOCALHOST = True
    SSO_TTL = 10 * 60
    MISBEHAVIOURS = emulator.MISBEHAVIOURS + FCPLUS_MISBEHAVIOURS

    def validate_clients(self, data):
        return validate_clients(data)

    def discovery_extra(self):
        return {
            "id_token_signing_alg_values_supported": ["ES256"],
            "userinfo_signing_alg_values_supported": ["ES256"],
            "id_token_encryption_alg_values_supported": list(ENC_ALGS),
            "id_token_encryption_enc_values_supported": [CONTENT_ENC],
            "userinfo_encryption_alg_values_supported": list(ENC_ALGS),
            "userinfo_encryption_enc_values_supported": [CONTENT_ENC],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
        }

    # ------------------------------------------------------------ SSO: 10 min, eidas2 only
    def sso_session(self, inter=None):
        sid = self.cookies().get(emulator.SESSION_COOKIE)
        if not sid:
            return None, None
        now = self.st.now()
        with self.st.lock:
            session = self.st.sessions.get(sid)
            if session is None or session["expires"] <= now:
                self.st.sessions.pop(sid, None)
                return None, None
            session = dict(session)  # not sliding: the expiry stays
        if inter is not None and inter["acr"] != "eidas2":
            return None, None
        return sid, session

    # ------------------------------------------------------------ encryption
    def seal(self, client, jwt, bad, what="id_token"):
        if what == "id_token" and "plain_jws" in bad:
            return jwt
        if what == "userinfo" and "userinfo_plain_jws" in bad:
            return jwt
        try:
            keys = CLIENT_KEYS.get(client["jwks_uri"], self.CLIENT_CA)
        except (OSError, ValueError, urllib.error.URLError) as exc:
            self.oauth_error(400, "invalid_client", "the client's jwks_uri could not be read "
                             "(%s)" % type(exc).__name__, "Y440011")
            return None
        alg = client[what + "_encrypted_response_alg"]
        key = next((k for k in keys if k.get("use") == "enc" and k.get("alg") == alg), None)
        if key is None:
            self.oauth_error(400, "invalid_client", "no key with use enc and alg %s in the "
                             "client's JWKS" % alg, "Y440011")
            return None
        kid, enc, zip_it = key["kid"], CONTENT_ENC, False
        if what == "id_token":
            jwt = self.inner_misbehaviour(jwt, bad)
            if "jwe_wrong_alg" in bad:
                alg = WRONG_ALG[alg]
            if "jwe_wrong_enc" in bad:
                enc = "A128GCM"
            if "jwe_zip" in bad:
                zip_it = True
            if "jwe_no_kid" in bad:
                kid = None
            if "jwe_unknown_kid" in bad:
                kid = "unknown-" + jose.b64u(b"client key")
            if "jwe_sig_key" in bad:
                sig = next((k for k in keys if k.get("use") == "sig"), None)
                if sig is not None:
                    key, kid = sig, sig["kid"]
                    alg = "ECDH-ES" if sig.get("kty") == "EC" else "RSA-OAEP-256"
        return encrypt(jwt, key, alg, kid, enc, zip_it)

    def inner_misbehaviour(self, jwt, bad):
        """The inner JWS re-signed wrongly, when asked."""
        if "jwe_inner_wrong_key" not in bad and "jwe_inner_wrong_alg" not in bad:
            return jwt
        header, payload, _, _ = jose.decode_unverified(jwt)
        if "jwe_inner_wrong_alg" in bad:
            with self.st.lock:
                rs = self.st.keys["RS256"]
            return jose.sign_jws(rs, payload)
        return jose.sign_jws(jose.SigningKey("ES256", kid=header.get("kid")), payload)


    # ------------------------------------------------------------ control
    def control_route(self, name):
        if name == "forget-client-keys" and self.command == "POST":
            CLIENT_KEYS.forget()
            return self.send_json(200, {"forgotten": True})
        return super().control_route(name)
