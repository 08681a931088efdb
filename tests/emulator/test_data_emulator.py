"""Tests of the API Particulier-like data provider of the FranceConnect emulator (emu_data.py;
docs/federations.md §9)."""

import time

import requests

QF = "/data/v3/dss/quotient_familial/france_connect"
BOURSIER = "/data/v3/cnous/etudiant_boursier/france_connect"
SIRET = "21750001600019"
DATA_SCOPE = "openid given_name family_name cnaf_quotient_familial cnous_statut_boursier"


def token_for(emulator, login="testfc1", scope=DATA_SCOPE):
    _, tok = emulator.full_flow(login=login, scope=scope)
    return tok


def call(emulator, path, token, recipient=SIRET, **kw):
    params = {} if recipient is None else {"recipient": recipient}
    headers = {} if token is None else {"Authorization": "Bearer " + token}
    return requests.get(emulator.base + path, params=params, headers=headers,
                        verify=emulator.ca, timeout=20, **kw)


def test_token_answer_grants_the_data_scopes_for_60_seconds(emulator):
    tok = token_for(emulator)
    assert tok["expires_in"] == 60
    assert "cnaf_quotient_familial" in tok["scope"].split()
    assert "cnous_statut_boursier" in tok["scope"].split()


def test_each_route_returns_the_fixture_of_its_scope_for_the_token_owner(emulator):
    tok = token_for(emulator, login="elodie")
    r = call(emulator, QF, tok["access_token"])
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["quotient_familial"]["fournisseur"] == "MSA"
    assert data["allocataires"][0]["prenoms"] == "Élodie"
    assert "given_name" not in r.json(), "v3 FranceConnect mode returns no identity"
    r = call(emulator, BOURSIER, tok["access_token"])
    assert r.status_code == 200 and r.json()["data"]["est_boursier"] is False


def test_a_token_without_the_scope_is_refused(emulator):
    tok = token_for(emulator, scope="openid given_name cnaf_quotient_familial")
    assert call(emulator, QF, tok["access_token"]).status_code == 200
    r = call(emulator, BOURSIER, tok["access_token"])
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "00100"


def test_refused_scopes_are_not_granted_by_franceconnect(emulator):
    emulator.post("data", {"refuse_scopes": ["cnous_statut_boursier"]})
    tok = token_for(emulator)
    assert "cnous_statut_boursier" not in tok["scope"].split()
    assert call(emulator, BOURSIER, tok["access_token"]).status_code == 403


def test_recipient_must_be_one_valid_siret(emulator):
    tok = token_for(emulator)["access_token"]
    for bad in (None, "", "21750001600018", "2175000160001", "abcdefghijklmn"):
        r = call(emulator, QF, tok, recipient=bad)
        assert r.status_code == 400, bad
        assert r.json()["errors"][0]["source"] == {"parameter": "recipient"}


def test_missing_unknown_and_expired_tokens_are_401(emulator):
    assert call(emulator, QF, None).status_code == 401
    assert call(emulator, QF, "not-a-token").status_code == 401
    tok = token_for(emulator)["access_token"]
    emulator.control(clock_offset=61)
    r = call(emulator, QF, tok)
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "00105"


def test_a_login_without_a_file_gets_404(emulator):
    tok = token_for(emulator, login="foreign")["access_token"]
    assert call(emulator, QF, tok).status_code == 404


def test_switches_slow_500_invalid_json_oversized_expired(emulator):
    tok = token_for(emulator)["access_token"]
    emulator.post("data", {"quotient_familial": {"delay": 0.5}})
    started = time.monotonic()
    assert call(emulator, QF, tok).status_code == 200
    assert time.monotonic() - started >= 0.5
    emulator.post("data", {"quotient_familial": {"delay": 0, "fail": "500"}})
    assert call(emulator, QF, tok).status_code == 500
    emulator.post("data", {"quotient_familial": {"fail": "invalid_json"}})
    r = call(emulator, QF, tok)
    assert r.status_code == 200
    try:
        r.json()
        raise AssertionError("the body should not be JSON")
    except ValueError:
        pass
    emulator.post("data", {"quotient_familial": {"fail": "oversized"}})
    r = call(emulator, QF, tok)
    assert r.status_code == 200 and len(r.content) > 100 * 1024
    emulator.post("data", {"quotient_familial": {"fail": "expired_token"}})
    assert call(emulator, QF, tok).status_code == 401
    assert call(emulator, BOURSIER, tok).status_code == 200, "switches are per route"
    emulator.post("data", {"quotient_familial": {"fail": None}})
    assert call(emulator, QF, tok).status_code == 200


def test_calls_are_recorded_with_their_times_and_reset_clears_them(emulator):
    tok = token_for(emulator)["access_token"]
    call(emulator, QF, tok)
    calls = emulator.get("data/requests")
    assert [(c["api"], c["recipient"], c["authorization"], c["status"]) for c in calls] == [
        ("quotient_familial", SIRET, "Bearer", 200)]
    assert calls[0]["ended"] >= calls[0]["started"]
    assert calls[0]["token"] == tok
    emulator.post("reset")
    assert emulator.get("data/requests") == []
    assert emulator.get("data") == {"apis": {}, "refuse_scopes": []}


def test_bad_data_control_is_refused(emulator):
    for body in ({"nope": 1}, {"quotient_familial": {"fail": "boom"}},
                 {"quotient_familial": {"delay": -1}}, {"refuse_scopes": "x"}):
        r = requests.post(emulator.base + "/_emulator/data", json=body, verify=emulator.ca,
                          timeout=10)
        assert r.status_code == 400, body
