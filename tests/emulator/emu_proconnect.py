"""ProConnect mode of the emulator (docs/federations.md §10.3): `--federation proconnect`.

Same plumbing, control API and misbehaviours as the FranceConnect mode; ProConnect's own rules:
accepted parameters (strict mode: unknown ones → page Y000400 as the docs promise; lenient mode:
dropped, as the service does since 2025-10), `claims` with essential acr values checked by set
membership, PKCE S256, prompt=none → login_required, hints, 12 h SSO, UUID subs shared by every
client, at_hash + sid in the id_token, HS256 keyed by the client_secret, userinfo as JWT or JSON
per client registration, Y-code pages (Y000400, Y030110, Y030111, Y500015).
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import urllib.parse
import uuid

import emu_jose as jose
import emu_pages as pages
import emu_tokens as tokens
from emu_assertion import PrivateKeyJwtClients
from emulator import (ClientConfigError, Handler, REDIRECT_MISBEHAVIOURS, parse_pairs, parse_registration,
                      single_valued, validate_registrations, with_query)

KNOWN_PARAMS = {"client_id", "acr_values", "claims", "response_type", "nonce", "state",
                "redirect_uri", "scope", "prompt", "idp_hint", "login_hint", "siret_hint",
                "code_challenge", "code_challenge_method", "response_mode", "ui_locales"}
LOGOUT_PARAMS = {"id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales"}
ACRS = ["eidas0", "eidas0-mfa", "eidas1", "eidas1-mfa", "eidas2", "eidas3",
        "https://proconnect.gouv.fr/assurance/certification-dirigeant"]
FORCE_NEW_SESSION = {"eidas2", "eidas3"}
DEFAULT_SCOPES = {"openid", "given_name", "usual_name", "email", "uid", "siret", "idp_id",
                  "roles", "organization_label"}
OPTIONAL_SCOPES = {"siren", "phone", "organizational_unit", "belonging_population", "chorusdt",
                   "custom", "idp_acr", "groups"}
SESSION_COOKIE = "pc_session_id"
SSO_TTL = 12 * 3600
CODE_TTL = 600
ACCESS_TOKEN_TTL = 3600
ID_TOKEN_TTL = 3600
IDP_IDS = {"fia1v2", "fia2v2", "fia3v2", "pci"}
SIRET_DEFAULT = "21750001600019"

# Test users (§10.3). `acrs`: what the identity can reach, best last; `amr` per acr.
IDENTITIES = {
    "test@fia1.fr": {
        "idp_id": "fia1v2", "fi_sub": "1", "public": True,
        "acrs": {"eidas1": ["pwd"], "eidas1-mfa": ["pwd", "mail"]},
        "claims": {"given_name": "Angela Claire Louise", "usual_name": "DUBOIS",
                   "email": "test@fia1.fr", "uid": "1", "siret": "21750001600019",
                   "siren": "217500016", "organizational_unit": "comptabilité",
                   "belonging_population": "agent", "phone_number": "0123456789",
                   "roles": ["agent_public", "agent_public_territorial"],
                   "organization_label": "Commune de Paris"},
    },
    "mfa@fia2.fr": {
        "idp_id": "fia2v2", "fi_sub": "mfa-7", "public": True,
        "acrs": {"eidas1": ["pwd"], "eidas1-mfa": ["pwd", "otp"], "eidas2": ["pwd", "otp"]},
        "claims": {"given_name": "Élodie", "usual_name": "Ñúñez-Œuvray",
                   "email": "mfa@fia2.fr", "uid": "mfa-7", "siret": "13002526500013",
                   "roles": ["agent_public_etat"], "organization_label": "DINUM"},
    },
    "noamr@fia3.fr": {
        "idp_id": "fia3v2", "fi_sub": "n-1", "public": True, "no_amr": True,
        "acrs": {"eidas1": []},
        "claims": {"given_name": "Jean", "usual_name": "MARTIN", "email": "noamr@fia3.fr",
                   "uid": "n-1", "siret": "11000201100044", "roles": [],
                   "organization_label": "Ministère"},
    },
    "badsiret@fia1.fr": {
        "idp_id": "fia1v2", "fi_sub": "b-2", "public": True,
        "acrs": {"eidas1": ["pwd"]},
        # An invalid SIRET from the FI: ProConnect substitutes the FI's default one.
        "claims": {"given_name": "Paul", "usual_name": "BERNARD", "email": "badsiret@fia1.fr",
                   "uid": "b-2", "siret": SIRET_DEFAULT, "roles": ["agent_public"],
                   "organization_label": "Commune de Paris"},
    },
    "ctrl@fia1.fr": {
        "idp_id": "fia1v2", "fi_sub": "c-4", "public": True,
        "acrs": {"eidas1": ["pwd"]},
        # Control characters an identity provider let through: NUL, CR/LF, ESC; tab is legal.
        "claims": {"given_name": "Marc\tAntoine", "usual_name": "DU\u0000BOIS",
                   # A string whose text looks like a JSON array (it is not one).
                   "email": "ctrl@fia1.fr", "uid": "[\"c-4\"]", "siret": "21750001600019",
                   "roles": ["agent_public", "x\r\nX-Injected: 1"],
                   "organization_label": "Mairie\r\nX-Injected: 1\u001b[31m"},
    },
    "prive@entreprise.fr": {
        "idp_id": "pci", "fi_sub": "p-3", "public": False,
        "acrs": {"eidas1": ["pwd"], "https://proconnect.gouv.fr/assurance/certification-dirigeant":
                 ["pwd", "mail"]},
        "claims": {"given_name": "Chloé", "usual_name": "PETIT", "email": "prive@entreprise.fr",
                   "uid": "p-3", "siret": "55210055400013", "roles": ["dirigeant"],
                   "belonging_population": "prestataire",
                   "organization_label": "Entreprise SA"},
    },
}
# An identity of another FI with the e-mail of a ProConnect Identité account: same account.
ACCOUNT_ALIASES = {}

SCOPE_CLAIMS = {
    "given_name": ["given_name"], "usual_name": ["usual_name"], "email": ["email"],
    "uid": ["uid"], "siret": ["siret"], "siren": ["siren"], "idp_id": ["idp_id"],
    "organizational_unit": ["organizational_unit"],
    "belonging_population": ["belonging_population"], "phone": ["phone_number"],
    "roles": ["roles"], "organization_label": ["organization_label"], "custom": ["custom"],
}


def pc_subject(login):
    """UUID v4-shaped, per (idp_id, FI sub) account, identical for every client."""
    ident = IDENTITIES[login]
    digest = hashlib.sha256(("%s|%s" % (ident["idp_id"], ident["fi_sub"])).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def pc_claims(login, scopes):
    ident = IDENTITIES[login]
    out = {}
    for scope in scopes:
        for name in SCOPE_CLAIMS.get(scope, []):
            if name == "idp_id":
                out["idp_id"] = ident["idp_id"]
            elif name == "custom":
                out["custom"] = {}
            elif name in ident["claims"]:
                out[name] = ident["claims"][name]
    return out


def validate_pc_clients(data):
    """Like the FC registrations, plus HS256, userinfo_signed_response_alg null (= JSON),
    `public_only` (private-sector users refused with Y500015) and `allowed_scopes`."""
    def parse(item):
        client = parse_registration(item, ("ES256", "RS256", "HS256"),
                                    ("ES256", "RS256", "HS256", None))
        scopes = item.get("allowed_scopes", sorted(DEFAULT_SCOPES | OPTIONAL_SCOPES))
        client.update({
            "amr_allowed": True, "public_only": bool(item.get("public_only", True)),
            "allowed_scopes": set(scopes),
        })
        # private_key_jwt (ES256 or RS256 assertions) needs the client's keys URL.
        method = item.get("token_endpoint_auth_method", "client_secret_post")
        if method not in ("client_secret_post", "client_secret_basic", "private_key_jwt"):
            raise ClientConfigError("client %s: token_endpoint_auth_method %r is not supported"
                                    % (client["client_id"], method))
        if method == "private_key_jwt" and not isinstance(item.get("jwks_uri"), str):
            raise ClientConfigError("client %s: private_key_jwt needs a jwks_uri"
                                    % client["client_id"])
        client["token_endpoint_auth_method"] = method
        client["jwks_uri"] = item.get("jwks_uri")
        return client
    return validate_registrations(data, parse)


def login_page(issuer, interaction, client_id, sso_login=None, login_hint=None):
    action = pages.html.escape(issuer + "/login", quote=True)
    logins = [sso_login] if sso_login else list(IDENTITIES)
    if login_hint in logins:
        logins.remove(login_hint)
        logins.insert(0, login_hint)
    intro = ("<p class=\"sso-session\">Continuer en tant que %s</p>" % pages.html.escape(sso_login)
             if sso_login else "<p>Adresse électronique professionnelle :</p>")
    options = "\n".join("<option value=\"%s\">%s</option>"
                        % (pages.html.escape(x, quote=True), pages.html.escape(x)) for x in logins)
    return pages._doc(
        "ProConnect - Connexion",
        "<h1>ProConnect : connexion à %s</h1>\n%s\n"
        "<form method=\"post\" action=\"%s\">\n"
        "<input type=\"hidden\" name=\"interaction\" value=\"%s\">\n"
        "<select name=\"login\">\n%s\n</select>\n"
        "<button type=\"submit\" name=\"action\" value=\"login\">Continuer</button>\n"
        "<button type=\"submit\" name=\"action\" value=\"cancel\">Revenir sur le site</button>\n"
        "</form>" % (pages.html.escape(client_id), intro, action,
                     pages.html.escape(interaction, quote=True), options))


def essential_acrs(params, claims):
    """The set of acr values asked as essential (claims + acr_values, §3.3), or None."""
    wanted = None
    acr = ((claims or {}).get("id_token") or {}).get("acr") if isinstance(claims, dict) else None
    if isinstance(acr, dict) and acr.get("essential"):
        values = acr.get("values") or ([acr["value"]] if "value" in acr else [])
        wanted = [v for v in values if isinstance(v, str)]
        if params.get("acr_values"):
            wanted += params["acr_values"].split(" ")
    return wanted


def b64url_sha256(text):
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode("ascii")).digest()) \
        .rstrip(b"=").decode("ascii")


class ProConnectHandler(PrivateKeyJwtClients, Handler):
    server_version = "pc-emulator"
    SESSION_COOKIE = SESSION_COOKIE
    ASSERTION_ALGS = ("ES256", "RS256")

    def assertion_audiences(self):
        # ProConnect's provider (node oidc-provider) takes the issuer or the endpoint called;
        # Sesame names the token endpoint, for the revocation endpoint too (RFC 7523 §3).
        issuer = urllib.parse.urlsplit(self.st.issuer)
        called = "%s://%s%s" % (issuer.scheme, issuer.netloc, self.path.split("?", 1)[0])
        return [self.st.issuer, self.st.issuer + "/token", called]

    def validate_clients(self, data):
        return validate_pc_clients(data)

    # ---------------------------------------------------------------- discovery
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
            "scopes_supported": sorted(DEFAULT_SCOPES | OPTIONAL_SCOPES),
            "claims_supported": ["sub", "amr", "uid", "given_name", "email", "phone_number",
                                 "organizational_unit", "siren", "siret", "usual_name",
                                 "belonging_population", "idp_id", "idp_acr", "acr", "sid",
                                 "auth_time", "iss"],
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "acr_values_supported": ACRS,
            "id_token_signing_alg_values_supported": ["HS256", "ES256", "RS256"],
            "userinfo_signing_alg_values_supported": ["HS256", "ES256", "RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "claims_parameter_supported": True,
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }
        self.send_json(200, doc, [("Cache-Control", "public, max-age=600")])

    # ---------------------------------------------------------------- authorize
    def authorize(self):
        self.delay("authorize_delay")
        st = self.st
        if self.command == "POST":
            pairs = (self.form_pairs() or []) + parse_pairs(self._query)
        else:
            pairs = parse_pairs(self._query)
        params = single_valued(pairs)
        if params is None:
            return self.error_page(400, "Y000400", "paramètre répété / duplicated parameter")
        unknown = sorted(set(params) - KNOWN_PARAMS)
        if unknown and st.control.get("strict", True):
            return self.error_page(400, "Y000400", "paramètre non autorisé / parameter not "
                                   "allowed: %s" % ", ".join(unknown))
        for name in unknown:  # lenient: what the live service does since 2025-10
            params.pop(name)
        redirect_uri = params.get("redirect_uri", "")
        if not re.match(r"^https?://[^/].+$", redirect_uri):
            return self.error_page(400, "Y000400", "redirect_uri is not a valid URL")
        if not params.get("scope", "").strip():
            return self.error_page(400, "Y000400", "scope must not be empty")
        if "login_hint" in params and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                                   params["login_hint"]):
            return self.error_page(400, "Y000400", "login_hint must be an email")
        if "siret_hint" in params and len(params["siret_hint"]) != 14:
            return self.error_page(400, "Y000400", "siret_hint must be 14 characters")
        nonce = params.get("nonce")
        if nonce is not None and (not nonce or len(nonce) > 512 or not nonce.isascii()):
            return self.error_page(400, "Y000400", "nonce must be ASCII, 1-512 characters")
        if not params.get("state"):
            return self.error_page(400, "Y000400", "state is required")
        client = st.clients.get(params.get("client_id", ""))
        if client is None:
            return self.error_page(400, "oidc-provider-rendered-error:invalid_client",
                                   "client is invalid (client not found) [docs: Y04A586]")
        if redirect_uri not in client["redirect_uris"]:
            return self.error_page(400, "oidc-provider-rendered-error:invalid_redirect_uri",
                                   "redirect_uri did not match any of the client's registered "
                                   "redirect_uris [docs: Y030031]")
        state = params["state"]

        def back(error, description):
            self.redirect(with_query(redirect_uri, [
                ("error", error), ("error_description", description),
                ("state", state), ("iss", st.issuer)]))

        if params.get("response_type") != "code":
            return back("unsupported_response_type", "unsupported response_type requested")
        scopes = [s for s in params["scope"].split(" ") if s]
        if "openid" not in scopes:
            return back("invalid_request", "openid scope must be requested when using the "
                        "claims parameter" if "claims" in params else "openid scope missing")
        if any(s in DEFAULT_SCOPES | OPTIONAL_SCOPES and s not in client["allowed_scopes"]
               and s != "openid" for s in scopes):
            return back("invalid_scope", "requested scope is not allowed")
        prompts = params["prompt"].split(" ") if "prompt" in params else []
        if "none" in prompts and len(prompts) > 1:
            return back("invalid_request", "prompt none must only be used alone")
        if any(p not in ("login", "consent", "none") for p in prompts):
            return back("invalid_request", "unsupported prompt value requested")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is not None or method is not None:
            if method is None:
                return back("invalid_request", "plain code_challenge_method fallback disabled, "
                            "code_challenge_method must be provided")
            if method != "S256":
                return back("invalid_request", "not supported value of code_challenge_method")
            if not challenge or len(challenge) < 43 or not re.match(r"^[A-Za-z0-9_-]+$",
                                                                     challenge):
                return back("invalid_request", "code_challenge must be a string with a "
                            "minimum length of 43 characters")
        claims = None
        if "claims" in params:
            try:
                claims = json.loads(params["claims"])
            except ValueError:
                claims = None
            if not isinstance(claims, dict):
                return back("invalid_request", "could not parse the claims parameter JSON")
        wanted = essential_acrs(params, claims)
        if wanted is not None:
            wanted = [w for w in wanted if w in ACRS]
            if not wanted:
                return back("access_denied", "requested ACRs could not be satisfied")
        if "idp_hint" in params and params["idp_hint"] not in IDP_IDS:
            return back("idp_hint_not_found", "idp_hint not found")
        id_token_claims = (claims or {}).get("id_token") if claims else None
        amr = isinstance(id_token_claims, dict) and "amr" in id_token_claims
        inter = {
            "client_id": client["client_id"], "redirect_uri": redirect_uri, "state": state,
            "nonce": nonce, "scopes": scopes, "wanted": wanted, "amr": amr,
            "code_challenge": challenge, "expires": st.now() + 600,
            "prompt_login": "login" in prompts,
        }
        sid, session = self.sso_session()
        fresh_needed = "login" in prompts or bool(set(wanted or []) & FORCE_NEW_SESSION)
        if "none" in prompts:
            if session is None or fresh_needed:
                return back("login_required", "End-User authentication is required")
            acr = self.pick_acr(session["login"], wanted)
            if acr is None:
                return back("access_denied", "requested ACRs could not be satisfied")
            return self.issue_code(inter, session["login"], sid, session["auth_time"], acr)
        interaction = secrets.token_urlsafe(24)
        with st.lock:
            st.interactions[interaction] = inter
        headers = [("Cache-Control", "no-store")]
        if session and not fresh_needed:
            headers.append(self.session_cookie(sid))
        body = login_page(st.issuer, interaction, client["client_id"],
                          session["login"] if session and not fresh_needed else None,
                          params.get("login_hint"))
        self.send(200, body, "text/html; charset=utf-8", headers)

    def sso_session(self, inter=None):
        """(id, session) of the browser's live ProConnect session (12 h absolute)."""
        sid = self.cookies().get(SESSION_COOKIE)
        if not sid:
            return None, None
        now = self.st.now()
        with self.st.lock:
            session = self.st.sessions.get(sid)
            if session is None or session["expires"] <= now:
                self.st.sessions.pop(sid, None)
                return None, None
            return sid, dict(session)

    def session_cookie(self, sid):
        return ("Set-Cookie", "%s=%s; Path=/; Max-Age=%d; HttpOnly; Secure; SameSite=Lax"
                % (SESSION_COOKIE, sid, SSO_TTL))

    @staticmethod
    def pick_acr(login, wanted):
        can = IDENTITIES[login]["acrs"]
        if wanted is None:
            return "eidas1"  # legacy behaviour: no request → eidas1
        for acr in reversed(ACRS):
            if acr in wanted and acr in can:
                return acr
        return None

    def login(self):
        st = self.st
        pairs = self.form_pairs()
        params = single_valued(pairs) if pairs is not None else None
        if params is None:
            return self.error_page(400, "Y000400", "login form must be a form POST")
        action = params.get("action", "login")
        login = params.get("login")
        if action not in ("login", "cancel") or (action == "login" and login not in IDENTITIES):
            return self.error_page(400, "Y000400", "unknown action or test identity")
        now = st.now()
        with st.lock:
            inter = st.interactions.pop(params.get("interaction", ""), None)
        if inter is None or inter["expires"] <= now:
            return self.error_page(400, "Y030110", "session ProConnect introuvable / session "
                                   "not found (oidc-provider-error:session-not-found)")
        if action == "cancel":
            bad = st.take_misbehaviours(REDIRECT_MISBEHAVIOURS)
            return self.redirect(self.callback_url(inter, [
                ("error", "access_denied"),
                ("error_description", "user authentication aborted")], bad))
        client = st.clients.get(inter["client_id"])
        if client and client["public_only"] and not IDENTITIES[login]["public"]:
            return self.error_page(403, "Y500015", "ce service est réservé aux agents publics "
                                   "/ this service does not accept private-sector users")
        acr = self.pick_acr(login, inter["wanted"])
        if acr is None:
            return self.redirect(self.callback_url(inter, [
                ("error", "access_denied"),
                ("error_description", "requested ACRs could not be satisfied")], set()))
        sid, session = self.sso_session()
        if session and session["login"] == login and not inter.get("prompt_login") and not (
                set(inter["wanted"] or []) & FORCE_NEW_SESSION):
            auth_time = session["auth_time"]
        else:
            sid, auth_time = secrets.token_urlsafe(32), int(now)
        self.issue_code(inter, login, sid, auth_time, acr)

    def issue_code(self, inter, login, sid, auth_time, acr):
        st = self.st
        now = st.now()
        misbehave = st.take_misbehaviours()
        if "old_auth_time" in misbehave:
            auth_time = int(now) - 7200
        code = secrets.token_urlsafe(32)
        with st.lock:
            session = st.sessions.get(sid)
            expires = session["expires"] if session and session["login"] == login \
                else now + SSO_TTL  # absolute: never extended
            st.sessions[sid] = {"login": login, "auth_time": auth_time, "expires": expires}
            st.codes[code] = dict(inter, login=login, auth_time=auth_time, acr=acr, sid=sid,
                                  expires=now + CODE_TTL, used=False, tokens=[],
                                  misbehave=misbehave)
        self.redirect(self.callback_url(inter, [("code", code)], misbehave),
                      [self.session_cookie(sid)])

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
        if params.get("grant_type") == "refresh_token":
            return tokens.refresh_grant(self, client, params, ACCESS_TOKEN_TTL)
        if params.get("grant_type") != "authorization_code":
            return self.oauth_error(400, "unsupported_grant_type", "unsupported grant_type "
                                    "requested")
        code = params.get("code")
        if not code:
            return self.oauth_error(400, "invalid_request", "missing required parameter 'code'")
        now = st.now()
        with st.lock:
            entry = st.codes.get(code)
            if entry is None or entry["client_id"] != client["client_id"]:
                problem = "grant request is invalid (authorization code not found)"
            elif entry["used"]:
                for tok in entry["tokens"]:
                    st.tokens.pop(tok, None)
                problem = "grant request is invalid (authorization code already consumed)"
            elif entry["expires"] <= now:
                problem = "grant request is invalid (authorization code is expired)"
            elif params.get("redirect_uri") != entry["redirect_uri"]:
                problem = "grant request is invalid (authorization code redirect_uri mismatch)"
            elif entry["code_challenge"] and not hmac.compare_digest(
                    b64url_sha256(params.get("code_verifier", "") or ""),
                    entry["code_challenge"]):
                problem = "grant request is invalid (PKCE verification failed)"
            else:
                problem = None
                entry["used"] = True
        if problem:
            return self.oauth_error(400, "invalid_grant", problem)
        access_token = secrets.token_urlsafe(32)
        ttl = tokens.lifetime(st, ACCESS_TOKEN_TTL)
        sub = pc_subject(entry["login"])
        with st.lock:
            st.tokens[access_token] = {
                "client_id": client["client_id"], "login": entry["login"], "sub": sub,
                "scopes": entry["scopes"], "expires": now + ttl,
                "misbehave": entry["misbehave"],
            }
            entry["tokens"].append(access_token)
        refresh_token = tokens.issue_refresh_token(st, st.tokens[access_token], now)
        id_token = self.make_pc_id_token(client, entry, sub, now, access_token)
        self.send_json(200, {"access_token": access_token,
                             "refresh_token": refresh_token,
                             "expires_in": ttl, "id_token": id_token,
                             "scope": " ".join(s for s in entry["scopes"]),
                             "token_type": "Bearer"},
                       [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def make_pc_id_token(self, client, entry, sub, now, access_token):
        st, bad = self.st, entry["misbehave"]
        iat = int(now) - 4000 if "expired" in bad else int(now)
        digest = hashlib.sha256(access_token.encode("ascii")).digest()[:16]
        claims = {
            "iss": "https://evil.example/api/v2" if "wrong_iss" in bad else st.issuer,
            "sub": sub,
            "aud": "another-" + client["client_id"] if "wrong_aud" in bad
            else client["client_id"],
            "exp": iat + ID_TOKEN_TTL, "iat": iat,
            "acr": "eidas1" if "low_acr" in bad
            else entry["acr"] + "\r\nX-Injected: 1" if "control_acr" in bad else entry["acr"],
            "auth_time": entry["auth_time"], "sid": entry["sid"],
            "at_hash": base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"),
        }
        if "no_at_hash" in bad:  # oidc-provider 8+ no longer emits at_hash
            del claims["at_hash"]
        elif "wrong_at_hash" in bad:
            claims["at_hash"] = b64url_sha256("not-" + access_token)[:22]
        if entry["nonce"] is not None:
            claims["nonce"] = secrets.token_hex(32) if "wrong_nonce" in bad else entry["nonce"]
        ident = IDENTITIES[entry["login"]]
        if entry["amr"] and not ident.get("no_amr"):
            claims["amr"] = ["pwd"] if "mfa_single_factor_amr" in bad \
                else ident["acrs"].get(entry["acr"], ["pwd"])
        return self.sign_for(client, client["id_token_signed_response_alg"], claims, bad)

    def sign_for(self, client, alg, claims, bad=()):
        if alg == "HS256" and not ({"alg_none", "unknown_kid"} & set(bad)):
            return jose.sign_hs256(client["client_secret"].encode("utf-8"), claims)
        return self.sign(alg if alg != "HS256" else "ES256", claims, bad)

    # ---------------------------------------------------------------- userinfo
    def userinfo(self):
        self.delay("userinfo_delay")
        st = self.st
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        now = st.now()
        with st.lock:
            entry = st.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if entry is None or entry["expires"] <= now:
            return self.oauth_error(401, "invalid_token", "invalid token provided", None,
                                    [("WWW-Authenticate", 'Bearer error="invalid_token"')])
        client = st.clients.get(entry["client_id"])
        bad = entry["misbehave"]
        claims = {"sub": "00000000-0000-4000-8000-000000000000"
                  if "userinfo_other_sub" in bad else entry["sub"]}
        claims.update(pc_claims(entry["login"], entry["scopes"]))
        claims.update({"iss": st.issuer, "aud": client["client_id"], "exp": int(now) + 60,
                       "iat": int(now)})
        headers = [("Cache-Control", "no-store")]
        alg = client["userinfo_signed_response_alg"]
        if alg is None or "userinfo_plain_json" in bad:
            return self.send_json(200, claims, headers)
        jwt = self.sign_for(client, alg, claims)
        self.send(200, jwt.encode("ascii"), "application/jwt; charset=utf-8", headers)

    # ---------------------------------------------------------------- logout
    def session_end(self):
        st = self.st
        params = single_valued(parse_pairs(self._query))
        if params is None:
            return self.error_page(400, "Y000400", "paramètre répété / duplicated parameter")
        unknown = sorted(set(params) - LOGOUT_PARAMS)
        if unknown and st.control.get("strict", True):
            return self.error_page(400, "Y000400", "paramètre non autorisé: %s"
                                   % ", ".join(unknown))
        client = None
        hint = params.get("id_token_hint")
        if hint:
            try:
                header, payload, signing_input, sig = jose.decode_unverified(hint)
                aud = payload.get("aud")
                client = st.clients.get(aud) if isinstance(aud, str) else None
                if client is None or payload.get("iss") != st.issuer:
                    raise jose.JoseError("unknown issuer or audience")
                if header.get("alg") == "HS256":
                    mac = hmac.new(client["client_secret"].encode("utf-8"), signing_input,
                                   hashlib.sha256).digest()
                    if not hmac.compare_digest(mac, sig):
                        raise jose.JoseError("bad HS256 signature")
                else:
                    with st.lock:
                        keys = list(st.keys.values())
                    jose.verify_jws(hint, keys)  # signature only: exp ignored, as at PC
            except (jose.JoseError, ValueError, IndexError):
                return self.error_page(400, "Y000400", "id_token_hint is invalid")
        elif "client_id" in params:
            client = st.clients.get(params["client_id"])
        plru = params.get("post_logout_redirect_uri")
        if client is not None and plru is not None and \
                plru not in client["post_logout_redirect_uris"]:
            return self.error_page(400, "Y030111", "post_logout_redirect_uri ne correspond pas "
                                   "/ does not match the registered one")
        sid = self.cookies().get(SESSION_COOKIE)
        if sid:
            with st.lock:
                st.sessions.pop(sid, None)
        clear = ("Set-Cookie", "%s=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"
                 % SESSION_COOKIE)
        if client is None or plru is None:
            return self.send(200, pages.logged_out_page(), "text/html; charset=utf-8",
                             [("Cache-Control", "no-store"), clear])
        target = with_query(plru, [("state", params["state"])]) if "state" in params else plru
        self.redirect(target, [clear])
