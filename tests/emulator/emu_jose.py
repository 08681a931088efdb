"""Minimal JOSE for the emulator: signing keys, JWKS export, compact JWS sign/verify.

Hand-written on purpose (only `cryptography`): the emulator must be able to produce tokens a JOSE
library would refuse to produce (alg none, HS256 keyed with a public key, unknown kid).
"""

import base64
import hashlib
import hmac
import json
import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)


class JoseError(ValueError):
    pass


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text):
    if isinstance(text, str):
        text = text.encode("ascii")
    if b"=" in text:
        raise JoseError("padding in base64url")
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def _int_b64u(n, length=None):
    length = length or (n.bit_length() + 7) // 8
    return b64u(n.to_bytes(length, "big"))


class SigningKey:
    """One asymmetric signing key (ES256 on P-256 or RS256 on RSA-2048) with its kid."""

    def __init__(self, alg, kid=None):
        if alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
        elif alg == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            raise JoseError("unsupported alg %r" % alg)
        self.alg = alg
        self.kid = kid or "%s:%s" % (alg, secrets.token_hex(8))

    def public_jwk(self):
        pub = self.private.public_key().public_numbers()
        if self.alg == "ES256":
            return {"kty": "EC", "crv": "P-256", "x": _int_b64u(pub.x, 32),
                    "y": _int_b64u(pub.y, 32), "kid": self.kid, "alg": "ES256", "use": "sig"}
        return {"kty": "RSA", "n": _int_b64u(pub.n), "e": _int_b64u(pub.e),
                "kid": self.kid, "alg": "RS256", "use": "sig"}

    def public_pem(self):
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, data):
        if self.alg == "ES256":
            der = self.private.sign(data, ec.ECDSA(hashes.SHA256()))
            r, s = decode_dss_signature(der)
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def verify(self, data, sig):
        pub = self.private.public_key()
        try:
            if self.alg == "ES256":
                if len(sig) != 64:
                    return False
                der = encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                           int.from_bytes(sig[32:], "big"))
                pub.verify(der, data, ec.ECDSA(hashes.SHA256()))
            else:
                pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True


def _segments(header, payload):
    h = b64u(json.dumps(header, separators=(",", ":")).encode("utf-8"))
    p = b64u(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return (h + "." + p).encode("ascii")


def sign_jws(key, payload, typ="JWT"):
    """Compact JWS signed by `key` (a SigningKey), header {alg, kid, typ}."""
    header = {"alg": key.alg, "kid": key.kid}
    if typ:
        header["typ"] = typ
    signing_input = _segments(header, payload)
    return signing_input.decode("ascii") + "." + b64u(key.sign(signing_input))


def sign_none(payload):
    """Unsecured JWS (alg none): what an RP must refuse."""
    return _segments({"alg": "none", "typ": "JWT"}, payload).decode("ascii") + "."


def sign_hs256(secret, payload, kid=None):
    """HS256 JWS keyed with arbitrary bytes (used for the algorithm-confusion attack)."""
    header = {"alg": "HS256", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    signing_input = _segments(header, payload)
    mac = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return signing_input.decode("ascii") + "." + b64u(mac)


def decode_unverified(token):
    """(header, payload, signing_input, signature) of a compact JWS; JoseError if malformed."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise JoseError("not a compact JWS")
    h, p, s = token.split(".")
    try:
        header = json.loads(b64u_decode(h))
        payload = json.loads(b64u_decode(p))
        sig = b64u_decode(s)
    except (ValueError, UnicodeDecodeError) as exc:
        raise JoseError("undecodable JWS: %s" % exc) from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise JoseError("JWS header/payload is not a JSON object")
    return header, payload, (h + "." + p).encode("ascii"), sig


def verify_jws(token, keys):
    """Verify a compact JWS against a list of SigningKey (matched by kid and alg). Return payload."""
    header, payload, signing_input, sig = decode_unverified(token)
    alg, kid = header.get("alg"), header.get("kid")
    for key in keys:
        if key.kid == kid and key.alg == alg:
            if key.verify(signing_input, sig):
                return payload
            raise JoseError("bad signature")
    raise JoseError("no key with kid %r and alg %r" % (kid, alg))
