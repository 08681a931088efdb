"""The emulators' token lifecycle (emu_tokens.py): lifetime switch, RFC 7009 revocation with its
slow / failing switches, the token-status hook, and ProConnect's refresh_token grant."""

import time

import pytest
import requests

from conftest import ES, RS
from test_proconnect_emulator import HS, login as pc_login, start


def revoke(emu, token, client=ES, hint=None):
    data = {"token": token, "client_id": client["client_id"],
            "client_secret": client["client_secret"]}
    if hint:
        data["token_type_hint"] = hint
    return requests.post(emu.issuer + "/token/revocation", data=data, verify=emu.ca, timeout=20)


def status(emu, token):
    r = requests.post(emu.base + "/_emulator/token-status", json={"token": token},
                      verify=emu.ca, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_revocation_makes_the_token_inactive_and_userinfo_refuse_it(emulator):
    _, tok = emulator.full_flow()
    token = tok["access_token"]
    assert status(emulator, token)["active"] is True
    assert emulator.userinfo(token).status_code == 200
    r = revoke(emulator, token, hint="access_token")
    assert r.status_code == 200 and r.content == b""
    assert status(emulator, token) == {"active": False, "revoked": True, "kind": "access_token"}
    assert emulator.userinfo(token).status_code == 401
    assert emulator.get("revocations")[-1]["outcome"] == "access_token"


def test_revocation_of_another_clients_or_an_unknown_token_answers_200_and_revokes_nothing(
        emulator):
    _, tok = emulator.full_flow()
    assert revoke(emulator, tok["access_token"], client=RS).status_code == 200
    assert status(emulator, tok["access_token"])["active"] is True
    assert revoke(emulator, "no-such-token").status_code == 200
    assert [r["outcome"] for r in emulator.get("revocations")] == ["unknown", "unknown"]


def test_revocation_needs_client_authentication(emulator):
    _, tok = emulator.full_flow()
    r = requests.post(emulator.issuer + "/token/revocation",
                      data={"token": tok["access_token"], "client_id": ES["client_id"],
                            "client_secret": "wrong"}, verify=emulator.ca, timeout=10)
    assert r.status_code == 401
    assert status(emulator, tok["access_token"])["active"] is True


def test_slow_and_failing_revocation_switches(emulator):
    _, tok = emulator.full_flow()
    emulator.control(revocation_delay=1)
    started = time.monotonic()
    assert revoke(emulator, tok["access_token"]).status_code == 200
    assert time.monotonic() - started >= 1
    emulator.control(revocation_delay=0, revocation_status=503)
    _, tok = emulator.full_flow()
    assert revoke(emulator, tok["access_token"]).status_code == 503
    assert status(emulator, tok["access_token"])["active"] is True
    assert emulator.get("revocations")[-1]["outcome"] == "failed"


def test_access_token_ttl_switch_shortens_the_lifetime(emulator):
    emulator.control(access_token_ttl=1)
    _, tok = emulator.full_flow()
    assert tok["expires_in"] == 1
    time.sleep(1.2)
    assert status(emulator, tok["access_token"])["active"] is False
    assert emulator.userinfo(tok["access_token"]).status_code == 401


def test_control_refuses_bad_token_switches(emulator):
    for field in ({"access_token_ttl": 0}, {"revocation_delay": "x"},
                  {"revocation_status": 99}):
        r = requests.post(emulator.base + "/_emulator/control", json=field,
                          verify=emulator.ca, timeout=10)
        assert r.status_code == 400, field


@pytest.fixture(scope="module")
def pc(tmp_path_factory):
    proc, emu = start(tmp_path_factory)
    yield emu
    proc.stop()


def pc_tokens(pc):
    cb = pc_login(pc)
    r = pc.token(cb["code"], HS)
    assert r.status_code == 200, r.text
    return r.json()


def refresh(pc, refresh_token, client=HS):
    return requests.post(pc.issuer + "/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": client["client_id"], "client_secret": client["client_secret"]},
        verify=pc.ca, timeout=20)


def test_proconnect_refresh_grant_rotates_the_refresh_token(pc):
    tok = pc_tokens(pc)
    assert status(pc, tok["refresh_token"])["kind"] == "refresh_token"
    r = refresh(pc, tok["refresh_token"])
    assert r.status_code == 200, r.text
    fresh = r.json()
    assert fresh["access_token"] != tok["access_token"]
    assert fresh["refresh_token"] != tok["refresh_token"]
    assert fresh["scope"] == tok["scope"] and fresh["token_type"] == "Bearer"
    assert status(pc, fresh["access_token"])["active"] is True
    again = refresh(pc, tok["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_revoked_refresh_token_is_refused(pc):
    tok = pc_tokens(pc)
    assert revoke(pc, tok["refresh_token"], client=HS, hint="refresh_token").status_code == 200
    assert status(pc, tok["refresh_token"])["revoked"] is True
    assert refresh(pc, tok["refresh_token"]).status_code == 400
