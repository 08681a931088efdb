"""`nginx -t` / `apache2 -t` refuse a bad `data` line (Apache `Data`) or a `sesame_data_refresh`
(Apache `SesameDataRefresh`) with nothing to refresh, saying what to fix."""

import pytest

GOOD = "QF https://particulier.api.gouv.fr/v3/dss/quotient_familial/france_connect scope=cnaf_quotient_familial recipient=21750001600019"

CASES = [
    ("q-f https://particulier.api.gouv.fr/v3/x", ["SESAME_DATA_<NAME>", "q-f"]),
    ("QF_ERROR https://particulier.api.gouv.fr/v3/x", ["_ERROR"]),
    ("QF http://particulier.api.gouv.fr/v3/x", ["https://", "access token"]),
    ("QF https://particulier.api.gouv.fr/v3/x recipient=21750001600018", ["21750001600018", "not a SIRET", "Luhn"]),
    ("QF https://particulier.api.gouv.fr/v3/x timeout=1h", ["timeout", "30s"]),
    ("QF https://particulier.api.gouv.fr/v3/x color=blue", ["unknown option", "color"]),
    ("QF", ["data"]),  # nginx: its own "invalid number of arguments"; Apache: the core's words
]


@pytest.mark.parametrize("line, words", CASES, ids=[c[0].split()[0] + str(i) for i, c in enumerate(CASES)])
def test_a_bad_data_line_fails_the_config_test(make_site, line, words):
    site = make_site()
    site.providers["fc"]["data"] = [line]
    rc, out = site.config_test()
    assert rc != 0, "the configuration test accepted it"
    for word in words:
        assert word.lower() in out.lower(), f"{word!r} missing from:\n{out}"


def test_a_data_name_given_twice_fails(make_site):
    site = make_site()
    site.providers["fc"]["data"] = [GOOD, GOOD.replace("QF ", "qf ")]
    rc, out = site.config_test()
    assert rc != 0 and "duplicate" in out, out


def test_good_data_lines_pass(make_site):
    site = make_site()
    site.providers["fc"]["data"] = [GOOD, "LOCAL http://127.0.0.1:9/x timeout=500ms max_size=8k"]
    rc, out = site.config_test()
    assert rc == 0, out


REFRESH_WITHOUT_DATA = {"nginx": """\
        location /creche/ {
            sesame fc;
            sesame_data_refresh on;
        }
""", "apache": """\
<Location /creche/>
    AuthType Sesame
    SesameUse fc
    SesameDataRefresh on
    Require valid-user
</Location>
"""}


def test_a_data_refresh_where_the_provider_has_no_data_fails(make_site, server_kind):
    site = make_site(locations=REFRESH_WITHOUT_DATA[server_kind])
    rc, out = site.config_test()
    assert rc != 0, out
    assert "nothing to fetch again" in out, out
