"""`private_key_jwt` client authentication (RFC 7523 §2.2, OIDC Core §9) for the emulator's
FranceConnect+ and ProConnect modes: the assertion is verified with the `use: sig` key of the
client's JWKS, fetched from its registered `jwks_uri` over HTTPS (trusting `--client-ca`) and
kept 5 min (`POST /_emulator/forget-client-keys` drops the copies). `iss` = `sub` = client_id,
`aud` one of the handler's `assertion_audiences()`, `exp` at most 60 s away, `jti` never seen
before; a client registered for it may use no other method, and one registered for a secret may
not use it."""

import json
import ssl
import threading
import time
import urllib.error
import urllib.request

from jwcrypto import jwk as jw_jwk
from jwcrypto import jws as jw_jws

import emu_jose as jose

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_MAX_LIFETIME = 60
CLIENT_KEYS_TTL = 300


class ClientKeys:
    """The clients' public keys, fetched from their jwks_uri and kept a while."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cache = {}  # jwks_uri -> (fetched at, [jwk dict])

    def forget(self):
        with self.lock:
            self.cache.clear()

    def get(self, uri, ca):
        now = time.time()
        with self.lock:
            hit = self.cache.get(uri)
        if hit and now - hit[0] < CLIENT_KEYS_TTL:
            return hit[1]
        context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
        with urllib.request.urlopen(uri, timeout=5, context=context) as resp:
            doc = json.loads(resp.read(1 << 20))
        keys = doc.get("keys") if isinstance(doc, dict) else None
        if not isinstance(keys, list):
            raise ValueError("the client's JWKS has no keys list")
        for key in keys:
            # FranceConnect's JWT library refuses keys without use and alg (FCS 440011).
            if not isinstance(key, dict) or not key.get("kid") or not key.get("use") \
                    or not key.get("alg"):
                raise ValueError("a key of the client's JWKS lacks kid, use or alg")
        with self.lock:
            self.cache[uri] = (now, keys)
        return keys


CLIENT_KEYS = ClientKeys()


def _bare(jwk):
    """The public key members only (jwcrypto refuses to encrypt with a `use: sig` key)."""
    return {k: v for k, v in jwk.items() if k not in ("use", "alg", "key_ops", "kid")}


class PrivateKeyJwtClients:
    """Mixed into a handler before `Handler`: its `authenticate_client` also takes assertions."""
    ASSERTION_ALGS = ("ES256",)
    CLIENT_CA = None

    def assertion_audiences(self):
        """What `aud` may name: the token endpoint (what FranceConnect+ asks)."""
        return [self.st.issuer + "/token"]

    def authenticate_client(self, params):
        if "client_assertion" not in params and "client_assertion_type" not in params:
            client = super().authenticate_client(params)
            if client is not None and client["token_endpoint_auth_method"] != \
                    "client_secret_post":
                self.oauth_error(401, "invalid_client", "client authentication failed (the "
                                 "client is registered for private_key_jwt)", "Y0434A7B")
                return None
            return client
        return self.assertion_client(params)

    def assertion_client(self, params):
        st = self.st

        def refuse(why, status=401, error="invalid_client"):
            self.oauth_error(status, error, "client authentication failed (%s)" % why,
                             "Y0434A7B")
            return None

        if self.headers.get("Authorization") or "client_secret" in params:
            return refuse("client authentication must only be provided using one mechanism",
                          400, "invalid_request")
        if params.get("client_assertion_type") != ASSERTION_TYPE:
            return refuse("client_assertion_type must be %s" % ASSERTION_TYPE, 400,
                          "invalid_request")
        assertion = params.get("client_assertion", "")
        try:
            header, payload, _, _ = jose.decode_unverified(assertion)
        except jose.JoseError:
            return refuse("client_assertion is not a compact JWS")
        client_id = params.get("client_id") or payload.get("iss")
        client = st.clients.get(client_id) if isinstance(client_id, str) else None
        if client is None:
            return refuse("client not found")
        if client["token_endpoint_auth_method"] != "private_key_jwt":
            return refuse("the client is registered for client_secret_post")
        if header.get("alg") not in self.ASSERTION_ALGS:
            return refuse("client_assertion must be signed with %s"
                          % " or ".join(self.ASSERTION_ALGS))
        try:
            keys = CLIENT_KEYS.get(client["jwks_uri"], self.CLIENT_CA)
        except (OSError, ValueError, urllib.error.URLError) as exc:
            return refuse("the client's jwks_uri could not be read (%s)" % type(exc).__name__)
        key = next((k for k in keys if k.get("use") == "sig" and k.get("kid") == header.get("kid")),
                   None)
        if key is None:
            return refuse("no signing key %r in the client's JWKS" % header.get("kid"))
        try:
            verified = jw_jws.JWS()
            verified.deserialize(assertion)
            verified.allowed_algs = [header["alg"]]
            verified.verify(jw_jwk.JWK(**_bare(key)))
        except Exception:  # jwcrypto raises several types for a bad signature
            return refuse("client_assertion signature is invalid")
        now = st.now()
        aud = payload.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if payload.get("iss") != client_id or payload.get("sub") != client_id:
            return refuse("iss and sub must be the client_id")
        if not any(a in audiences for a in self.assertion_audiences()):
            return refuse("aud must be %s" % " or ".join(self.assertion_audiences()))
        exp, jti = payload.get("exp"), payload.get("jti")
        if not isinstance(exp, (int, float)) or exp <= now:
            return refuse("client_assertion is expired")
        if exp - now > ASSERTION_MAX_LIFETIME + 5:
            return refuse("client_assertion lives longer than %d s" % ASSERTION_MAX_LIFETIME)
        if not isinstance(jti, str) or not jti:
            return refuse("client_assertion has no jti")
        with st.lock:
            seen = st.__dict__.setdefault("assertion_jtis", {})
            for old in [j for j, t in seen.items() if t < now]:
                del seen[old]
            if jti in seen:
                replay = True
            else:
                replay = False
                seen[jti] = exp
        if replay:
            return refuse("client_assertion jti was already used")
        return client
