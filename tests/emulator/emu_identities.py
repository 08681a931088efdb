"""Identity fixtures of the FranceConnect emulator and the FC v2 scope → claim mapping.

Each identity exercises one formatting case of the FC "identité pivot" (docs/federations.md §5.1):
several first names, non-ASCII letters, born abroad (empty birthplace), presumed birthdate,
Corsican INSEE code, no usage name.
"""

import hashlib

IDENTITIES = {
    "testfc1": {
        "given_name": "Angela Claire Louise",
        "given_name_array": ["Angela", "Claire", "Louise"],
        "family_name": "DUBOIS",
        "birthdate": "1962-08-24",
        "gender": "female",
        "birthplace": "75107",
        "birthcountry": "99100",
        "email": "wossewodda-3728@yopmail.com",
        "preferred_username": "DUBOIS",
    },
    "elodie": {
        "given_name": "Élodie",
        "given_name_array": ["Élodie"],
        "family_name": "Ñúñez-Œuvray",
        "birthdate": "1991-02-28",
        "gender": "female",
        "birthplace": "69123",
        "birthcountry": "99100",
        "email": "elodie.nunez@example.fr",
        "preferred_username": "D'Œuvray",
    },
    "foreign": {
        "given_name": "Hiroshi",
        "given_name_array": ["Hiroshi"],
        "family_name": "TANAKA",
        "birthdate": "1975-05-05",
        "gender": "male",
        "birthplace": "",
        "birthcountry": "99217",
        "email": "hiroshi.tanaka@example.jp",
    },
    "presumed": {
        "given_name": "Ahmed",
        "given_name_array": ["Ahmed"],
        "family_name": "BENALI",
        "birthdate": "1980-01-01",
        "gender": "male",
        "birthplace": "13055",
        "birthcountry": "99100",
        "email": "ahmed.benali@example.fr",
        "preferred_username": "BENALI",
    },
    "corse": {
        "given_name": "Marie-Ange",
        "given_name_array": ["Marie-Ange"],
        "family_name": "CASANOVA",
        "birthdate": "1985-07-14",
        "gender": "female",
        "birthplace": "2A004",
        "birthcountry": "99100",
        "email": "marie-ange.casanova@example.fr",
        "preferred_username": "CASANOVA",
    },
    "nopref": {
        "given_name": "Jean",
        "given_name_array": ["Jean"],
        "family_name": "MARTIN",
        "birthdate": "1970-12-31",
        "gender": "male",
        "birthplace": "33063",
        "birthcountry": "99100",
        "email": "jean.martin@example.fr",
    },
    "prenoms": {
        "given_name": "Jean-Baptiste Pierre Marie",
        "given_name_array": ["Jean-Baptiste", "Pierre", "Marie"],
        "family_name": "LEFÈVRE",
        "birthdate": "1999-06-01",
        "gender": "male",
        "birthplace": "59350",
        "birthcountry": "99100",
        "email": "jb.lefevre@example.fr",
        "preferred_username": "LEFÈVRE-DURAND",
    },
}

# FI (identity provider) every fixture identity "comes from".
IDP_ID = "fia1v2"

# Claims carried by each FC v2 scope (docs/federations.md §3.2). Unknown scopes are ignored, as FC
# does.
SCOPE_CLAIMS = {
    "given_name": ["given_name", "given_name_array"],
    "family_name": ["family_name"],
    "birthdate": ["birthdate"],
    "gender": ["gender"],
    "birthplace": ["birthplace"],
    "birthcountry": ["birthcountry"],
    "email": ["email"],
    "preferred_username": ["preferred_username"],
    "idp_birthdate": ["idp_birthdate"],
    "idp_id": ["idp_id"],
    "profile": ["given_name", "given_name_array", "family_name", "birthdate", "gender",
                "preferred_username"],
    "birth": ["birthplace", "birthcountry"],
    "identite_pivot": ["given_name", "given_name_array", "family_name", "birthdate", "gender",
                       "birthplace", "birthcountry"],
}

# API Particulier's FranceConnect-ed data (docs/federations.md §9), served by emu_data.py: they
# carry no claim.
DATA_SCOPES = ["cnaf_quotient_familial", "cnous_statut_boursier"]

SUPPORTED_SCOPES = ["openid"] + list(SCOPE_CLAIMS) + ["amr"] + DATA_SCOPES


def display_name(login):
    ident = IDENTITIES[login]
    return "%s %s" % (ident["given_name"], ident["family_name"])


def subject(client_id, login):
    """Pairwise sub: stable per (client, identity), different between clients; 64 hex + "v1".

    sha256(client_id + login) in hex, then "v1" (FC's own formula also mixes a platform secret)."""
    return hashlib.sha256((client_id + login).encode("utf-8")).hexdigest() + "v1"


def claims_for(login, scopes):
    """The identity's claims released by `scopes` (absent values, e.g. no usage name, stay absent)."""
    ident = dict(IDENTITIES[login])
    ident["idp_birthdate"] = ident["birthdate"]
    ident["idp_id"] = IDP_ID
    out = {}
    for scope in scopes:
        for claim in SCOPE_CLAIMS.get(scope, ()):
            if claim in ident:
                out[claim] = ident[claim]
    return out


def granted_scopes(requested):
    """Requested scopes FC knows, in request order, without duplicates."""
    seen = []
    for scope in requested:
        if scope in SUPPORTED_SCOPES and scope not in seen:
            seen.append(scope)
    return seen
