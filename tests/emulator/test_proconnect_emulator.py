"""The emulator's ProConnect mode (docs/federations.md §10.3), strict and lenient."""

import base64
import hashlib
import json
import re
import uuid

import pytest
import requests

from conftest import Emulator, EmulatorProcess, callback_params

HS = {
    "client_id": "pc-hs256",
    "client_secret": "pc-secret-0123456789abcdef",
    "redirect_uris": ["https://fs.example/sesame/pc/callback"],
    "post_logout_redirect_uris": ["https://fs.example/sesame/pc/logged-out/"],
    "id_token_signed_response_alg": "HS256",
    "userinfo_signed_response_alg": None,
}
ES = {
    "client_id": "pc-es256",
    "client_secret": "pc-secret-es-9876543210",
    "redirect_uris": ["https://other.example/cb"],
    "post_logout_redirect_uris": ["https://other.example/bye"],
    "id_token_signed_response_alg": "ES256",
    "userinfo_signed_response_alg": "ES256",
}


class PcEmulator(Emulator):
    def authorize(self, sess, client=HS, raw_query=None, **overrides):
        return super().authorize(sess, client, raw_query, **overrides)

    def auth_params(self, client=HS, **overrides):
        params = {
            "client_id": client["client_id"], "redirect_uri": client["redirect_uris"][0],
            "response_type": "code", "scope": "openid given_name usual_name email siret idp_id",
            "state": "s" * 32, "nonce": "n" * 32,
        }
        for k, v in overrides.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = v
        return params


def start(tmp_path_factory, *args):
    proc = EmulatorProcess.start(tmp_path_factory.mktemp("pc"), clients=[HS, ES],
                                 extra_args=["--federation", "proconnect", *args])
    return proc, PcEmulator(proc.base, proc.ca)


@pytest.fixture(scope="module")
def pc(tmp_path_factory):
    proc, emu = start(tmp_path_factory)
    yield emu
    proc.stop()


@pytest.fixture(scope="module")
def pc_lenient(tmp_path_factory):
    proc, emu = start(tmp_path_factory, "--lenient")
    yield emu
    proc.stop()


@pytest.fixture(autouse=True)
def clean():
    yield


def payload(token):
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def login(pc, sess=None, client=HS, who="test@fia1.fr", **overrides):
    sess = sess or pc.session()
    page = pc.authorize(sess, client, **overrides)
    if page.status_code == 303:
        return callback_params(page)
    assert page.status_code == 200, page.text
    return callback_params(pc.submit_login(sess, page, who))


def test_discovery_announces_proconnect_values(pc):
    doc = requests.get(pc.issuer + "/.well-known/openid-configuration", verify=pc.ca).json()
    assert len(doc["acr_values_supported"]) == 7
    assert doc["subject_types_supported"] == ["public"]
    assert "refresh_token" in doc["grant_types_supported"]


def test_strict_mode_answers_y000400_for_an_unknown_parameter(pc):
    r = pc.authorize(pc.session(), max_age="0")
    assert r.status_code == 400 and "Y000400" in r.text
    assert pc.last_error() == "Y000400"


def test_lenient_mode_drops_unknown_parameters(pc_lenient):
    r = pc_lenient.authorize(pc_lenient.session(), max_age="0")
    assert r.status_code == 200


@pytest.mark.parametrize("override", [
    {"login_hint": "not-an-email"}, {"siret_hint": "123"}, {"scope": ""},
    {"redirect_uri": "ftp://x"},
])
def test_malformed_parameters_give_y000400_in_both_modes(pc, pc_lenient, override):
    for emu in (pc, pc_lenient):
        r = emu.authorize(emu.session(), **override)
        assert r.status_code == 400 and "Y000400" in r.text, (override, r.text[:300])


def test_hs256_tokens_with_at_hash_json_userinfo_and_uuid_sub(pc):
    cb = login(pc)
    tok = pc.token(cb["code"], HS).json()
    assert tok["expires_in"] == 3600 and "refresh_token" in tok
    id_token = tok["id_token"]
    header = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "=="))
    assert header["alg"] == "HS256"
    signing_input = ".".join(id_token.split(".")[:2]).encode()
    import hmac
    mac = hmac.new(HS["client_secret"].encode(), signing_input, hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(mac).rstrip(b"=").decode() == id_token.split(".")[2]
    claims = payload(id_token)
    digest = hashlib.sha256(tok["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert claims["acr"] == "eidas1" and "sid" in claims
    assert uuid.UUID(claims["sub"]).version == 4
    ui = pc.userinfo(tok["access_token"])
    assert ui.headers["Content-Type"].startswith("application/json")
    assert ui.json()["usual_name"] == "DUBOIS" and ui.json()["idp_id"] == "fia1v2"


def test_sub_is_the_same_for_every_client(pc):
    a = payload(pc.token(login(pc)["code"], HS).json()["id_token"])["sub"]
    b = payload(pc.token(login(pc, client=ES)["code"], ES).json()["id_token"])["sub"]
    assert a == b


def test_essential_acr_is_a_member_or_access_denied(pc):
    mfa = json.dumps({"id_token": {"acr": {"essential": True,
                                           "values": ["eidas1-mfa", "eidas2"]}}})
    cb = login(pc, claims=mfa)
    assert payload(pc.token(cb["code"], HS).json()["id_token"])["acr"] == "eidas1-mfa"
    eidas3 = json.dumps({"id_token": {"acr": {"essential": True, "values": ["eidas3"]}}})
    cb = login(pc, claims=eidas3)
    assert cb["error"] == "access_denied"
    assert cb["error_description"] == "requested ACRs could not be satisfied"


def test_prompt_none_without_session_is_login_required_and_with_one_a_code(pc):
    sess = pc.session()
    cb = login(pc, sess, prompt="none")
    assert cb["error"] == "login_required" and cb["state"] == "s" * 32
    login(pc, sess)
    cb = login(pc, sess, prompt="none")
    assert "code" in cb
    assert login(pc, sess, prompt="none login")["error"] == "invalid_request"
    assert login(pc, sess, prompt="select_account")["error"] == "invalid_request"


def test_pkce_s256_is_checked_at_the_token_endpoint(pc):
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()) \
        .rstrip(b"=").decode()
    cb = login(pc, code_challenge=challenge, code_challenge_method="S256")
    assert pc.token(cb["code"], HS, data={"code_verifier": "w" * 50}).status_code == 400
    cb = login(pc, code_challenge=challenge, code_challenge_method="S256")
    assert pc.token(cb["code"], HS, data={"code_verifier": verifier}).status_code == 200
    assert login(pc, code_challenge=challenge, code_challenge_method="plain")["error"] == \
        "invalid_request"


def test_private_sector_user_at_a_public_only_client_gets_y500015(pc):
    sess = pc.session()
    page = pc.authorize(sess)
    r = pc.submit_login(sess, page, "prive@entreprise.fr")
    assert r.status_code == 403 and "Y500015" in r.text


def test_logout_needs_the_exact_post_logout_redirect_uri(pc):
    cb = login(pc)
    id_token = pc.token(cb["code"], HS).json()["id_token"]
    base = pc.issuer + "/session/end"
    r = requests.get(base, params={"id_token_hint": id_token, "state": "x" * 32,
                                   "post_logout_redirect_uri":
                                   HS["post_logout_redirect_uris"][0].rstrip("/")},
                     verify=pc.ca, allow_redirects=False)
    assert r.status_code == 400 and "Y030111" in r.text
    r = requests.get(base, params={"id_token_hint": id_token, "state": "x" * 32,
                                   "post_logout_redirect_uri": HS["post_logout_redirect_uris"][0]},
                     verify=pc.ca, allow_redirects=False)
    assert r.status_code == 303
    assert r.headers["Location"] == HS["post_logout_redirect_uris"][0] + "?state=" + "x" * 32


def test_unknown_interaction_gives_y030110(pc):
    r = pc.session().post(pc.issuer + "/login", data={"interaction": "gone", "login":
                                                      "test@fia1.fr", "action": "login"})
    assert r.status_code == 400 and "Y030110" in r.text


def test_mfa_identity_reports_second_factor_in_amr(pc):
    claims = json.dumps({"id_token": {"acr": {"essential": True, "values": ["eidas2"]},
                                      "amr": None}})
    cb = login(pc, who="mfa@fia2.fr", claims=claims)
    p = payload(pc.token(cb["code"], HS).json()["id_token"])
    assert p["acr"] == "eidas2" and p["amr"] == ["pwd", "otp"]
    assert re.match(r"^[0-9a-f-]{36}$", p["sub"])


def test_no_at_hash_misbehaviour_issues_an_id_token_without_at_hash_once(pc):
    pc.misbehave("no_at_hash")
    first = payload(pc.token(login(pc)["code"], HS).json()["id_token"])
    assert "at_hash" not in first and "sid" in first
    again = payload(pc.token(login(pc)["code"], HS).json()["id_token"])
    assert "at_hash" in again, "one-shot"


def test_wrong_at_hash_misbehaviour_issues_an_at_hash_of_another_token(pc):
    pc.misbehave("wrong_at_hash")
    tok = pc.token(login(pc)["code"], HS).json()
    digest = hashlib.sha256(tok["access_token"].encode()).digest()[:16]
    good = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    at_hash = payload(tok["id_token"])["at_hash"]
    assert at_hash != good and len(at_hash) == len(good)


def test_control_acr_and_the_control_character_identity(pc):
    pc.misbehave("control_acr")
    claims = payload(pc.token(login(pc)["code"], HS).json()["id_token"])
    assert claims["acr"] == "eidas1\r\nX-Injected: 1"
    tok = pc.token(login(pc, who="ctrl@fia1.fr")["code"], HS).json()
    ui = pc.userinfo(tok["access_token"]).json()
    assert ui["usual_name"] == "DU\x00BOIS"
