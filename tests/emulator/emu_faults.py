"""Provider faults of the emulator: an endpoint answering 500, answering garbage, or closing the
connection in the middle of its answer, until told otherwise (`make chaos`, tests/e2e/chaos).

Set through the control API: `POST /_emulator/control {"faults": {"token": "close_mid_response"}}`
(the whole map is replaced; `{}` ends every fault). A hanging provider is the delays' job
(`token_delay` and its kin). Unlike misbehaviours, faults are not one-shot: they last until
cleared, as a provider outage does.
"""

import os
import socket

# Endpoint names (the path under the issuer) a fault can be put on.
ENDPOINTS = {
    "discovery": "/.well-known/openid-configuration",
    "jwks": "/jwks",
    "token": "/token",
    "userinfo": "/userinfo",
}
KINDS = ("error_500", "garbage", "close_mid_response")

# What each endpoint normally answers: a garbage answer claims the same type.
CONTENT_TYPES = {
    "discovery": "application/json; charset=utf-8",
    "jwks": "application/json; charset=utf-8",
    "token": "application/json; charset=utf-8",
    "userinfo": "application/jwt",
}


def check(value):
    """None when `value` is a valid faults map, else why not (the control API's 400)."""
    if not isinstance(value, dict):
        return "faults must be a JSON object {endpoint: kind}"
    for endpoint, kind in value.items():
        if endpoint not in ENDPOINTS:
            return "faults: unknown endpoint %r (one of: %s)" % (endpoint, ", ".join(ENDPOINTS))
        if kind not in KINDS:
            return "faults: unknown kind %r (one of: %s)" % (kind, ", ".join(KINDS))
    return None


def endpoint_of(sub_path):
    for name, path in ENDPOINTS.items():
        if sub_path == path:
            return name
    return None


def intercept(handler, sub_path):
    """Answers the request with the fault set on its endpoint, if any; True when it did."""
    name = endpoint_of(sub_path)
    if name is None:
        return False
    with handler.st.lock:
        kind = handler.st.control.get("faults", {}).get(name)
    if kind is None:
        return False
    handler._log_note = "fault " + kind
    if kind == "error_500":
        handler.send(500, "Internal Server Error\n", "text/plain; charset=utf-8")
    elif kind == "garbage":
        # Bytes that are neither JSON nor a JWT nor UTF-8, under the endpoint's usual type.
        handler.send(200, b"\xff\xfe{" + os.urandom(200) + b"\x00<html>", CONTENT_TYPES[name])
    else:  # close_mid_response: headers promise a body that stops after a few bytes
        handler.send_response(200)
        handler.send_header("Content-Type", CONTENT_TYPES[name])
        handler.send_header("Content-Length", "4096")
        handler.end_headers()
        handler.wfile.write(b'{"access_token": "')
        handler.wfile.flush()
        handler.close_connection = True
        try:
            # The TCP connection ends without TLS close_notify, as when a provider's process dies.
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        handler._log(200)
    return True
