#!/usr/bin/env python3
"""Writes the hand-made seed inputs of each fuzz target into fuzz/corpus/<target>/seed-*.

Run once before a first fuzzing run (`cargo fuzz cmin` then keeps what adds coverage); the
committed corpora already hold them. Field separators: 0xFF between fields, 0xFE between login
entries (see src/fuzzing/).
"""

import base64
import json
import pathlib
import sys

from cryptography.hazmat.primitives.asymmetric import ec, rsa

HERE = pathlib.Path(__file__).resolve().parent
FF, FE = b"\xff", b"\xfe"
NOW = 1_800_000_000
FC = "https://fcp-low.sbx.dev-franceconnect.fr/api/v2"
PC = "https://fca.integ01.dev-agentconnect.fr/api/v2"


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def j(value):
    return json.dumps(value, separators=(",", ":")).encode()


def ec_jwk(kid):
    nums = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": b64u(nums.x.to_bytes(32, "big")), "y": b64u(nums.y.to_bytes(32, "big"))}


def rsa_jwk(kid):
    nums = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": b64u(nums.n.to_bytes(256, "big")), "e": "AQAB"}


id_claims = {"iss": FC, "aud": "0123456789abcdef", "sub": "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1",
             "exp": NOW + 60, "iat": NOW - 1, "nonce": "fedcba9876543210fedcba9876543210", "acr": "eidas1",
             "auth_time": NOW - 5, "at_hash": "x"}
userinfo = {"sub": id_claims["sub"], "given_name": "Angela Claire Louise", "family_name": "DUBOIS",
            "birthdate": "1962-08-24", "gender": "female", "birthplace": "75107", "birthcountry": "99100",
            "email": "wossewodda-3728@yopmail.com", "preferred_username": "", "idp_acr": "eidas1"}
pc_userinfo = {"sub": "abc", "email": "agent@interieur.gouv.fr", "usual_name": "Élodie", "given_name": "Zoé",
               "siret": "21750001600019", "chorusdt:matricule": "X1", "uid": 1, "phone_number": None,
               "groups": ["a", "b"], "organizational_unit": {"n": 1}, "belonging_population": True}

JWS = b"eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

SEEDS = {
    "session_cookie": [
        b"bm90LWEtcmVhbC1zZXNzaW9uLWlkLW9mLTMyLWJ5dGVzISE.c2hvcnQtdGFnLTE2Ynl0",
        b"theme=dark; __Host-sesame=AAAA.BBBB; __Host-sesame-login=xyz; lang=fr",
        b"sesame=a.b;sesame-logout=c; other=\"quoted\"",
    ],
    "login_cookie": [
        b"fc" + FF + b"0123456789abcdef0123456789abcdef" + FF + b"nonce" + FF + b"" + FF + b"/demarches/?a=1" + FF + b"7" + FF + b"0",
        b"pc" + FF + b"s1" + FF + b"n1" + FF + b"verifier-of-43-characters-at-least-xxxxxxxx" + FF + b"/" + FF + b"1" + FF + b"1"
        + FE + b"pc" + FF + b"s2" + FF + b"n2" + FF + b"" + FF + b"/agents/" + FF + b"2" + FF + b"0",
        b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
    "logout_cookie": [b"fc" + FF + b"0123456789abcdef", b"eyJwcm92aWRlciI6ImZjIn0"],
    "callback_query": [
        b"code=Pp3p7s6EpaJQmEuKVVEpL8hm0QwkDg1Cz3rT6TNcwTm&state=0123456789abcdef0123456789abcdef&iss=https%3A%2F%2Ffcp-low.sbx.dev-franceconnect.fr%2Fapi%2Fv2",
        b"?error=access_denied&error_description=User+auth+aborted&state=s&state=t",
        b"code=a&code=b&iss=x;y=%zz&&=&error=",
    ],
    "begin_request": [
        # location byte, method, scheme, host, uri, cookie, sec-fetch-site, -mode, accept, origin, referer
        FF.join([b"\x00", b"GET", b"https", b"app.example", b"/demarches/formulaire?id=3", b"", b"same-origin", b"navigate", b"text/html", b"", b""]),
        FF.join([b"\x06", b"GET", b"https", b"app.example",
                 b"/sesame/callback?code=c0de&state=0123456789abcdef0123456789abcdef&iss=https%3A%2F%2Ffcp-low.sbx.dev-franceconnect.fr%2Fapi%2Fv2",
                 b"__Host-sesame-login={login}", b"cross-site", b"navigate", b"text/html", b"", b"https://fcp-low.sbx.dev-franceconnect.fr/"]),
        FF.join([b"\x02", b"POST", b"https", b"app.example:8443", b"/agents/api", b"__Host-sesame={session}; a=b", b"same-origin", b"cors", b"application/json", b"https://app.example", b""]),
        FF.join([b"\x04", b"GET", b"https", b"app.example", b"/logout", b"__Host-sesame={session}", b"", b"", b"", b"", b""]),
        FF.join([b"\x05", b"GET", b"http", b"app.example", b"/sesame/pc/logged-out?state=abc", b"__Host-sesame-logout=zzz", b"", b"", b"", b"", b""]),
        FF.join([b"\x01", b"HEAD", b"https", b"", b"//evil.example/%2F..", b"__Host-sesame-login={login}", b"none", b"navigate", b"*/*", b"null", b""]),
    ],
    "id_token": [
        bytes([1]) + j({"alg": "ES256", "kid": "k1", "typ": "JWT"}) + FF + j(id_claims) + FF,
        bytes([3]) + j({"alg": "HS256"}) + FF + j({**id_claims, "aud": ["0123456789abcdef", "x"], "azp": "0123456789abcdef"}) + FF,
        bytes([5]) + j({"alg": "ES256", "kid": "k1"}) + FF + j({**id_claims, "iss": PC, "acr": "https://proconnect.gouv.fr/assurance/self-asserted-2fa", "amr": ["pwd", "totp"]}) + FF,
        bytes([9]) + j({"alg": "ES256", "kid": "k1"}) + FF + j(id_claims) + FF,
        bytes([0]) + j({"alg": "none"}) + FF + j(id_claims) + FF + b"sig",
        bytes([0]) + j({"alg": "ES256", "kid": "k1", "crit": ["b64"]}) + FF + b"not json" + FF + b"\x00" * 64,
    ],
    # mode (bits 0-2 recipient: EC enc, RSA enc, RSA-OAEP, signing key, stranger, raw token;
    # 3-4 enc; 5 zip; 6 header's own kid; 7 no cty), header JSON, plaintext, alterations
    # (part, position, xor) -- src/fuzzing/jwe.rs
    "jwe_token": [
        b"\x00" + b"{}" + FF + JWS,
        b"\x01" + j({"typ": "JWT"}) + FF + JWS,
        b"\x02" + b"{}" + FF + JWS,
        b"\x03" + b"{}" + FF + JWS,
        b"\x04" + b"{}" + FF + JWS,
        bytes([32]) + b"{}" + FF + JWS,
        bytes([8]) + b"{}" + FF + JWS,
        bytes([64]) + j({"kid": "not-a-site-key"}) + FF + JWS,
        bytes([128]) + j({"cty": "jwt"}) + FF + b" " + JWS + b"\n",
        b"\x00" + j({"crit": ["exp"], "exp": 1}) + FF + JWS,
        b"\x00" + j({"apu": "YWxpY2U", "apv": "Ym9i"}) + FF + b"not a JWS",
        b"\x00" + b"{}" + FF + JWS + FF + bytes([4, 0, 0, 1]),
        b"\x01" + b"{}" + FF + JWS + FF + bytes([1, 0, 7, 0x80]),
        b"\x00" + b"{}" + FF + JWS + FF + bytes([1, 0, 0, 1]),
        b"\x00" + b"{}" + FF + JWS + FF + bytes([2, 0, 3, 2, 3, 0, 9, 4]),
        b"\x01" + b"{}" + FF + JWS + FF + bytes([0, 0, 2, 0x20]),
        b"\x05" + b"eyJhbGciOiJFQ0RILUVTIiwiZW5jIjoiQTI1NkdDTSJ9..aXY.Y3Q.dGFn",
        b"\x06" + JWS,
    ],
    "jwks_document": [
        j({"keys": [ec_jwk("k1"), rsa_jwk("r1"), {"kty": "RSA", "use": "enc", "kid": "e", "n": "AQAB", "e": "AQAB"}]}),
        j({"keys": [{**ec_jwk("k2"), "alg": "RS256"}, {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}, ec_jwk("k3")]}),
        j({"keys": [{k: v for k, v in ec_jwk("k4").items() if k not in ("kid", "alg", "use")}]}),
    ],
    "discovery_document": [
        j({"issuer": "https://fcp-low.sbx.dev-franceconnect.fr/api/v2",
           **{f"{n}_endpoint": f"https://fcp-low.sbx.dev-franceconnect.fr/api/v2/{n}" for n in ("authorization", "token", "userinfo", "end_session")},
           "jwks_uri": "https://fcp-low.sbx.dev-franceconnect.fr/api/v2/jwks",
           "authorization_response_iss_parameter_supported": True,
           "id_token_signing_alg_values_supported": ["ES256", "RS256"]}),
        j({"issuer": "https://fcp-low.sbx.dev-franceconnect.fr/api/v2", "authorization_endpoint": "http://x/a#f",
           "token_endpoint": "javascript:alert(1)", "jwks_uri": "//x"}),
    ],
    "claims_to_variables": [
        j(userinfo), j(pc_userinfo),
        j({"a\r\nb": "x", "c": "line\nbreak\x00nul", "=": "eq", "é:è": [1, "two", None, {"x": "y"}], "": "", "sub": "s\x7f"}),
        b"chorusdt:matricule" + FF + b"value with spaces, commas; and \"quotes\"",
    ],
    "return_to": [
        b"/", b"/private/index.php", b"/a/b?x=1&y=%C3%A9", b"/search?q=%2F%2Fnot-a-host", b"/a//b", b"/%7Euser",
        b"//evil.example", b"/\\evil.example", b"/%2F%2Fevil.example", b"/%252F%252Fevil.example",
        b"/%25252F%25252Fevil.example", b"https://evil.example", b"/a%0d%0aSet-Cookie:%20x=1", b"/%09/evil.example",
        b"/%5c%5cevil", b"/.%2e/%2e%2e/x",
    ],
    "directive_value": [b"redis" + FF + b"redis://127.0.0.1:6379/0", b"redis_timeout" + FF + b"1500ms",
        b"session_cache" + FF + b"5s", b"session_idle_timeout" + FF + b"30m", b"session_lifetime" + FF + b"12h",
        b"provider_concurrency" + FF + b"8", b"preset" + FF + b"franceconnect-integration", b"issuer" + FF + FC.encode(),
        b"discovery_url" + FF + FC.encode() + b"/.well-known/openid-configuration", b"client_id" + FF + b"0123456789abcdef",
        b"redirect_uri" + FF + b"https://app.example/sesame/callback", b"post_logout_redirect_uri" + FF + b"https://app.example/sesame/logged-out",
        b"logout_redirect" + FF + b"/bye", b"scope" + FF + b"openid given_name family_name email", b"acr_values" + FF + b"eidas1",
        b"required_acr" + FF + b"eidas2", b"id_token_alg" + FF + b"ES256", b"userinfo" + FF + b"jwt", b"token_auth" + FF + b"client_secret_post",
        b"pkce" + FF + b"on", b"remote_user_claim" + FF + b"email", b"http_timeout" + FF + b"5s", b"metadata_ttl" + FF + b"10m",
        b"leeway" + FF + b"60s", b"acr" + FF + b"eidas2 eidas3", b"require" + FF + b"email @interieur.gouv.fr", b"prompt" + FF + b"login",
        b"login_hint" + FF + b"agent@example.gouv.fr", b"idp_hint" + FF + b"fia1v2", b"siret_hint" + FF + b"21750001600019",
        b"unauth_action" + FF + b"pass", b"max_auth_age" + FF + b"15m"],
    "redis_url": [b"redis://127.0.0.1:6379/0", b"rediss://user:p%40ss@redis.example:6380/2", b"unix:///run/redis/redis.sock?db=1",
        b"redis+sentinel://:secret@10.0.0.1:26379,10.0.0.2/mymaster/3?sentinel_username=u&sentinel_password=sp",
        b"rediss+cluster://acl:pw@[::1]:7000,10.0.0.2:7001", b"redis://h/0#insecure", b"redis+cluster://a:1,b:2/1"],
}

# Targets named on the command line only (their seeds alone rewritten), else every one.
chosen = sys.argv[1:] or list(SEEDS)
for target, seeds in SEEDS.items():
    if target not in chosen:
        continue
    folder = HERE / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds):
        (folder / f"seed-{i}").write_bytes(seed)
print("seeds written for", len(chosen), "targets")
