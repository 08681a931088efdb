#!/usr/bin/env python3
"""FranceConnect v2 (fcp-low) provider emulator for Sesame's tests.

Behaviour: docs/federations.md §10.1 (as strict as the real FranceConnect: it rejects what FC rejects).
Control API and fixtures: tests/emulator/README.md.

    python3 tests/emulator/emulator.py --listen 127.0.0.1:PORT \
        --issuer https://127.0.0.1:PORT/api/v2 --cert server.pem --key server.key \
        [--clients clients.json]

Prints `READY` on stdout once listening. One log line per request on stderr (no query strings,
tokens, codes or secrets).
"""

import argparse
import base64
import hmac
import ipaddress
import json
import os
import secrets
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import emu_clock  # noqa: E402
import emu_faults as faults  # noqa: E402
import emu_data  # noqa: E402
import emu_identities as ids  # noqa: E402
import emu_jose as jose  # noqa: E402
import emu_pages as pages  # noqa: E402
import emu_tokens as tokens  # noqa: E402

# --- FranceConnect v2 constants (docs/federations.md §2, §3) ---------------------------------

AUTHORIZE_PARAMS = {"client_id", "acr_values", "claims", "response_type", "nonce", "state",
                    "redirect_uri", "scope", "prompt", "idp_hint", "ui_locales"}
AUTHORIZE_REQUIRED = ("acr_values", "client_id", "nonce", "redirect_uri", "response_type",
                      "scope", "state")
LOGOUT_PARAMS = {"id_token_hint", "post_logout_redirect_uri", "state", "client_id",
                 "logout_hint", "ui_locales"}
ACR_ORDER = {"eidas1": 1, "eidas2": 2, "eidas3": 3}
PLATFORM_ACRS = ("eidas1",)
DEFAULT_ACR = "eidas1"
ALLOWED_IDP_HINTS = {ids.IDP_ID}
NONCE_MIN = 22
CODE_TTL = 30
ACCESS_TOKEN_TTL = 60
ID_TOKEN_TTL = 60
SSO_TTL = 30 * 60
INTERACTION_TTL = 10 * 60
SESSION_COOKIE = "fc_session_id"
FOREIGN_ISS = "https://evil.example/api/v2"
ERROR_URI = "https://docs.partenaires.franceconnect.gouv.fr/fs/fs-technique/fs-technique-erreurs/"
MAX_BODY = 1 << 20
MAX_RECORDED = 10000

DELAYS = ("token_delay", "userinfo_delay", "authorize_delay", "discovery_delay", "jwks_delay")
MISBEHAVIOURS = ("alg_none", "hs256_public_key", "wrong_aud", "expired", "wrong_nonce",
                 "wrong_iss", "low_acr", "unknown_kid", "userinfo_other_sub",
                 "userinfo_plain_json", "no_iss_param", "foreign_iss_param",
                 "mfa_single_factor_amr", "no_at_hash", "wrong_at_hash",
                 "control_acr", "old_auth_time")
# Misbehaviours that act on the callback redirect itself (also consumed by a cancelled login).
REDIRECT_MISBEHAVIOURS = ("no_iss_param", "foreign_iss_param")


class BadRequest(Exception):
    """Malformed HTTP input: answered with a plain 400, never a crash."""


class ClientConfigError(ValueError):
    pass


def parse_registration(item, id_algs=("ES256", "RS256"), userinfo_algs=("ES256", "RS256")):
    """Checks one client registration (SPEC: Clients) and returns its common fields; each
    federation's mode adds its own."""
    if not isinstance(item, dict):
        raise ClientConfigError("each client must be a JSON object")
    cid, secret = item.get("client_id"), item.get("client_secret")
    if not isinstance(cid, str) or not cid or not isinstance(secret, str) or not secret:
        raise ClientConfigError("client_id and client_secret must be non-empty strings")
    redirect_uris = item.get("redirect_uris")
    logout_uris = item.get("post_logout_redirect_uris", [])
    for name, value in (("redirect_uris", redirect_uris),
                        ("post_logout_redirect_uris", logout_uris)):
        if not isinstance(value, list) or not all(isinstance(u, str) and u for u in value):
            raise ClientConfigError("%s of %s must be a list of strings" % (name, cid))
    if not redirect_uris:
        raise ClientConfigError("client %s needs at least one redirect_uri" % cid)
    id_alg = item.get("id_token_signed_response_alg", "ES256")
    ui_alg = item.get("userinfo_signed_response_alg", id_alg)
    if id_alg not in id_algs or ui_alg not in userinfo_algs:
        raise ClientConfigError("client %s: id_token alg must be one of %s, userinfo alg one of %s"
                                % (cid, list(id_algs), list(userinfo_algs)))
    return {
        "client_id": cid, "client_secret": secret,
        "redirect_uris": list(redirect_uris), "post_logout_redirect_uris": list(logout_uris),
        "id_token_signed_response_alg": id_alg, "userinfo_signed_response_alg": ui_alg,
    }


def validate_registrations(data, parse):
    """A JSON list of registrations → {client_id: client}, each parsed by `parse`."""
    if not isinstance(data, list):
        raise ClientConfigError("clients must be a JSON list")
    out = {}
    for item in data:
        client = parse(item)
        if client["client_id"] in out:
            raise ClientConfigError("duplicate client_id %s" % client["client_id"])
        out[client["client_id"]] = client
    return out


def validate_clients(data):
    """Normalise a JSON list of FranceConnect client registrations (SPEC: Clients)."""
    def parse(item):
        client = parse_registration(item)
        amr_allowed = item.get("amr_allowed", False)
        if not isinstance(amr_allowed, bool):
            raise ClientConfigError("client %s: amr_allowed must be a boolean" % client["client_id"])
        client["amr_allowed"] = amr_allowed
        return client
    return validate_registrations(data, parse)


def fresh_control():
    control = {name: 0 for name in DELAYS}
    control.update({"down": False, "misbehave": [], "clock_offset": 0, "faults": {}})
    control.update(tokens.fresh_control())
    return control


class State:
    """Everything the emulator remembers; one lock guards it all (traffic is tiny)."""

    def __init__(self, issuer, clients):
        self.issuer = issuer
        self.issuer_path = urllib.parse.urlsplit(issuer).path.rstrip("/")
        self.lock = threading.Lock()
        self.clients = clients
        self.keys = {}
        self.rotate_keys()
        self.reset()

    def rotate_keys(self):
        keys = {"ES256": jose.SigningKey("ES256"), "RS256": jose.SigningKey("RS256")}
        with self.lock:
            self.keys = keys
        return [k.kid for k in keys.values()]

    def reset(self):
        with self.lock:
            self.control = fresh_control()
            if hasattr(self, "default_strict"):  # proconnect mode only
                self.control["strict"] = self.default_strict
            self.interactions = {}
            self.codes = {}
            self.tokens = {}
            tokens.reset(self)
            self.sessions = {}
            self.requests = []
            self.last_error = None
            emu_data.reset(self)

    def now(self):
        return time.time() + self.control.get("clock_offset", 0)

    def take_misbehaviours(self, only=None):
        """Remove and return the pending one-shot misbehaviours (all, or those in `only`)."""
        with self.lock:
            pending = self.control["misbehave"]
            taken = [m for m in pending if only is None or m in only]
            self.control["misbehave"] = [m for m in pending if m not in taken]
        return set(taken)


def scrub_pairs(pairs):
    return [[k, "***" if k == "client_secret" else v] for k, v in pairs]


def parse_pairs(text):
    """application/x-www-form-urlencoded → list of (name, value), order and duplicates kept."""
    if not text:
        return []
    try:
        return urllib.parse.parse_qsl(text, keep_blank_values=True, errors="strict",
                                      max_num_fields=200)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("malformed form/query encoding: %s" % exc) from None


def single_valued(pairs):
    """dict of the pairs, or None when a name repeats (FC rejects duplicated parameters)."""
    out = {}
    for k, v in pairs:
        if k in out:
            return None
        out[k] = v
    return out


def with_query(url, params):
    sep = "&" if "?" in url else "?"
    return url + sep + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


class Handler(BaseHTTPRequestHandler):
    # What another mode (emu_fcplus.py) changes: levels, SSO length, extra misbehaviours.
    PLATFORM_ACRS, DEFAULT_ACR, SSO_TTL, MISBEHAVIOURS = (PLATFORM_ACRS, DEFAULT_ACR, SSO_TTL,
                                                          MISBEHAVIOURS)
    # FranceConnect refuses a localhost redirect_uri everywhere but on its own integration
    # platform (FC source, quality/fcp/cypress/integration/api/api-authorize-localhost.feature).
    REFUSES_LOCALHOST = False
    protocol_version = "HTTP/1.1"
    server_version = "fc-emulator"
    sys_version = ""

    # ---------------------------------------------------------------- plumbing
    @property
    def st(self):
        return self.server.state

    def log_message(self, fmt, *args):  # silence the default access log (it prints queries)
        pass

    def date_time_string(self, timestamp=None):  # the Date header follows the emulator's clock
        return emu_clock.date_header(self.st, timestamp)

    def _log(self, status):
        path = self.path.split("?", 1)[0] if isinstance(self.path, str) else "?"
        elapsed = (time.monotonic() - getattr(self, "_started", time.monotonic())) * 1000
        note = getattr(self, "_log_note", None)
        self._log_note = None
        sys.stderr.write("emulator: %s %s %s %d %.0fms%s\n" % (
            self.client_address[0], self.command, path, status, elapsed,
            " " + note if note else ""))
        sys.stderr.flush()

    def send(self, status, body=b"", content_type=None, headers=()):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._log(status)

    def send_json(self, status, obj, headers=(), content_type="application/json; charset=utf-8"):
        self.send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), content_type,
                  headers)

    def error_page(self, status, code, message, headers=()):
        with self.st.lock:
            self.st.last_error = code
        self._log_note = code
        self.send(status, pages.error_page(code, message), "text/html; charset=utf-8",
                  [("Cache-Control", "no-store")] + list(headers))

    def redirect(self, location, headers=()):
        self.send(303, b"", None, [("Location", location), ("Cache-Control", "no-store")]
                  + list(headers))

    def oauth_error(self, status, error, description, code=None, headers=()):
        # FC attaches an error_uri (documentation link with the Y code and an error id) to
        # every JSON error; the generic codes stand in where FC's exact code is not known.
        code = code or ("Y040001" if status == 401 else "Y000400")
        self._log_note = "%s %s" % (error, code)
        body = {"error": error, "error_description": description,
                "error_uri": "%s?code=%s&id=%s" % (ERROR_URI, code, uuid.uuid4())}
        self.send_json(status, body, [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
                       + list(headers))

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked()
        raw_len = self.headers.get("Content-Length")
        if raw_len is None:
            return b""
        try:
            length = int(raw_len)
        except ValueError:
            raise BadRequest("bad Content-Length") from None
        if length < 0 or length > MAX_BODY:
            raise BadRequest("body too large")
        return self.rfile.read(length)

    def read_chunked(self):
        body = b""
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadRequest("bad chunk size") from None
            if size < 0 or len(body) + size > MAX_BODY:
                raise BadRequest("body too large")
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return body
            body += self.rfile.read(size)
            if self.rfile.read(2) != b"\r\n":
                raise BadRequest("bad chunk terminator")

    def content_type(self):
        return self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()

    def form_pairs(self):
        """Form body pairs; None when the body is not application/x-www-form-urlencoded."""
        body = self._body
        if self.content_type() != "application/x-www-form-urlencoded":
            return None
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            raise BadRequest("form body is not ASCII (percent-encode it)") from None
        return parse_pairs(text)

    def cookies(self):
        out = {}
        for header in self.headers.get_all("Cookie") or []:
            for part in header.split(";"):
                name, eq, value = part.strip().partition("=")
                if eq:
                    out.setdefault(name, value)
        return out

    # Addresses besides loopback allowed to use the control API (--control-from): the host's
    # address on a private network when the emulator runs in a network namespace of its own.
    CONTROL_FROM = ()

    def is_loopback(self):
        try:
            addr = ipaddress.ip_address(self.client_address[0].split("%", 1)[0])
        except ValueError:
            return False
        return addr.is_loopback or addr in self.CONTROL_FROM

    def handle_one_request(self):
        self._started = time.monotonic()
        try:
            super().handle_one_request()
        except (ConnectionError, socket.timeout, ssl.SSLError):
            self.close_connection = True

    def dispatch(self):
        self._started = time.monotonic()
        try:
            self._body = self.read_body()
            self.route()
        except BadRequest as exc:
            self.close_connection = True
            self.send(400, "bad request: %s\n" % exc, "text/plain; charset=utf-8")
        except (ConnectionError, socket.timeout):
            self.close_connection = True
        except Exception:  # never die on a request: report and answer 500
            traceback.print_exc()
            self.close_connection = True
            try:
                self.send(500, "internal emulator error\n", "text/plain; charset=utf-8")
            except Exception:
                pass

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = dispatch

    # ---------------------------------------------------------------- routing
    def route(self):
        raw_path, _, query = self.path.partition("?")
        self._query = query
        if raw_path.startswith("/_emulator/"):
            if not self.is_loopback():
                self.send(403, "control API is loopback only\n", "text/plain")
                return
            self.control_route(raw_path[len("/_emulator/"):])
            return
        if self.server.federation == "franceconnect" and emu_data.handles(raw_path):
            return emu_data.route(self, raw_path)
        st = self.st
        if raw_path != st.issuer_path and not raw_path.startswith(st.issuer_path + "/"):
            self.error_page(404, "Y000404", "Page introuvable / not found: %s" % raw_path)
            return
        self.record(raw_path, query)
        if st.control["down"]:
            self.send(503, "FranceConnect est indisponible (emulator down)\n",
                      "text/plain; charset=utf-8", [("Retry-After", "1")])
            return
        sub = raw_path[len(st.issuer_path):]
        if faults.intercept(self, sub):
            return
        routes = {
            ("GET", "/.well-known/openid-configuration"): self.discovery,
            ("GET", "/jwks"): self.jwks,
            ("GET", "/authorize"): self.authorize,
            ("POST", "/authorize"): self.authorize,
            ("POST", "/login"): self.login,
            ("POST", "/token"): self.token,
            ("GET", "/userinfo"): self.userinfo,
            ("POST", "/userinfo"): self.userinfo if self.server.federation == "proconnect"
            else None,
            ("GET", "/session/end"): self.session_end,
            ("POST", "/token/revocation"): self.revocation,
        }
        handler = routes.get((self.command, sub))  # None also for routes of the other mode
        if handler is None:
            self.error_page(404, "Y000404", "Cannot %s %s" % (self.command, raw_path))
            return
        handler()

    def record(self, path, query):
        try:
            qpairs = scrub_pairs(parse_pairs(query))
        except BadRequest:
            qpairs = None
        try:
            fpairs = self.form_pairs()
            fpairs = scrub_pairs(fpairs) if fpairs is not None else None
        except BadRequest:
            fpairs = None
        auth = self.headers.get("Authorization")
        entry = {
            "method": self.command, "path": path, "query": qpairs, "form": fpairs,
            "authorization": auth.split(" ", 1)[0] if auth else None,
            "content_type": self.headers.get("Content-Type"),
            # Whether the browser's FC session cookie came with it (a server-side logout
            # call has none).
            "session_cookie": SESSION_COOKIE in self.cookies(),
            "time": time.time(),
        }
        with self.st.lock:
            self.st.requests.append(entry)
            del self.st.requests[:-MAX_RECORDED]  # bounded memory on long runs

    def delay(self, name):
        seconds = self.st.control.get(name, 0)
        if seconds:
            time.sleep(seconds)

    # ---------------------------------------------------------------- discovery / jwks
    def discovery(self):
        self.delay("discovery_delay")
        iss = self.st.issuer
        doc = {
            "issuer": iss,
            "authorization_endpoint": iss + "/authorize",
            "token_endpoint": iss + "/token",
            "userinfo_endpoint": iss + "/userinfo",
            "jwks_uri": iss + "/jwks",
            "end_session_endpoint": iss + "/session/end",
            "revocation_endpoint": iss + "/token/revocation",
            "scopes_supported": ids.SUPPORTED_SCOPES,
            "claims_supported": ["sub", "given_name", "given_name_array", "family_name",
                                 "birthdate", "gender", "birthplace", "birthcountry", "email",
                                 "preferred_username", "idp_birthdate", "idp_id", "amr", "acr",
                                 "auth_time", "iss"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["pairwise"],
            "acr_values_supported": list(self.PLATFORM_ACRS),
            "id_token_signing_alg_values_supported": ["HS256", "ES256", "RS256"],
            "userinfo_signing_alg_values_supported": ["HS256", "ES256", "RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "claims_parameter_supported": True,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "claim_types_supported": ["normal"],
        }
        doc.update(self.discovery_extra())
        self.send_json(200, doc, [("Cache-Control", "public, max-age=600")],
                       content_type="application/json; charset=utf-8")

    def jwks(self):
        self.delay("jwks_delay")
        with self.st.lock:
            keys = [k.public_jwk() for k in self.st.keys.values()]
        self.send_json(200, {"keys": keys}, [("Cache-Control", "public, max-age=600")])

    # ---------------------------------------------------------------- authorize
    def authorize(self):
        self.delay("authorize_delay")
        st = self.st
        if self.command == "POST":
            pairs = self.form_pairs()
            if pairs is None:
                self.error_page(400, "Y030007", "POST /authorize must be a form "
                                "(application/x-www-form-urlencoded)")
                return
            if self._query:
                pairs = pairs + parse_pairs(self._query)
        else:
            pairs = parse_pairs(self._query)

        # 1. Parameter validation (FC's DTO, forbidNonWhitelisted): page Y030007, no redirect.
        params = single_valued(pairs)
        if params is None:
            dup = sorted({k for k, _ in pairs if sum(1 for n, _ in pairs if n == k) > 1})
            return self.error_page(400, "Y030007", "paramètre répété / duplicated parameter: %s"
                                   % ", ".join(dup))
        unknown = sorted(set(params) - AUTHORIZE_PARAMS)
        if unknown:
            return self.error_page(400, "Y030007", "paramètre non autorisé / parameter not "
                                   "allowed: %s" % ", ".join(unknown))
        missing = [p for p in AUTHORIZE_REQUIRED if not params.get(p)]
        if missing:
            return self.error_page(400, "Y030007", "paramètre manquant / missing parameter: %s"
                                   % ", ".join(missing))
        if len(params["nonce"]) < NONCE_MIN:
            return self.error_page(400, "Y030007", "nonce must be at least %d characters"
                                   % NONCE_MIN)
        if "prompt" in params:
            values = params["prompt"].split(" ")
            if not params["prompt"] or any(v not in ("login", "consent") for v in values):
                return self.error_page(400, "Y030007", "prompt must be login and/or consent")
        redirect_uri = params["redirect_uri"]
        parts = urllib.parse.urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            return self.error_page(400, "Y030007", "redirect_uri is not a valid URL")
        host = (parts.hostname or "").lower()
        if self.REFUSES_LOCALHOST and (host == "localhost" or host.endswith(".localhost")):
            return self.error_page(400, "Y030007", "redirect_uri must not be localhost")
        claims = None
        if "claims" in params:
            try:
                claims = json.loads(params["claims"])
            except ValueError:
                claims = None
            if not isinstance(claims, dict):
                return self.error_page(400, "Y030028", "claims is not a valid JSON object")

        # 2. Client and redirect_uri: pages, still no redirect (the redirect_uri is not trusted).
        client = st.clients.get(params["client_id"])
        if client is None:
            return self.error_page(400, "Y04EA6EF", "client is invalid (client not found)")
        if redirect_uri not in client["redirect_uris"]:
            return self.error_page(400, "Y04C013C", "redirect_uri did not match any of the "
                                   "client's registered redirect_uris")

        # 3. From here on errors go back to the client (303) with state and iss.
        state = params["state"]

        def back(error, description):
            self.redirect(with_query(redirect_uri, [
                ("error", error), ("error_description", description),
                ("state", state), ("iss", st.issuer)]))

        if params["response_type"] != "code":
            return back("unsupported_response_type", "unsupported response_type requested")
        scopes = [s for s in params["scope"].split(" ") if s]
        if "openid" not in scopes:
            return back("invalid_request",
                        "openid scope must be requested when using the acr_values parameter")
        known = [a for a in params["acr_values"].split(" ") if a in ACR_ORDER]
        acr = min(known, key=ACR_ORDER.get) if known else self.DEFAULT_ACR
        if acr not in self.PLATFORM_ACRS:
            return back("invalid_acr", "acr_value is not valid, should be equal one of these "
                        "values, expected %s, got %s" % (",".join(self.PLATFORM_ACRS), acr))
        if "idp_hint" in params and params["idp_hint"] not in ALLOWED_IDP_HINTS:
            return back("invalid_idp_hint", "idp_hint is not allowed")
        id_token_claims = claims.get("id_token") if claims else None
        amr = isinstance(id_token_claims, dict) and "amr" in id_token_claims
        if amr and not client["amr_allowed"]:
            return self.error_page(400, "Y100009", "amr claim requested but this service "
                                   "provider is not allowed to request it")

        now = st.now()
        interaction = secrets.token_urlsafe(24)
        with st.lock:
            st.interactions = {k: v for k, v in st.interactions.items()
                               if v["expires"] > now}
            st.interactions[interaction] = {
                "client_id": client["client_id"], "redirect_uri": redirect_uri,
                "state": state, "nonce": params["nonce"], "scopes": scopes, "acr": acr,
                "amr": amr, "expires": now + INTERACTION_TTL,
                "prompt_login": "login" in params.get("prompt", "").split(" "),
            }
        session_id, session = self.sso_session()
        headers = [("Cache-Control", "no-store")]
        if session:
            headers.append(self.session_cookie(session_id))
        body = pages.login_page(st.issuer, interaction, client["client_id"],
                                session["login"] if session else None)
        self.send(200, body, "text/html; charset=utf-8", headers)

    def sso_session(self, inter=None):
        """(id, session) of the browser's live FC session, sliding its expiry; (None, None)."""
        sid = self.cookies().get(SESSION_COOKIE)
        if not sid:
            return None, None
        now = self.st.now()
        with self.st.lock:
            session = self.st.sessions.get(sid)
            if session is None or session["expires"] <= now:
                self.st.sessions.pop(sid, None)
                return None, None
            session["expires"] = now + self.SSO_TTL
            return sid, dict(session)

    def session_cookie(self, sid):
        return ("Set-Cookie", "%s=%s; Path=/; Max-Age=%d; HttpOnly; Secure; SameSite=Lax"
                % (SESSION_COOKIE, sid, self.SSO_TTL))

    # ---------------------------------------------------------------- login form
    def login(self):
        st = self.st
        pairs = self.form_pairs()
        params = single_valued(pairs) if pairs is not None else None
        if params is None:
            return self.error_page(400, "Y000400", "login form must be a form POST without "
                                   "repeated fields")
        action = params.get("action", "login")
        if action not in ("login", "cancel"):
            return self.error_page(400, "Y000400", "unknown action")
        login = params.get("login")
        if action == "login" and login not in ids.IDENTITIES:
            return self.error_page(400, "Y000400", "unknown test identity")
        now = st.now()
        with st.lock:
            inter = st.interactions.pop(params.get("interaction", ""), None)
        if inter is None or inter["expires"] <= now:
            return self.error_page(400, "Y190001", "session FranceConnect expirée ou inconnue "
                                   "/ unknown or expired interaction, restart from the service")

        if action == "cancel":
            bad = st.take_misbehaviours(REDIRECT_MISBEHAVIOURS)
            return self.redirect(self.callback_url(inter, [
                ("error", "access_denied"),
                ("error_description", "user authentication aborted")], bad))

        sid, session = self.sso_session(inter)
        if session and session["login"] == login:
            # prompt=login re-authenticates (OIDC Core §3.1.2.1): a new auth_time.
            auth_time = int(now) if inter.get("prompt_login") else session["auth_time"]
        else:
            sid, auth_time = secrets.token_urlsafe(32), int(now)
        misbehave = st.take_misbehaviours()
        if "old_auth_time" in misbehave:
            auth_time = int(now) - 7200
        code = secrets.token_urlsafe(32)
        with st.lock:
            if session and session["login"] != login:
                st.sessions.pop(self.cookies().get(SESSION_COOKIE), None)
            st.sessions[sid] = {"login": login, "auth_time": auth_time,
                                "expires": now + self.SSO_TTL}
            st.codes = {k: v for k, v in st.codes.items() if v["expires"] > now - 600}
            st.codes[code] = dict(inter, login=login, auth_time=auth_time,
                                  expires=now + CODE_TTL, used=False, tokens=[],
                                  misbehave=misbehave)
        self.redirect(self.callback_url(inter, [("code", code)], misbehave),
                      [self.session_cookie(sid)])

    def callback_url(self, inter, first, misbehave):
        params = list(first)
        # FC echoes the literal "undefined" when the FS sent no state.
        params.append(("state", inter["state"] if inter["state"] is not None else "undefined"))
        if "foreign_iss_param" in misbehave:
            params.append(("iss", FOREIGN_ISS))
        elif "no_iss_param" not in misbehave:
            params.append(("iss", self.st.issuer))
        return with_query(inter["redirect_uri"], params)

    # ---------------------------------------------------------------- client authentication
    def authenticate_client(self, params):
        """Client for client_secret_post / client_secret_basic, or None after answering."""
        st = self.st
        auth = self.headers.get("Authorization")
        basic = None
        if auth:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() != "basic":
                self.oauth_error(400, "invalid_request", "only Basic or client_secret_post "
                                 "client authentication is supported")
                return None
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
                user, colon, password = decoded.partition(":")
                if not colon:
                    raise ValueError("no colon")
                basic = (urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password))
            except (ValueError, UnicodeDecodeError):
                self.oauth_error(400, "invalid_request", "invalid Authorization header value "
                                 "format")
                return None
        if basic and "client_secret" in params:
            self.oauth_error(400, "invalid_request", "client authentication must only be "
                             "provided using one mechanism")
            return None
        if basic:
            if "client_id" in params and params["client_id"] != basic[0]:
                self.oauth_error(400, "invalid_request", "mismatch in body and authorization "
                                 "client ids")
                return None
            client_id, secret = basic
        else:
            client_id, secret = params.get("client_id"), params.get("client_secret")
        if not client_id:
            self.oauth_error(400, "invalid_request", "no client authentication mechanism "
                             "provided")
            return None
        client = st.clients.get(client_id)
        if client is None:
            self.oauth_error(401, "invalid_client", "client authentication failed (client not "
                             "found)", "Y04EA6EF")
            return None
        if not secret:
            self.oauth_error(401, "invalid_client", "client authentication failed (the "
                             "registered client token_endpoint_auth_method requires a secret)",
                             "Y0434A7B")
            return None
        if not hmac.compare_digest(secret.encode("utf-8"),
                                   client["client_secret"].encode("utf-8")):
            self.oauth_error(401, "invalid_client", "client authentication failed (invalid "
                             "secret provided)", "Y0434A7B")
            return None
        return client

    def form_params_or_error(self):
        pairs = self.form_pairs()
        if pairs is None:
            self.oauth_error(400, "invalid_request", "only application/x-www-form-urlencoded "
                             "content-type bodies are supported on POST /token")
            return None
        params = single_valued(pairs)
        if params is None:
            self.oauth_error(400, "invalid_request", "parameters must not be provided twice")
            return None
        return params

    # ---------------------------------------------------------------- token
    def token(self):
        self.delay("token_delay")
        st = self.st
        params = self.form_params_or_error()
        if params is None:
            return
        client = self.authenticate_client(params)
        if client is None:
            return
        if params.get("grant_type") != "authorization_code":
            if not params.get("grant_type"):
                return self.oauth_error(400, "invalid_request", "missing required parameter "
                                        "'grant_type'")
            return self.oauth_error(400, "unsupported_grant_type", "unsupported grant_type "
                                    "requested")
        code = params.get("code")
        if not code:
            return self.oauth_error(400, "invalid_request", "missing required parameter 'code'",
                                    "Y048017B")
        now = st.now()
        not_found = "grant request is invalid (authorization code not found)"
        with st.lock:
            entry = st.codes.get(code)
            if entry is None or entry["client_id"] != client["client_id"]:
                problem = not_found
            elif entry["used"]:
                # Replay: the code is consumed and every token it produced is revoked.
                for tok in entry["tokens"]:
                    st.tokens.pop(tok, None)
                problem = "grant request is invalid (authorization code already consumed)"
            elif entry["expires"] <= now:
                problem = "grant request is invalid (authorization code is expired)"
            elif params.get("redirect_uri") != entry["redirect_uri"]:
                problem = "grant request is invalid (authorization code redirect_uri mismatch)"
            else:
                problem = None
                entry["used"] = True
        if problem:
            return self.oauth_error(400, "invalid_grant", problem, "Y049E20B")

        access_token = secrets.token_urlsafe(32)
        ttl = tokens.lifetime(st, ACCESS_TOKEN_TTL)
        sub = ids.subject(client["client_id"], entry["login"])
        granted = emu_data.granted(st, ids.granted_scopes(entry["scopes"]))
        scope = " ".join(granted)
        with st.lock:
            st.tokens = {k: v for k, v in st.tokens.items() if v["expires"] > now - 600}
            st.tokens[access_token] = {
                "client_id": client["client_id"], "login": entry["login"], "sub": sub,
                "scopes": entry["scopes"], "expires": now + ttl,
                "misbehave": entry["misbehave"], "granted": granted,
            }
            entry["tokens"].append(access_token)
        id_token = self.seal(client, self.make_id_token(client, entry, sub, now),
                             entry["misbehave"])
        if id_token is None:
            return
        self.send_json(200, {"access_token": access_token, "expires_in": ttl,
                             "id_token": id_token, "scope": scope, "token_type": "Bearer"},
                       [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def make_id_token(self, client, entry, sub, now):
        st, bad = self.st, entry["misbehave"]
        iat = int(now) - 300 if "expired" in bad else int(now)
        claims = {
            "iss": FOREIGN_ISS if "wrong_iss" in bad else st.issuer,
            "sub": sub,
            "aud": "another-client-" + client["client_id"] if "wrong_aud" in bad
            else client["client_id"],
            "exp": iat + ID_TOKEN_TTL,
            "iat": iat,
            "nonce": secrets.token_hex(32) if "wrong_nonce" in bad else entry["nonce"],
            "acr": "eidas0" if "low_acr" in bad else entry["acr"],
            "auth_time": entry["auth_time"],
        }
        if entry["amr"]:
            claims["amr"] = ["fc", "pwd"]
        return self.sign(client["id_token_signed_response_alg"], claims, bad)

    def seal(self, client, jwt, bad, what="id_token"):
        """The token as sent: FranceConnect signs only (FC+ encrypts, emu_fcplus.py); None after
        answering an error itself."""
        return jwt

    def discovery_extra(self):
        return {}

    def sign(self, alg, claims, bad=()):
        with self.st.lock:
            key = self.st.keys[alg]
        if "alg_none" in bad:
            return jose.sign_none(claims)
        if "hs256_public_key" in bad:
            # Algorithm confusion: HMAC keyed with the (public) PEM of the advertised key.
            return jose.sign_hs256(key.public_pem(), claims, kid=key.kid)
        if "unknown_kid" in bad:
            return jose.sign_jws(jose.SigningKey(alg, kid="unknown-" + secrets.token_hex(8)),
                                 claims)
        return jose.sign_jws(key, claims)

    # ---------------------------------------------------------------- userinfo
    def userinfo(self):
        self.delay("userinfo_delay")
        st = self.st
        realm = 'Bearer realm="%s"' % st.issuer
        query = single_valued(parse_pairs(self._query)) or {}
        if "access_token" in query:
            return self.oauth_error(400, "invalid_request", "access token must be sent in the "
                                    "Authorization header (Bearer)")
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self.oauth_error(401, "invalid_token", "no access token provided", "Y040001",
                                    [("WWW-Authenticate", realm + ', error="invalid_token", '
                                      'error_description="no access token provided"')])
        now = st.now()
        with st.lock:
            entry = st.tokens.get(token.strip())
        if entry is None or entry["expires"] <= now:
            why = "access token is expired" if entry else "access token not found"
            return self.oauth_error(401, "invalid_token", "invalid token provided (%s)" % why,
                                    "Y040001",
                                    [("WWW-Authenticate", realm + ', error="invalid_token", '
                                      'error_description="invalid token provided"')])
        client = st.clients.get(entry["client_id"])
        if client is None:
            return self.oauth_error(401, "invalid_token", "invalid token provided (client "
                                    "gone)", "Y040001")
        bad = entry["misbehave"]
        claims = {"sub": ids.subject(client["client_id"], "other:" + entry["login"])
                  if "userinfo_other_sub" in bad else entry["sub"]}
        claims.update(ids.claims_for(entry["login"], entry["scopes"]))
        claims.update({"iss": st.issuer, "aud": client["client_id"], "exp": int(now) + 60,
                       "iat": int(now)})
        headers = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
        if "userinfo_plain_json" in bad:
            return self.send_json(200, claims, headers)
        jwt = self.seal(client, self.sign(client["userinfo_signed_response_alg"], claims), bad,
                        "userinfo")
        if jwt is None:
            return
        self.send(200, jwt.encode("ascii"), "application/jwt; charset=utf-8", headers)

    # ---------------------------------------------------------------- logout
    def session_end(self):
        st = self.st
        pairs = parse_pairs(self._query)
        params = single_valued(pairs)
        if params is None:
            return self.error_page(400, "Y000400", "paramètre répété / duplicated parameter")
        unknown = sorted(set(params) - LOGOUT_PARAMS)
        if unknown:
            return self.error_page(400, "Y000400", "paramètre non autorisé / parameter not "
                                   "allowed: %s" % ", ".join(unknown))
        hint = params.get("id_token_hint")
        if not hint:
            return self.error_page(400, "Y000400", "id_token_hint est obligatoire / "
                                   "id_token_hint is required")
        try:
            jose.decode_unverified(hint)
        except jose.JoseError:
            return self.error_page(400, "Y04FEDB9", "could not decode id_token_hint")
        with st.lock:
            keys = list(st.keys.values())
        try:
            payload = jose.verify_jws(hint, keys)  # signature only: exp deliberately ignored
        except jose.JoseError:
            return self.error_page(400, "Y045AFAE", "id_token_hint is invalid (signature)")
        aud = payload.get("aud")
        client = st.clients.get(aud) if isinstance(aud, str) else None
        if payload.get("iss") != st.issuer or client is None:
            return self.error_page(400, "Y0429C91", "id_token_hint: unknown issuer or audience")
        if "client_id" in params and params["client_id"] != client["client_id"]:
            return self.error_page(400, "Y0467882", "client_id does not match id_token_hint")
        plru = params.get("post_logout_redirect_uri")
        if plru is not None and plru not in client["post_logout_redirect_uris"]:
            return self.error_page(400, "Y04CFAEF", "post_logout_redirect_uri not registered")

        # End the FC session of *this browser* (cookie): a server-side call ends nothing.
        sid = self.cookies().get(SESSION_COOKIE)
        if sid:
            with st.lock:
                st.sessions.pop(sid, None)
        clear = ("Set-Cookie", "%s=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"
                 % SESSION_COOKIE)
        if plru is None:
            return self.send(200, pages.logged_out_page(), "text/html; charset=utf-8",
                             [("Cache-Control", "no-store"), clear])
        target = with_query(plru, [("state", params["state"])]) if "state" in params else plru
        self.redirect(target, [clear])

    # ---------------------------------------------------------------- revocation
    def revocation(self):
        tokens.revocation(self)

    # ---------------------------------------------------------------- control API
    def control_route(self, name):
        st = self.st
        method = self.command
        if tokens.control_route(self, name, method):
            return
        if name == "control" and method == "GET":
            with st.lock:
                return self.send_json(200, dict(st.control))
        if name == "control" and method == "POST":
            try:
                update = json.loads(self._body or b"{}")
            except ValueError:
                return self.send_json(400, {"error": "body must be JSON"})
            problem = self.check_control(update)
            if problem:
                return self.send_json(400, {"error": problem})
            with st.lock:
                st.control.update(update)
                return self.send_json(200, dict(st.control))
        if name == "rotate-keys" and method == "POST":
            return self.send_json(200, {"kids": st.rotate_keys()})
        if name == "reset" and method == "POST":
            st.reset()
            return self.send_json(200, {"reset": True})
        if name == "requests" and method == "GET":
            with st.lock:
                return self.send_json(200, list(st.requests))
        if name == "requests" and method == "DELETE":
            with st.lock:
                st.requests = []
            return self.send_json(200, [])
        if name == "last-error" and method == "GET":
            with st.lock:
                return self.send_json(200, {"code": st.last_error})
        if name == "sessions" and method == "GET":
            now = st.now()
            with st.lock:
                live = [{"login": s["login"], "auth_time": s["auth_time"]}
                        for s in st.sessions.values() if s["expires"] > now]
            return self.send_json(200, live)
        if name == "data" or name.startswith("data/"):
            return emu_data.control_route(self, name)
        if name == "clients" and method == "GET":
            with st.lock:
                return self.send_json(200, [dict(c, client_secret="***")
                                            for c in st.clients.values()])
        if name == "clients" and method == "POST":
            try:
                clients = self.validate_clients(json.loads(self._body or b"null"))
            except (ValueError, ClientConfigError) as exc:
                return self.send_json(400, {"error": str(exc)})
            with st.lock:
                st.clients = clients
            return self.send_json(200, {"clients": sorted(clients)})
        self.send_json(404, {"error": "unknown control endpoint %s %s" % (method, name)})

    def validate_clients(self, data):
        return validate_clients(data)

    def check_control(self, update):
        if not isinstance(update, dict):
            return "control body must be a JSON object"
        for key, value in update.items():
            if key in DELAYS or key == "clock_offset":
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    return "%s must be a number of seconds" % key
                if key in DELAYS and not 0 <= value <= 600:
                    return "%s must be between 0 and 600" % key
            elif key in tokens.CONTROLS:
                problem = tokens.check(key, value)
                if problem:
                    return problem
            elif key in ("down", "strict"):
                if not isinstance(value, bool):
                    return "%s must be true or false" % key
            elif key == "misbehave":
                if not isinstance(value, list) or any(m not in self.MISBEHAVIOURS
                                                      for m in value):
                    return "misbehave must be a list of: %s" % ", ".join(self.MISBEHAVIOURS)
            elif key == "faults":
                problem = faults.check(value)
                if problem:
                    return problem
            else:
                return "unknown control field %r" % key
        return None


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address, family, tls, state, handler=None, federation="franceconnect"):
        self.address_family = family
        self.tls = tls
        self.state = state
        self.federation = federation
        super().__init__(address, handler or Handler)

    def finish_request(self, request, client_address):
        # TLS handshake in the per-connection thread, so one slow client cannot block accept().
        request.settimeout(30)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            sys.stderr.write("emulator: %s TLS handshake failed: %s\n" % (client_address[0], exc))
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        sys.stderr.write("emulator: connection error from %s\n" % (client_address[0],))


def parse_listen(value):
    host, sep, port = value.rpartition(":")
    if not sep:
        raise argparse.ArgumentTypeError("--listen must be HOST:PORT")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return (host, int(port)), family
    except ValueError:
        raise argparse.ArgumentTypeError("bad port in --listen") from None


def main(argv=None):
    ap = argparse.ArgumentParser(description="FranceConnect v2 emulator (tests only)")
    ap.add_argument("--listen", required=True, type=parse_listen, help="HOST:PORT")
    ap.add_argument("--issuer", required=True, help="e.g. https://127.0.0.1:PORT/api/v2")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--clients", help="JSON file: list of client registrations")
    ap.add_argument("--federation", choices=("franceconnect", "proconnect",
                                             "franceconnect-plus"),
                    default="franceconnect", help="which provider to emulate")
    ap.add_argument("--lenient", action="store_true",
                    help="proconnect: drop unknown authorize/logout parameters (what the live "
                    "service does) instead of answering Y000400 (what its docs promise)")
    ap.add_argument("--client-ca", help="CA file trusted when fetching the clients' jwks_uri "
                    "(franceconnect-plus, private_key_jwt)")
    ap.add_argument("--control-from", action="append", default=[], type=ipaddress.ip_address,
                    help="an address besides loopback allowed to use /_emulator/ (repeatable)")
    args = ap.parse_args(argv)
    handler = Handler
    if args.federation == "proconnect":
        import emu_proconnect
        handler = emu_proconnect.ProConnectHandler
    if args.federation == "franceconnect-plus":
        import emu_fcplus
        handler = emu_fcplus.FcPlusHandler
    # The clients' jwks_uri (FranceConnect+ encryption keys, private_key_jwt assertions).
    handler.CLIENT_CA = args.client_ca
    handler.CONTROL_FROM = tuple(args.control_from)
    if args.issuer.endswith("/"):
        ap.error("--issuer must not end with a slash (FC issuers are https://host/api/v2)")
    clients = {}
    if args.clients:
        with open(args.clients, "rb") as f:
            clients = handler.validate_clients(None, json.load(f))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(args.cert, args.key)
    state = State(args.issuer, clients)
    if args.federation == "proconnect":
        state.default_strict = not args.lenient
        state.reset()
    address, family = args.listen
    server = Server(address, family, tls, state, handler, args.federation)
    sys.stderr.write("emulator: %s emulator, issuer %s, %d client(s)\n"
                     % (args.federation, args.issuer, len(clients)))
    print("READY", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
