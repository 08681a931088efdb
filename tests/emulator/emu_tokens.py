"""Access-token lifecycle of the emulators (FranceConnect and ProConnect modes).

- the access token's lifetime (`access_token_ttl` control: FranceConnect's 60 s, ProConnect's
  3600 s by default), so that a test sees a token expire in seconds;
- refresh tokens and the `refresh_token` grant (RFC 6749 §6), ProConnect mode only: a refresh
  token is bound to its client, single use (rotated: the answer carries a new one, the old one
  is refused afterwards) and dies with revocation;
- the RFC 7009 revocation endpoint listed in discovery: client authentication as the token
  endpoint, 200 whether or not the token was valid, and the switches `revocation_delay`
  (seconds before answering) and `revocation_status` (answer this HTTP status instead);
- a test hook: `POST /_emulator/token-status` with `{"token": ...}` says whether a token is
  active or revoked (an introspection for tests, loopback only like every control route), and
  `GET /_emulator/revocations` lists the revocation requests received (hint and outcome; the
  tokens themselves are never listed).
"""

import secrets
import time

# Control fields this module adds, with their checks.
CONTROLS = {
    "access_token_ttl": (lambda v: 1 <= v <= 86400, "a number of seconds between 1 and 86400"),
    "revocation_delay": (lambda v: 0 <= v <= 600, "a number of seconds between 0 and 600"),
    "revocation_status": (lambda v: int(v) == v and 200 <= v <= 599, "an HTTP status"),
}
REFRESH_TOKEN_TTL = 12 * 3600


def fresh_control():
    return {"access_token_ttl": None, "revocation_delay": 0, "revocation_status": 200}


def check(key, value):
    """A problem with a control field of this module, else None."""
    if value is None and key == "access_token_ttl":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "%s must be %s" % (key, CONTROLS[key][1])
    ok, what = CONTROLS[key]
    return None if ok(value) else "%s must be %s" % (key, what)


def reset(st):
    st.refresh_tokens = {}
    st.revoked = {}
    st.revocations = []


def lifetime(st, default):
    """The access token lifetime to grant now."""
    ttl = st.control.get("access_token_ttl")
    return int(ttl) if ttl else default


def issue_refresh_token(st, access_entry, now):
    """A refresh token for the grant of `access_entry` (caller holds no lock)."""
    token = secrets.token_urlsafe(32)
    with st.lock:
        st.refresh_tokens = {k: v for k, v in st.refresh_tokens.items() if v["expires"] > now}
        st.refresh_tokens[token] = {
            "client_id": access_entry["client_id"], "login": access_entry["login"],
            "sub": access_entry["sub"], "scopes": access_entry["scopes"],
            "misbehave": access_entry.get("misbehave", []), "expires": now + REFRESH_TOKEN_TTL,
        }
    return token


def refresh_grant(handler, client, params, default_ttl):
    """POST /token with grant_type=refresh_token: a new access token and a rotated refresh."""
    st = handler.st
    token = params.get("refresh_token")
    if not token:
        return handler.oauth_error(400, "invalid_request",
                                   "missing required parameter 'refresh_token'")
    now = st.now()
    with st.lock:
        entry = st.refresh_tokens.get(token)
        if entry is None or entry["client_id"] != client["client_id"] or entry["expires"] <= now:
            entry = None
        else:
            del st.refresh_tokens[token]  # rotation: single use
    if entry is None:
        return handler.oauth_error(400, "invalid_grant", "grant request is invalid (refresh "
                                   "token not found, expired, revoked or already used)")
    ttl = lifetime(st, default_ttl)
    access_token = secrets.token_urlsafe(32)
    access_entry = {"client_id": entry["client_id"], "login": entry["login"], "sub": entry["sub"],
                    "scopes": entry["scopes"], "expires": now + ttl,
                    "misbehave": entry["misbehave"]}
    with st.lock:
        st.tokens[access_token] = access_entry
    refresh_token = issue_refresh_token(st, access_entry, now)
    handler.send_json(200, {"access_token": access_token, "refresh_token": refresh_token,
                            "expires_in": ttl, "scope": " ".join(entry["scopes"]),
                            "token_type": "Bearer"},
                      [("Cache-Control", "no-store"), ("Pragma", "no-cache")])


def revocation(handler):
    """POST /token/revocation (RFC 7009)."""
    st = handler.st
    delay = st.control.get("revocation_delay", 0)
    if delay:
        time.sleep(delay)
    status = int(st.control.get("revocation_status", 200))
    params = handler.form_params_or_error()
    if params is None:
        return
    client = handler.authenticate_client(params)
    if client is None:
        return
    token = params.get("token")
    if not token:
        return handler.oauth_error(400, "invalid_request", "missing required parameter 'token'")
    hint = params.get("token_type_hint")
    if status != 200:
        with st.lock:
            st.revocations.append({"hint": hint, "outcome": "failed", "status": status,
                                   "time": time.time()})
        return handler.oauth_error(status, "server_error", "revocation failed (emulator switch)")
    with st.lock:
        kind = None
        for table, name in ((st.tokens, "access_token"), (st.refresh_tokens, "refresh_token")):
            entry = table.get(token)
            if entry and entry["client_id"] == client["client_id"]:
                del table[token]
                kind = name
                st.revoked[token] = {"kind": name, "time": time.time()}
        st.revocations.append({"hint": hint, "outcome": kind or "unknown", "status": 200,
                               "time": time.time()})
    handler.send(200, b"", None, [("Cache-Control", "no-store")])


def token_status(st, token):
    now = st.now()
    with st.lock:
        if token in st.revoked:
            return {"active": False, "revoked": True, "kind": st.revoked[token]["kind"]}
        for table, kind in ((st.tokens, "access_token"), (st.refresh_tokens, "refresh_token")):
            entry = table.get(token)
            if entry is not None:
                return {"active": entry["expires"] > now, "revoked": False, "kind": kind,
                        "expires_in": int(entry["expires"] - now),
                        "scope": " ".join(entry["scopes"])}
    return {"active": False, "revoked": False, "kind": None}


def control_route(handler, name, method):
    """The control routes of this module; False when `name` is not one of them."""
    st = handler.st
    if name == "token-status" and method == "POST":
        import json
        try:
            token = json.loads(handler._body or b"{}").get("token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str):
            handler.send_json(400, {"error": 'body must be {"token": "..."}'})
            return True
        handler.send_json(200, token_status(st, token))
        return True
    if name == "revocations" and method == "GET":
        with st.lock:
            handler.send_json(200, list(st.revocations))
        return True
    return False
