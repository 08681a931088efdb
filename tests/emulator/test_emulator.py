"""Tests of the FranceConnect v2 emulator itself (docs/federations.md §10.1; control API:
tests/emulator/README.md)."""

import base64
import hashlib
import hmac
import json
import re
import socket
import ssl
import time
import urllib.parse
import warnings

import pytest
import requests
from jwcrypto import jwk

from conftest import ES, RS, callback_params


def b64u_json(segment):
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def parts(token):
    h, p, s = token.split(".")
    return b64u_json(h), b64u_json(p), s


# --------------------------------------------------------------------------- discovery / JWKS

def test_discovery_advertises_franceconnect_values_with_cache_header(emulator):
    r = requests.get(emulator.issuer + "/.well-known/openid-configuration", verify=emulator.ca)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Cache-Control"] == "public, max-age=600"
    d = r.json()
    assert d["issuer"] == emulator.issuer
    assert d["jwks_uri"] == emulator.issuer + "/jwks"
    assert d["end_session_endpoint"] == emulator.issuer + "/session/end"
    assert d["acr_values_supported"] == ["eidas1"]
    assert d["response_types_supported"] == ["code"]
    assert d["subject_types_supported"] == ["pairwise"]
    assert d["authorization_response_iss_parameter_supported"] is True
    assert d["claims_parameter_supported"] is True
    assert "client_secret_post" in d["token_endpoint_auth_methods_supported"]
    assert set(d["id_token_signing_alg_values_supported"]) == {"HS256", "ES256", "RS256"}
    assert "offline_access" not in d["scopes_supported"]


def test_jwks_publishes_es256_and_rs256_keys_with_distinct_kids(emulator):
    r = requests.get(emulator.issuer + "/jwks", verify=emulator.ca)
    assert r.headers["Cache-Control"] == "public, max-age=600"
    keys = r.json()["keys"]
    assert sorted(k["alg"] for k in keys) == ["ES256", "RS256"]
    assert len({k["kid"] for k in keys}) == 2
    assert all(k["use"] == "sig" and "d" not in k for k in keys)


def test_rotate_keys_replaces_both_kids_and_new_tokens_use_them(emulator):
    old = {k["kid"] for k in requests.get(emulator.issuer + "/jwks",
                                          verify=emulator.ca).json()["keys"]}
    kids = set(emulator.post("rotate-keys")["kids"])
    new = {k["kid"] for k in requests.get(emulator.issuer + "/jwks",
                                          verify=emulator.ca).json()["keys"]}
    assert new == kids and not (new & old) and len(new) == 2
    _, tok = emulator.full_flow()
    assert parts(tok["id_token"])[0]["kid"] in new


# --------------------------------------------------------------------------- happy path

def test_full_flow_gives_verifiable_es256_id_token_and_userinfo_jwt(emulator):
    sess = emulator.session()
    page = emulator.authorize(sess)
    assert page.status_code == 200
    assert 'name="login"' in page.text and 'value="cancel"' in page.text
    cb = callback_params(emulator.submit_login(sess, page, "elodie"))
    assert cb["_url"].startswith(ES["redirect_uris"][0] + "?code=")
    assert cb["state"] == "s" * 32 and cb["iss"] == emulator.issuer
    tok = emulator.token(cb["code"])
    assert tok.status_code == 200, tok.text
    body = tok.json()
    assert set(body) == {"access_token", "expires_in", "id_token", "scope", "token_type"}
    assert body["expires_in"] == 60 and body["token_type"] == "Bearer"
    assert body["scope"].split() == ["openid", "given_name", "family_name", "birthdate",
                                     "birthplace", "birthcountry", "gender", "email"]
    header, _, _ = parts(body["id_token"])
    assert header["alg"] == "ES256"
    claims = emulator.verify(body["id_token"], "ES256")
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "nonce", "acr", "auth_time"}
    assert claims["iss"] == emulator.issuer and claims["aud"] == ES["client_id"]
    assert claims["exp"] == claims["iat"] + 60 and abs(claims["iat"] - time.time()) < 5
    assert claims["nonce"] == "n" * 32 and claims["acr"] == "eidas1"
    assert re.fullmatch(r"[0-9a-f]{64}v1", claims["sub"])

    ui = emulator.userinfo(body["access_token"])
    assert ui.status_code == 200
    assert ui.headers["Content-Type"].startswith("application/jwt")
    info = emulator.verify(ui.text, "ES256")
    assert info["sub"] == claims["sub"]
    assert info["given_name"] == "Élodie" and info["family_name"] == "Ñúñez-Œuvray"
    assert info["given_name_array"] == ["Élodie"]
    assert info["iss"] == emulator.issuer and info["aud"] == ES["client_id"]
    assert {"exp", "iat", "birthdate", "birthplace", "birthcountry", "gender", "email"} <= set(info)
    assert "preferred_username" not in info  # not requested


def test_rs256_client_gets_rs256_tokens_and_amr_when_requested_and_allowed(emulator):
    claims_req = json.dumps({"id_token": {"amr": {"essential": True}}})
    _, tok = emulator.full_flow(client=RS, claims=claims_req)
    assert parts(tok["id_token"])[0]["alg"] == "RS256"
    claims = emulator.verify(tok["id_token"], "RS256")
    assert claims["amr"] == ["fc", "pwd"] and len(claims) == 9
    ui = emulator.userinfo(tok["access_token"])
    assert parts(ui.text)[0]["alg"] == "RS256"
    emulator.verify(ui.text, "RS256")


def test_amr_requested_by_a_client_not_allowed_is_page_Y100009(emulator):
    r = emulator.authorize(emulator.session(), claims=json.dumps({"id_token": {"amr": None}}))
    assert r.status_code == 400 and "Y100009" in r.text
    assert emulator.last_error() == "Y100009"


def test_userinfo_claims_follow_scope_aliases(emulator):
    _, tok = emulator.full_flow(scope="openid birth", login="foreign")
    info = emulator.verify(emulator.userinfo(tok["access_token"]).text, "ES256")
    assert info["birthplace"] == "" and info["birthcountry"] == "99217"
    assert "given_name" not in info and "email" not in info
    _, tok = emulator.full_flow(scope="openid profile", login="corse")
    info = emulator.verify(emulator.userinfo(tok["access_token"]).text, "ES256")
    assert info["preferred_username"] == "CASANOVA" and "birthplace" not in info
    _, tok = emulator.full_flow(scope="openid identite_pivot", login="presumed")
    info = emulator.verify(emulator.userinfo(tok["access_token"]).text, "ES256")
    assert info["birthdate"] == "1980-01-01" and info["birthplace"] == "13055"
    assert "preferred_username" not in info


def test_sub_is_stable_per_client_and_differs_between_clients(emulator):
    subs = []
    for client in (ES, ES, RS):
        _, tok = emulator.full_flow(client=client)
        subs.append(parts(tok["id_token"])[1]["sub"])
    assert subs[0] == subs[1] != subs[2]
    assert subs[0] == hashlib.sha256((ES["client_id"] + "testfc1").encode()).hexdigest() + "v1"
    _, tok = emulator.full_flow(login="elodie")
    assert parts(tok["id_token"])[1]["sub"] != subs[0]


def test_authorize_by_post_form_is_accepted_and_validated(emulator):
    sess = emulator.session()
    r = sess.post(emulator.issuer + "/authorize", data=emulator.auth_params(),
                  allow_redirects=False)
    assert r.status_code == 200 and 'name="interaction"' in r.text
    r = sess.post(emulator.issuer + "/authorize",
                  data=emulator.auth_params(login_hint="a@b.fr"), allow_redirects=False)
    assert r.status_code == 400 and "Y030007" in r.text


# --------------------------------------------------------------------------- authorize errors

@pytest.mark.parametrize("overrides", [
    {"login_hint": "angela@example.fr"},
    {"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
     "code_challenge_method": "S256"},
    {"response_mode": "query"},
    {"max_age": "0"},
    {"acr_values": None},
    {"nonce": None},
    {"state": None},
    {"client_id": None},
    {"redirect_uri": None},
    {"scope": None},
    {"response_type": None},
    {"state": ""},
    {"nonce": "n" * 21},
    {"prompt": "none"},
    {"prompt": ""},
    {"prompt": "select_account"},
    {"prompt": "login none"},
    {"redirect_uri": "not a url"},
], ids=lambda o: ",".join("%s=%s" % (k, (v or "")[:8]) for k, v in o.items()))
def test_invalid_authorize_parameters_give_page_Y030007_without_redirect(emulator, overrides):
    r = emulator.authorize(emulator.session(), **overrides)
    assert r.status_code == 400
    assert "Location" not in r.headers
    assert "Y030007" in r.text
    assert r.headers["Content-Type"].startswith("text/html")
    assert emulator.last_error() == "Y030007"


def test_duplicated_authorize_parameter_gives_Y030007(emulator):
    q = urllib.parse.urlencode(emulator.auth_params()) + "&state=" + "t" * 32
    r = emulator.authorize(emulator.session(), raw_query=q)
    assert r.status_code == 400 and "Y030007" in r.text


def test_nonce_of_exactly_22_chars_and_prompt_login_consent_are_accepted(emulator):
    r = emulator.authorize(emulator.session(), nonce="a" * 22, prompt="login consent",
                           ui_locales="fr", idp_hint="fia1v2")
    assert r.status_code == 200, r.text


def test_unknown_client_is_page_Y04EA6EF(emulator):
    r = emulator.authorize(emulator.session(), client_id="nobody")
    assert r.status_code == 400 and "Y04EA6EF" in r.text and "Location" not in r.headers


@pytest.mark.parametrize("uri", ["http://localhost:8080/callback/",
                                 "http://localhost:8080/Callback",
                                 "http://localhost:8080/callback?x=1",
                                 "http://127.0.0.1:8080/callback"])
def test_redirect_uri_not_byte_equal_is_page_Y04C013C(emulator, uri):
    r = emulator.authorize(emulator.session(), redirect_uri=uri)
    assert r.status_code == 400 and "Y04C013C" in r.text and "Location" not in r.headers


@pytest.mark.parametrize("overrides,error", [
    ({"response_type": "code id_token"}, "unsupported_response_type"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "given_name email"}, "invalid_request"),
    ({"acr_values": "eidas2"}, "invalid_acr"),
    ({"acr_values": "eidas3 foo"}, "invalid_acr"),
])
def test_protocol_errors_redirect_back_with_state_and_iss(emulator, overrides, error):
    r = emulator.authorize(emulator.session(), **overrides)
    assert r.status_code == 303
    cb = callback_params(r)
    assert cb["_url"].startswith(ES["redirect_uris"][0] + "?error=")
    assert cb["error"] == error and cb["error_description"]
    assert cb["state"] == "s" * 32 and cb["iss"] == emulator.issuer


@pytest.mark.parametrize("acr_values", ["eidas1 eidas2", "eidas2 eidas1", "foo", "foo eidas1"])
def test_acr_values_keep_known_values_and_pick_the_lowest(emulator, acr_values):
    _, tok = emulator.full_flow(acr_values=acr_values)
    assert parts(tok["id_token"])[1]["acr"] == "eidas1"


def test_cancel_redirects_access_denied_with_state_and_iss(emulator):
    sess = emulator.session()
    r = emulator.submit_login(sess, emulator.authorize(sess), action="cancel")
    cb = callback_params(r)
    assert r.status_code == 303
    assert cb["error"] == "access_denied"
    assert cb["error_description"] == "user authentication aborted"
    assert cb["state"] == "s" * 32 and cb["iss"] == emulator.issuer


def test_login_interaction_is_single_use(emulator):
    sess = emulator.session()
    page = emulator.authorize(sess)
    assert emulator.submit_login(sess, page).status_code == 303
    again = emulator.submit_login(sess, page)
    assert again.status_code == 400 and "Y190001" in again.text


# --------------------------------------------------------------------------- token endpoint

def test_replayed_code_is_invalid_grant_and_revokes_its_tokens(emulator):
    cb = emulator.login()
    first = emulator.token(cb["code"])
    assert first.status_code == 200
    second = emulator.token(cb["code"])
    assert second.status_code == 400
    err = second.json()
    assert err["error"] == "invalid_grant" and "Y049E20B" in err["error_uri"]
    assert err["error_uri"].startswith("https://docs.partenaires.franceconnect.gouv.fr/")
    assert emulator.userinfo(first.json()["access_token"]).status_code == 401


def test_unknown_code_is_invalid_grant(emulator):
    r = emulator.token("not-a-code")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_expired_code_is_invalid_grant(emulator):
    cb = emulator.login()
    emulator.control(clock_offset=31)
    r = emulator.token(cb["code"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_code_of_another_client_is_invalid_grant(emulator):
    cb = emulator.login(client=ES)
    r = emulator.token(cb["code"], client=RS, redirect_uri=ES["redirect_uris"][0])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("redirect_uri", ["http://localhost:8080/callback/", ""])
def test_token_redirect_uri_must_be_identical(emulator, redirect_uri):
    cb = emulator.login()
    r = emulator.token(cb["code"], data={"redirect_uri": redirect_uri or None})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # A failed attempt does not consume the code.
    assert emulator.token(cb["code"]).status_code == 200


def test_bad_secret_is_401_invalid_client(emulator):
    cb = emulator.login()
    r = emulator.token(cb["code"], data={"client_secret": "wrong"})
    assert r.status_code == 401
    body = r.json()
    assert body["error"] == "invalid_client" and "Y0434A7B" in body["error_uri"]
    assert set(body) == {"error", "error_description", "error_uri"}


def test_missing_code_is_invalid_request(emulator):
    r = emulator.token(None)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert "Y048017B" in r.json()["error_uri"]


def test_http_basic_alone_is_accepted(emulator):
    cb = emulator.login()
    r = emulator.token(cb["code"], data={"client_secret": None, "client_id": None},
                       auth=(ES["client_id"], ES["client_secret"]))
    assert r.status_code == 200, r.text


def test_secret_in_header_and_body_is_rejected_only_one_mechanism(emulator):
    cb = emulator.login()
    r = emulator.token(cb["code"], auth=(ES["client_id"], ES["client_secret"]))
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    assert "only be provided using one mechanism" in r.json()["error_description"]
    assert set(r.json()) == {"error", "error_description", "error_uri"}


def test_token_requires_a_form_post(emulator):
    cb = emulator.login()
    r = requests.post(emulator.issuer + "/token", verify=emulator.ca, json={
        "grant_type": "authorization_code", "code": cb["code"],
        "redirect_uri": ES["redirect_uris"][0], "client_id": ES["client_id"],
        "client_secret": ES["client_secret"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = requests.get(emulator.issuer + "/token", verify=emulator.ca)
    assert r.status_code == 404


def test_token_delay_delays_the_token_response(emulator):
    cb = emulator.login()
    emulator.control(token_delay=1.5)
    t0 = time.monotonic()
    r = emulator.token(cb["code"])
    assert r.status_code == 200 and time.monotonic() - t0 >= 1.4


# --------------------------------------------------------------------------- userinfo

def test_userinfo_without_bearer_is_401_invalid_token(emulator):
    r = requests.get(emulator.issuer + "/userinfo", verify=emulator.ca)
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_userinfo_with_expired_or_unknown_token_is_401(emulator):
    _, tok = emulator.full_flow()
    assert emulator.userinfo("unknown").status_code == 401
    emulator.control(clock_offset=61)
    r = emulator.userinfo(tok["access_token"])
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_userinfo_refuses_the_token_in_the_query_and_post(emulator):
    _, tok = emulator.full_flow()
    r = requests.get(emulator.issuer + "/userinfo", params={"access_token": tok["access_token"]},
                     verify=emulator.ca)
    assert r.status_code == 400
    r = requests.post(emulator.issuer + "/userinfo", verify=emulator.ca,
                      headers={"Authorization": "Bearer " + tok["access_token"]})
    assert r.status_code == 404


# --------------------------------------------------------------------------- misbehave switches

def _jwk_pem(emulator, kid):
    return emulator.jwks().get_key(kid).export_to_pem()


@pytest.mark.parametrize("client", [ES, RS], ids=["ES256", "RS256"])
def test_misbehave_hs256_public_key_signs_with_the_public_pem(emulator, client):
    emulator.misbehave("hs256_public_key")
    _, tok = emulator.full_flow(client=client)
    header, _, sig = parts(tok["id_token"])
    assert header["alg"] == "HS256"
    signing_input = tok["id_token"].rsplit(".", 1)[0].encode()
    mac = hmac.new(_jwk_pem(emulator, header["kid"]), signing_input, hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(mac).rstrip(b"=").decode() == sig


def test_misbehave_alg_none_gives_an_unsigned_id_token(emulator):
    emulator.misbehave("alg_none")
    _, tok = emulator.full_flow()
    header, claims, sig = parts(tok["id_token"])
    assert header["alg"] == "none" and sig == "" and claims["aud"] == ES["client_id"]


def test_misbehave_unknown_kid_signs_with_a_key_not_in_jwks(emulator):
    emulator.misbehave("unknown_kid")
    _, tok = emulator.full_flow()
    header, _, _ = parts(tok["id_token"])
    assert header["alg"] == "ES256"
    assert emulator.jwks().get_key(header["kid"]) is None


@pytest.mark.parametrize("name,check", [
    ("wrong_aud", lambda c, e: c["aud"] != ES["client_id"]),
    ("wrong_iss", lambda c, e: c["iss"] == "https://evil.example/api/v2"),
    ("wrong_nonce", lambda c, e: c["nonce"] != "n" * 32),
    ("low_acr", lambda c, e: c["acr"] == "eidas0"),
    ("expired", lambda c, e: c["exp"] < time.time() - 60 and c["iat"] < time.time() - 290),
])
def test_misbehave_claim_switches_alter_a_correctly_signed_id_token(emulator, name, check):
    emulator.misbehave(name)
    _, tok = emulator.full_flow()
    claims = emulator.verify(tok["id_token"], "ES256")  # signature still valid
    assert check(claims, emulator)
    # One-shot: the next login is normal again.
    _, tok = emulator.full_flow()
    claims = emulator.verify(tok["id_token"], "ES256")
    assert claims["aud"] == ES["client_id"] and claims["iss"] == emulator.issuer
    assert claims["nonce"] == "n" * 32 and claims["acr"] == "eidas1"
    assert claims["exp"] > time.time()


def test_misbehave_userinfo_other_sub(emulator):
    emulator.misbehave("userinfo_other_sub")
    _, tok = emulator.full_flow()
    sub = emulator.verify(tok["id_token"], "ES256")["sub"]
    info = emulator.verify(emulator.userinfo(tok["access_token"]).text, "ES256")
    assert info["sub"] != sub and re.fullmatch(r"[0-9a-f]{64}v1", info["sub"])


def test_misbehave_userinfo_plain_json(emulator):
    emulator.misbehave("userinfo_plain_json")
    _, tok = emulator.full_flow()
    r = emulator.userinfo(tok["access_token"])
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["given_name"] == "Angela Claire Louise"


def test_misbehave_no_iss_param_and_foreign_iss_param(emulator):
    emulator.misbehave("no_iss_param")
    cb = emulator.login()
    assert "iss" not in cb and cb["code"]
    emulator.misbehave("foreign_iss_param")
    cb = emulator.login()
    assert cb["iss"] == "https://evil.example/api/v2"
    assert emulator.login()["iss"] == emulator.issuer


def test_misbehave_iss_switch_also_applies_to_a_cancel(emulator):
    emulator.misbehave("foreign_iss_param", "wrong_aud")
    sess = emulator.session()
    cb = callback_params(emulator.submit_login(sess, emulator.authorize(sess), action="cancel"))
    assert cb["error"] == "access_denied" and cb["iss"] == "https://evil.example/api/v2"
    assert emulator.get("control")["misbehave"] == ["wrong_aud"]


def test_unknown_misbehave_name_is_refused(emulator):
    r = requests.post(emulator.base + "/_emulator/control", json={"misbehave": ["nope"]},
                      verify=emulator.ca)
    assert r.status_code == 400


# --------------------------------------------------------------------------- SSO and logout

def test_sso_session_shows_confirmation_and_keeps_auth_time(emulator):
    sess = emulator.session()
    cb = emulator.login(sess, login="prenoms")
    first = emulator.verify(emulator.token(cb["code"]).json()["id_token"], "ES256")
    assert "fc_session_id" in sess.cookies
    page = emulator.authorize(sess, client=RS)
    assert "Continuer en tant que Jean-Baptiste Pierre Marie LEFÈVRE" in page.text
    assert page.text.count("<option") == 1
    cb = callback_params(emulator.submit_login(sess, page, "prenoms"))
    second = emulator.verify(emulator.token(cb["code"], RS).json()["id_token"], "RS256")
    assert second["auth_time"] == first["auth_time"]
    # A browser without the cookie still gets the full identity choice.
    assert "Continuer en tant que" not in emulator.authorize(emulator.session()).text


def _id_token(emulator, sess=None, client=ES):
    cb = emulator.login(sess, client=client)
    return emulator.token(cb["code"], client).json()["id_token"]


def test_session_end_redirects_with_state_and_ends_the_browser_session(emulator):
    sess = emulator.session()
    hint = _id_token(emulator, sess)
    r = sess.get(emulator.issuer + "/session/end", allow_redirects=False, params={
        "id_token_hint": hint, "state": "logout-state-123",
        "post_logout_redirect_uri": ES["post_logout_redirect_uris"][0]})
    assert r.status_code == 303
    assert r.headers["Location"] == "http://localhost:8080/logged-out?state=logout-state-123"
    assert "Continuer en tant que" not in emulator.authorize(sess).text
    assert emulator.get("sessions") == []


def test_server_side_session_end_does_not_end_the_browser_session(emulator):
    sess = emulator.session()
    hint = _id_token(emulator, sess)
    r = requests.get(emulator.issuer + "/session/end", verify=emulator.ca,
                     allow_redirects=False, params={
                         "id_token_hint": hint, "state": "x",
                         "post_logout_redirect_uri": ES["post_logout_redirect_uris"][0]})
    assert r.status_code == 303
    assert "Continuer en tant que" in emulator.authorize(sess).text
    assert emulator.get("requests")[-2]["session_cookie"] is False


def test_session_end_accepts_an_expired_hint(emulator):
    hint = _id_token(emulator)
    emulator.control(clock_offset=3600)
    r = requests.get(emulator.issuer + "/session/end", verify=emulator.ca,
                     allow_redirects=False, params={"id_token_hint": hint})
    assert r.status_code == 200 and "déconnecté" in r.text


def test_session_end_without_post_logout_redirect_uri_shows_op_page(emulator):
    r = requests.get(emulator.issuer + "/session/end", verify=emulator.ca,
                     allow_redirects=False,
                     params={"id_token_hint": _id_token(emulator), "state": "abc"})
    assert r.status_code == 200 and "Location" not in r.headers


@pytest.mark.parametrize("case,code", [
    ("no_hint", "Y000400"),
    ("extra_param", "Y000400"),
    ("unregistered_uri", "Y04CFAEF"),
    ("trailing_slash", "Y04CFAEF"),
    ("tampered_hint", "Y045AFAE"),
    ("garbage_hint", "Y04FEDB9"),
    ("other_client_id", "Y0467882"),
])
def test_session_end_rejections(emulator, case, code):
    hint = _id_token(emulator)
    params = {"id_token_hint": hint, "state": "abc",
              "post_logout_redirect_uri": ES["post_logout_redirect_uris"][0]}
    if case == "no_hint":
        del params["id_token_hint"]
    elif case == "extra_param":
        params["foo"] = "bar"
    elif case == "unregistered_uri":
        params["post_logout_redirect_uri"] = "http://localhost:8080/elsewhere"
    elif case == "trailing_slash":
        params["post_logout_redirect_uri"] += "/"
    elif case == "tampered_hint":
        h, p, s = hint.split(".")
        claims = b64u_json(p)
        claims["sub"] = "0" * 64 + "v1"
        p = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        params["id_token_hint"] = ".".join([h, p, s])
    elif case == "garbage_hint":
        params["id_token_hint"] = "garbage"
    elif case == "other_client_id":
        params["client_id"] = RS["client_id"]
    r = requests.get(emulator.issuer + "/session/end", params=params, verify=emulator.ca,
                     allow_redirects=False)
    assert r.status_code == 400 and code in r.text and "Location" not in r.headers
    assert emulator.last_error() == code


def test_session_end_with_a_hint_signed_by_a_rotated_out_key_is_rejected(emulator):
    hint = _id_token(emulator)
    emulator.post("rotate-keys")
    r = requests.get(emulator.issuer + "/session/end", params={"id_token_hint": hint},
                     verify=emulator.ca)
    assert r.status_code == 400


# --------------------------------------------------------------------------- control API, robustness

def test_down_makes_every_provider_request_503_but_control_still_works(emulator):
    emulator.control(down=True)
    for path in ("/.well-known/openid-configuration", "/jwks", "/authorize"):
        assert requests.get(emulator.issuer + path, verify=emulator.ca).status_code == 503
    emulator.control(down=False)
    assert requests.get(emulator.issuer + "/jwks", verify=emulator.ca).status_code == 200


@pytest.mark.parametrize("name", ["discovery_delay", "jwks_delay", "authorize_delay",
                                  "userinfo_delay"])
def test_endpoint_delays(emulator, name):
    _, tok = emulator.full_flow()
    calls = {
        "discovery_delay": lambda: requests.get(
            emulator.issuer + "/.well-known/openid-configuration", verify=emulator.ca),
        "jwks_delay": lambda: requests.get(emulator.issuer + "/jwks", verify=emulator.ca),
        "authorize_delay": lambda: emulator.authorize(emulator.session()),
        "userinfo_delay": lambda: emulator.userinfo(tok["access_token"]),
    }
    emulator.control(**{name: 1.0})
    t0 = time.monotonic()
    assert calls[name]().status_code == 200
    assert time.monotonic() - t0 >= 0.9


def test_requests_log_records_requests_and_masks_the_secret(emulator):
    cb = emulator.login()
    emulator.token(cb["code"])
    log = emulator.get("requests")
    assert [e["path"] for e in log] == ["/api/v2/authorize", "/api/v2/login", "/api/v2/token"]
    auth, _, token = log
    assert ["acr_values", "eidas1"] in auth["query"] and auth["method"] == "GET"
    form = dict(token["form"])
    assert form["client_secret"] == "***" and form["grant_type"] == "authorization_code"
    assert token["content_type"] == "application/x-www-form-urlencoded"
    assert token["authorization"] is None
    emulator.token("x", data={"client_secret": None, "client_id": None},
                   auth=(ES["client_id"], ES["client_secret"]))
    assert emulator.get("requests")[-1]["authorization"] == "Basic"
    assert ES["client_secret"] not in json.dumps(emulator.get("requests"))


def test_clients_can_be_replaced_through_the_control_api(emulator):
    emulator.post("clients", [ES])
    r = emulator.authorize(emulator.session(), client=RS)
    assert r.status_code == 400 and "Y04EA6EF" in r.text
    bad = requests.post(emulator.base + "/_emulator/clients", json=[{"client_id": "x"}],
                        verify=emulator.ca)
    assert bad.status_code == 400


def test_malformed_input_gets_400_and_the_emulator_survives(emulator):
    r = emulator.authorize(emulator.session(), raw_query="client_id=%ff%fe&state=%")
    assert r.status_code == 400
    r = requests.post(emulator.issuer + "/token", data=b"\xff\xfe",
                      headers={"Content-Type": "application/x-www-form-urlencoded"},
                      verify=emulator.ca)
    assert r.status_code == 400
    r = requests.post(emulator.issuer + "/token", verify=emulator.ca,
                      headers={"Authorization": "Basic !!!"},
                      data={"grant_type": "authorization_code", "code": "x"})
    assert r.status_code == 400
    r = requests.get(emulator.issuer + "/userinfo", verify=emulator.ca,
                     headers={"Authorization": "Bearer \x01"})
    assert r.status_code in (400, 401)
    # Raw garbage on the socket.
    ctx = ssl.create_default_context(cafile=emulator.ca)
    host, port = urllib.parse.urlsplit(emulator.base).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(b"\x00\x01garbage\r\n\r\n")
            tls.recv(1024)
    assert requests.get(emulator.issuer + "/jwks", verify=emulator.ca).status_code == 200


def test_tls_below_1_2_is_refused(emulator):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(emulator.ca)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    host, port = urllib.parse.urlsplit(emulator.base).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(raw, server_hostname=host)


def test_unknown_path_is_404_page(emulator):
    r = requests.get(emulator.base + "/.well-known/openid-configuration", verify=emulator.ca)
    assert r.status_code == 404 and "Y000404" in r.text


def test_jwks_keys_load_in_jwcrypto(emulator):
    for key in emulator.jwks()["keys"]:
        assert isinstance(key, jwk.JWK) and not key.has_private


def test_chunked_token_request_body_is_understood(emulator):
    cb = emulator.login()

    def body():
        yield ("grant_type=authorization_code&code=%s&" % cb["code"]).encode()
        yield urllib.parse.urlencode({"redirect_uri": ES["redirect_uris"][0],
                                      "client_id": ES["client_id"],
                                      "client_secret": ES["client_secret"]}).encode()

    r = requests.post(emulator.issuer + "/token", data=body(), verify=emulator.ca,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text


def test_unknown_idp_hint_redirects_invalid_idp_hint(emulator):
    r = emulator.authorize(emulator.session(), idp_hint="some-other-idp")
    cb = callback_params(r)
    assert r.status_code == 303 and cb["error"] == "invalid_idp_hint"
    assert cb["state"] == "s" * 32 and cb["iss"] == emulator.issuer


@pytest.mark.parametrize("claims", ["{not json", "[]", '"x"'])
def test_claims_that_are_not_a_json_object_give_a_page(emulator, claims):
    r = emulator.authorize(emulator.session(), claims=claims)
    assert r.status_code == 400 and "Y030028" in r.text and "Location" not in r.headers
