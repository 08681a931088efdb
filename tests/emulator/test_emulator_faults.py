"""The emulator's provider faults (emu_faults.py): an endpoint answering 500, garbage, or closing
the connection mid-answer, until the faults are cleared."""

import http.client
import json
import socket
import ssl
import urllib.parse

import pytest
import requests

from conftest import ES


def raw_get(emulator, path):
    """(status, declared length, body bytes read until the server closed) of one GET, over a
    bare TLS socket: `requests` would raise on a short body before showing it."""
    url = urllib.parse.urlsplit(emulator.issuer + path)
    ctx = ssl.create_default_context(cafile=emulator.ca)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=url.hostname) as tls:
            conn = http.client.HTTPConnection(url.hostname, url.port)
            conn.sock = tls
            conn.request("GET", url.path)
            resp = conn.getresponse()
            try:
                body = resp.read()
            except http.client.IncompleteRead as short:
                body = short.partial
            return resp.status, int(resp.getheader("Content-Length")), body


def test_error_500_lasts_until_cleared_and_leaves_other_endpoints_alone(emulator):
    emulator.control(faults={"jwks": "error_500"})
    for _ in range(2):  # not one-shot
        assert requests.get(emulator.issuer + "/jwks", verify=emulator.ca).status_code == 500
    discovery = requests.get(emulator.issuer + "/.well-known/openid-configuration",
                             verify=emulator.ca)
    assert discovery.status_code == 200
    emulator.control(faults={})
    assert requests.get(emulator.issuer + "/jwks", verify=emulator.ca).status_code == 200


def test_garbage_token_answer_is_neither_json_nor_utf8(emulator):
    cb = emulator.login()
    emulator.control(faults={"token": "garbage"})
    resp = emulator.token(cb["code"])
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        json.loads(resp.content)
    with pytest.raises(UnicodeDecodeError):
        resp.content.decode("utf-8")


def test_close_mid_response_sends_less_than_the_declared_length(emulator):
    emulator.control(faults={"discovery": "close_mid_response"})
    status, length, body = raw_get(emulator, "/.well-known/openid-configuration")
    assert status == 200
    assert 0 < len(body) < length
    emulator.control(faults={})
    status, length, body = raw_get(emulator, "/.well-known/openid-configuration")
    assert (status, len(body)) == (200, length)


def test_a_fault_on_the_token_endpoint_spares_the_rest_of_the_login(emulator):
    emulator.control(faults={"token": "error_500"})
    cb = emulator.login()  # authorize and login are not faulted
    assert emulator.token(cb["code"]).status_code == 500
    emulator.control(faults={})
    assert emulator.token(cb["code"], ES).status_code == 200


@pytest.mark.parametrize("faults, why", [
    ({"authorize": "error_500"}, "unknown endpoint"),
    ({"token": "hang"}, "unknown kind"),
    (["token"], "JSON object"),
])
def test_bad_fault_settings_are_refused(emulator, faults, why):
    r = requests.post(emulator.base + "/_emulator/control", json={"faults": faults},
                      verify=emulator.ca)
    assert r.status_code == 400
    assert why in r.json()["error"]


def test_reset_clears_the_faults(emulator):
    emulator.control(faults={"jwks": "garbage"})
    emulator.post("reset")
    assert emulator.get("control")["faults"] == {}
