"""Each identity fixture's claims reach PHP as FranceConnect sent them (docs/federations.md
§5.1)."""

import json

import pytest

from e2e_rig.checks import php_server

# identity -> (expected SESAME_CLAIM_* values, claims that must be absent)
CASES = {
    "testfc1": ({"GIVEN_NAME": "Angela Claire Louise", "FAMILY_NAME": "DUBOIS", "BIRTHDATE": "1962-08-24",
                 "BIRTHPLACE": "75107", "BIRTHCOUNTRY": "99100", "GENDER": "female",
                 "EMAIL": "wossewodda-3728@yopmail.com"}, []),
    # Born abroad: FranceConnect sends birthplace "" (if_not_empty leaves the param out).
    "foreign": ({"BIRTHCOUNTRY": "99217", "FAMILY_NAME": "TANAKA"}, ["BIRTHPLACE"]),
    "presumed": ({"BIRTHDATE": "1980-01-01"}, []),
    "corse": ({"BIRTHPLACE": "2A004", "GIVEN_NAME": "Marie-Ange"}, []),
    "prenoms": ({"GIVEN_NAME": "Jean-Baptiste Pierre Marie", "FAMILY_NAME": "LEFÈVRE"}, []),
}


@pytest.mark.parametrize("identity", sorted(CASES))
def test_identity_claims_reach_php(identity, new_browser, server):
    expected, absent = CASES[identity]
    php_vars = php_server(new_browser().login(server.url("/demarches/"), identity=identity).final)
    for name, value in expected.items():
        assert php_vars.get("SESAME_CLAIM_" + name) == value, (name, php_vars.get("SESAME_CLAIM_" + name))
    for name in absent:
        assert "SESAME_CLAIM_" + name not in php_vars, php_vars.get("SESAME_CLAIM_" + name)


def test_array_claim_reaches_php_as_compact_json(new_browser, server):
    php_vars = php_server(new_browser().login(server.url("/demarches/"), identity="prenoms").final)
    raw = php_vars["SESAME_CLAIM_GIVEN_NAME_ARRAY"]
    assert json.loads(raw) == ["Jean-Baptiste", "Pierre", "Marie"]
    assert raw == json.dumps(["Jean-Baptiste", "Pierre", "Marie"], separators=(",", ":"))


def test_claims_outside_the_requested_scope_are_not_passed(new_browser, server):
    # preferred_username is not in the FranceConnect preset's default scope.
    php_vars = php_server(new_browser().login(server.url("/demarches/"), identity="testfc1").final)
    assert "SESAME_CLAIM_PREFERRED_USERNAME" not in php_vars
