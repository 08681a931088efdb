"""API Particulier's FranceConnect-ed routes, served by the FranceConnect emulator (tests only).

A data provider (FD) is called by the service with the FranceConnect access token
(`Authorization: Bearer`) and `recipient=<SIRET>` of the public body using the data; it checks the
token with FranceConnect (here: the emulator's own token store, what `/checktoken` answers:
active, scope, exp = iat + 60) and returns only the data of the scope (API Particulier v3: no
identity in the FranceConnect mode). docs/federations.md §9.

Routes (outside the issuer path):
    GET /data/v3/dss/quotient_familial/france_connect?recipient=SIRET        scope cnaf_quotient_familial
    GET /data/v3/cnous/etudiant_boursier/france_connect?recipient=SIRET      scope cnous_statut_boursier
Control (loopback): POST /_emulator/data {"<api>": {"delay": s, "fail": F}, "refuse_scopes": [...]}
with F one of 500, invalid_json, oversized, expired_token (null clears); GET /_emulator/data;
GET /_emulator/data/requests (what each call carried, and when it started and ended).
"""

import json
import time
import urllib.parse

import emu_identities as ids

PREFIX = "/data"

# api name -> (route under PREFIX, the FranceConnect scope it needs)
APIS = {
    "quotient_familial": ("/v3/dss/quotient_familial/france_connect", "cnaf_quotient_familial"),
    "etudiant_boursier": ("/v3/cnous/etudiant_boursier/france_connect", "cnous_statut_boursier"),
}
FAILS = ("500", "invalid_json", "oversized", "expired_token")
OVERSIZED_BYTES = 100 * 1024

# Per login; a login without an entry has no file at that provider (404, as API Particulier).
QUOTIENT_FAMILIAL = {
    "testfc1": {
        "allocataires": [{"nom_naissance": "DUBOIS", "prenoms": "Angela Claire Louise",
                          "date_naissance": "1962-08-24", "sexe": "F"}],
        "enfants": [{"nom_naissance": "DUBOIS", "prenoms": "Léa", "date_naissance": "2023-03-14",
                     "sexe": "F"}],
        "adresse": {"destinataire": "Madame DUBOIS Angela", "numero_libelle_voie": "12 RUE DE LA PAIX",
                    "code_postal_ville": "75002 PARIS", "pays": "FRANCE"},
        "quotient_familial": {"fournisseur": "CNAF", "valeur": 2550, "annee": 2025, "mois": 6,
                              "annee_calcul": 2025, "mois_calcul": 7},
    },
    "elodie": {
        "allocataires": [{"nom_naissance": "ÑÚÑEZ-ŒUVRAY", "prenoms": "Élodie",
                          "date_naissance": "1991-02-28", "sexe": "F"}],
        "enfants": [{"nom_naissance": "ÑÚÑEZ-ŒUVRAY", "prenoms": "Noé", "date_naissance": "2024-09-01",
                     "sexe": "M"}],
        "adresse": {"destinataire": "Madame ÑÚÑEZ-ŒUVRAY Élodie", "numero_libelle_voie": "3 PLACE BELLECOUR",
                    "code_postal_ville": "69002 LYON", "pays": "FRANCE"},
        "quotient_familial": {"fournisseur": "MSA", "valeur": 812, "annee": 2025, "mois": 6,
                              "annee_calcul": 2025, "mois_calcul": 7},
    },
}
ETUDIANT_BOURSIER = {
    "testfc1": {
        "est_boursier": True, "echelon_bourse": {"echelon": 4, "libelle": "Échelon 4"},
        "etablissement_etudes": {"nom": "Université Paris Cité", "ville": "Paris"},
        "periode_versement": {"date_debut": "2025-09-01", "date_fin": "2026-06-30"},
    },
    "elodie": {
        "est_boursier": False, "echelon_bourse": None,
        "etablissement_etudes": {"nom": "Université Lyon 2", "ville": "Lyon"},
        "periode_versement": None,
    },
}
FIXTURES = {"quotient_familial": QUOTIENT_FAMILIAL, "etudiant_boursier": ETUDIANT_BOURSIER}


def reset(st):
    """Called from State.reset (under its lock): no switches, no recorded call."""
    st.data_control = {"apis": {}, "refuse_scopes": []}
    st.data_requests = []


def granted(st, scopes):
    """The scopes FranceConnect grants: those asked, minus the data transfers the user refused
    (`refuse_scopes`)."""
    refused = set(st.data_control["refuse_scopes"])
    return [s for s in scopes if s not in refused]


def introspect(st, token):
    """What FranceConnect's /checktoken says of `token`: inactive when unknown or past its 60 s."""
    now = st.now()
    with st.lock:
        entry = st.tokens.get(token)
    if entry is None or entry["expires"] <= now:
        return {"active": False}
    return {"active": True, "scope": " ".join(entry.get("granted", entry["scopes"])),
            "exp": int(entry["expires"]), "sub": entry["sub"], "login": entry["login"],
            "client_id": entry["client_id"]}


def is_siret(value):
    """14 digits whose Luhn checksum holds."""
    if len(value) != 14 or not value.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(value)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def handles(path):
    return path == PREFIX or path.startswith(PREFIX + "/")


def errors(handler, status, code, title, detail, parameter=None):
    err = {"code": code, "title": title, "detail": detail}
    if parameter:
        err["source"] = {"parameter": parameter}
    handler.send_json(status, {"errors": [err]}, [("Cache-Control", "no-store")])


def route(handler, path):
    st = handler.st
    api = next((name for name, (sub, _) in APIS.items() if PREFIX + sub == path), None)
    if api is None or handler.command != "GET":
        return errors(handler, 404, "00404", "Route inconnue", "no such route: %s %s"
                      % (handler.command, path))
    started = time.time()
    query = urllib.parse.parse_qs(handler._query, keep_blank_values=True)
    recipient = query.get("recipient", [None])
    auth = handler.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    with st.lock:
        switches = dict(st.data_control["apis"].get(api, {}))
    # The token itself too (control API only, never a log line): tests grep the servers' logs
    # for it.
    record = {"api": api, "recipient": recipient[0] if len(recipient) == 1 else recipient,
              "authorization": scheme or None, "token": token.strip() or None,
              "started": started}
    delay = switches.get("delay", 0)
    if delay:
        time.sleep(delay)
    status = answer(handler, api, switches, recipient, scheme, token.strip())
    record.update({"status": status, "ended": time.time()})
    with st.lock:
        st.data_requests.append(record)
        del st.data_requests[:-1000]


def answer(handler, api, switches, recipient, scheme, token):
    """Answers one call; returns the status sent."""
    st = handler.st
    _, scope = APIS[api]
    if scheme.lower() != "bearer" or not token:
        errors(handler, 401, "00101", "Interdit", "Un jeton FranceConnect doit être fourni "
               "dans l'en-tête Authorization (Bearer).")
        return 401
    check = introspect(st, token)
    if switches.get("fail") == "expired_token" or not check["active"]:
        errors(handler, 401, "00105", "Jeton FranceConnect invalide",
               "Le jeton FranceConnect est expiré ou inconnu.")
        return 401
    if len(recipient) != 1 or recipient[0] is None or not is_siret(recipient[0]):
        errors(handler, 400, "00210", "Entrée incorrecte", "Le paramètre recipient doit être "
               "le numéro SIRET (14 chiffres) de l'organisme destinataire.", "recipient")
        return 400
    if scope not in check["scope"].split(" "):
        errors(handler, 403, "00100", "Accès interdit", "Le jeton FranceConnect ne donne pas "
               "le scope %s." % scope)
        return 403
    fail = switches.get("fail")
    if fail == "500":
        errors(handler, 500, "00500", "Erreur interne", "Erreur du fournisseur de données.")
        return 500
    if fail == "invalid_json":
        handler.send(200, b'{"data": {"quotient_familial": ', "application/json; charset=utf-8")
        return 200
    if fail == "oversized":
        filler = "x" * OVERSIZED_BYTES
        handler.send_json(200, {"data": {"filler": filler}, "links": {}, "meta": {}})
        return 200
    data = FIXTURES[api].get(check["login"])
    if data is None:
        errors(handler, 404, "37003", "Dossier allocataire absent",
               "Aucun dossier n'a été trouvé pour cette identité.")
        return 404
    handler.send_json(200, {"data": data, "links": {}, "meta": {}},
                      [("Cache-Control", "no-store")])
    return 200


def check_control(update):
    if not isinstance(update, dict):
        return "data control body must be a JSON object"
    for key, value in update.items():
        if key == "refuse_scopes":
            if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
                return "refuse_scopes must be a list of scope names"
        elif key in APIS:
            if not isinstance(value, dict):
                return "%s must be an object {delay, fail}" % key
            for k, v in value.items():
                if k == "delay":
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 60:
                        return "%s.delay must be a number of seconds from 0 to 60" % key
                elif k == "fail":
                    if v is not None and v not in FAILS:
                        return "%s.fail must be null or one of: %s" % (key, ", ".join(FAILS))
                else:
                    return "unknown field %s.%s (expected delay, fail)" % (key, k)
        else:
            return "unknown data control field %r (expected %s, refuse_scopes)" % (
                key, ", ".join(APIS))
    return None


def control_route(handler, name):
    """/_emulator/data[/requests]."""
    st = handler.st
    if name == "data" and handler.command == "GET":
        with st.lock:
            return handler.send_json(200, st.data_control)
    if name == "data" and handler.command == "POST":
        try:
            update = json.loads(handler._body or b"{}")
        except ValueError:
            return handler.send_json(400, {"error": "body must be JSON"})
        problem = check_control(update)
        if problem:
            return handler.send_json(400, {"error": problem})
        with st.lock:
            for key, value in update.items():
                if key == "refuse_scopes":
                    st.data_control["refuse_scopes"] = list(value)
                else:
                    st.data_control["apis"].setdefault(key, {}).update(value)
            return handler.send_json(200, st.data_control)
    if name == "data/requests" and handler.command == "GET":
        with st.lock:
            return handler.send_json(200, list(st.data_requests))
    return handler.send_json(404, {"error": "unknown control endpoint %s %s"
                                   % (handler.command, name)})
