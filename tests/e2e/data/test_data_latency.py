"""What the data calls add to a login, measured against the emulator: two calls run in parallel,
so a login waits for the slowest one, not for their sum. Figures:
`python3 -m pytest -s tests/e2e/data/test_data_latency.py` (one line per server)."""

import statistics
import sys
import time

import pytest

from e2e_rig.browser import Browser
from e2e_rig.paths import REPO

sys.path.insert(0, str(REPO / "tests" / "emulator"))
import emu_data  # noqa: E402

ROUNDS = 8
SIRET = "21750001600019"


@pytest.fixture(scope="module")
def servers(make_site, start_server, emulator):
    """A site without data calls, and one with two (quotient familial, student grant)."""
    plain = make_site()
    with_data = make_site()
    base = emulator.base + emu_data.PREFIX
    with_data.providers["fc"]["data"] = [
        f"QF {base}{emu_data.APIS['quotient_familial'][0]} scope=cnaf_quotient_familial recipient={SIRET}",
        f"BOURSE {base}{emu_data.APIS['etudiant_boursier'][0]} scope=cnous_statut_boursier recipient={SIRET}",
    ]
    return start_server(plain), start_server(with_data)


def callback_seconds(pki, server):
    """Median wall time of the callback request (token exchange, userinfo, data calls, Redis)."""
    times = []
    for _ in range(ROUNDS):
        browser = Browser(pki.ca, site_base=server.base)
        callback_url = browser.authorize(browser.start(server.url("/demarches/")), "testfc1")
        t0 = time.monotonic()
        resp = browser.get(callback_url)
        times.append(time.monotonic() - t0)
        assert resp.status_code == 303, resp.text[:300]
    return statistics.median(times)


def set_delays(emulator, qf, bourse):
    emulator._post("/_emulator/data", {"quotient_familial": {"delay": qf, "fail": None},
                                       "etudiant_boursier": {"delay": bourse, "fail": None},
                                       "refuse_scopes": []})


def test_two_data_calls_add_the_slowest_call_not_the_sum(pki, servers, emulator, server_kind):
    plain, with_data = servers
    try:
        set_delays(emulator, 0, 0)
        base = callback_seconds(pki, plain)
        fast = callback_seconds(pki, with_data)
        set_delays(emulator, 0.3, 0.5)
        slow = callback_seconds(pki, with_data)
    finally:
        set_delays(emulator, 0, 0)
    print(f"\n[{server_kind}] login callback, median of {ROUNDS}: no data {base * 1000:.0f} ms; "
          f"two data calls {fast * 1000:.0f} ms (+{(fast - base) * 1000:.0f} ms); "
          f"two calls answering in 0.3 s and 0.5 s {slow * 1000:.0f} ms "
          f"(+{(slow - base) * 1000:.0f} ms; their sum would add 800 ms)")
    # The callback cannot answer before its slowest call has (0.5 s). Compared with `base`, a
    # median of other logins, the difference can fall a few ms short of 0.5 s (seen in CI: 499 ms).
    assert slow >= 0.5, "the slowest call is waited for"
    assert slow - base < 0.7, "the calls run in parallel: the slowest (0.5 s), not the sum (0.8 s)"
