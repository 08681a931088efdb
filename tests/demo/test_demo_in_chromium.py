"""The demo in a real browser: headless Chromium (Debian's `chromium`) trusts the demo's local CA
the way the demo tells a person to (its printed certutil line), then, behind nginx and behind
Apache, opens the protected page, lands on the emulator, logs in as the test user with accents,
reads the claims on the demo page, logs out; then the same on the ProConnect side.

No certificate error is ignored: a page the browser did not trust would be its warning page, and
the URL and text checks below would fail."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))

from cdp import Chromium, trust  # noqa: E402
from running import RunningDemo, free_port_run  # noqa: E402

REPO = HERE.parents[1]
ACCENTED_GIVEN, ACCENTED_FAMILY = "Élodie", "Ñúñez-Œuvray"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-pki")


@pytest.fixture(scope="module", params=["nginx", "apache"])
def demo(request, tmp_path_factory, pki_dir):
    port = free_port_run()
    workdir = tmp_path_factory.mktemp(f"demo-{request.param}")
    running = RunningDemo(
        [sys.executable, str(HERE / "demo.py"), "--server", request.param, "--port", str(port),
         "--workdir", str(workdir), "--pki", str(pki_dir)],
        cwd=REPO, timeout=120,
    )
    running.port = port
    yield running
    assert running.stop(), f"the demo did not stop cleanly:\n{running.output()[-3000:]}"


@pytest.fixture
def chromium(tmp_path, pki_dir, demo):
    home = tmp_path / "home"
    home.mkdir()
    # The line the demo prints for Chromium, run for this browser's HOME.
    trust(pki_dir / "ca.pem", home)
    browser = Chromium(home)
    yield browser
    browser.stop()


def cell(browser, table, name):
    """The value cell of variable `name` in the demo page's table `table`."""
    return browser.evaluate(
        f"(() => {{ for (const row of document.querySelectorAll('#{table} tr')) {{"
        f" const c = row.querySelectorAll('td'); if (c.length === 2 && c[0].textContent === '{name}')"
        " return c[1].textContent; } return null; })()")


def log_in(browser, emulator_base, identity):
    browser.wait_for_url(emulator_base, "the emulator's login page")
    browser.wait_for("document.querySelector('select[name=login]')", "the identity list")
    browser.select("select[name=login]", identity)
    browser.click("button[value=login]")


def test_franceconnect_login_shows_the_claims_with_accents_then_logs_out(demo, chromium):
    site, fc = demo.url, f"https://127.0.0.1:{demo.port + 1}/"
    chromium.open(site + "/")
    chromium.wait_for("document.querySelector('#login-fc')", "the demo's home page")
    chromium.click("#login-fc")

    log_in(chromium, fc, "elodie")
    chromium.wait_for_url(site + "/demarches/", "the protected page after the login")
    chromium.wait_for("document.querySelector('#who')", "the demo page")
    assert chromium.text("#who") == f"Connecté : {ACCENTED_GIVEN} {ACCENTED_FAMILY}"
    assert chromium.text("#federation") == "FranceConnect"
    assert chromium.text("#acr") == "eidas1"
    assert cell(chromium, "sesame-variables", "SESAME_FAMILY_NAME") == ACCENTED_FAMILY
    assert cell(chromium, "sesame-variables", "SESAME_CLAIM_GIVEN_NAME") == ACCENTED_GIVEN
    assert cell(chromium, "claims", "family_name") == ACCENTED_FAMILY
    assert cell(chromium, "other-variables", "REQUEST_URI") == "/demarches/"

    chromium.click("#logout")
    chromium.wait_for("location.pathname === '/' && document.querySelector('#login-fc')",
                      "the home page after the logout")
    assert chromium.location().startswith(site + "/")
    # Logged out here and at the provider: the protected page asks for a login again, and the
    # emulator offers every identity (no "continue as" from a single sign-on session).
    chromium.open(site + "/demarches/")
    chromium.wait_for_url(fc, "the emulator after the logout")
    chromium.wait_for("document.querySelectorAll('select[name=login] option').length > 1",
                      "the full identity list")


def test_proconnect_login_shows_the_agent_then_logs_out(demo, chromium):
    site, pc = demo.url, f"https://127.0.0.1:{demo.port + 2}/"
    chromium.open(site + "/")
    chromium.wait_for("document.querySelector('#login-pc')", "the demo's home page")
    chromium.click("#login-pc")

    log_in(chromium, pc, "mfa@fia2.fr")
    chromium.wait_for_url(site + "/agents/", "the agents' page after the login")
    chromium.wait_for("document.querySelector('#who')", "the demo page")
    assert chromium.text("#who") == f"Connecté : {ACCENTED_GIVEN} {ACCENTED_FAMILY}"
    assert chromium.text("#federation") == "ProConnect"
    assert cell(chromium, "sesame-variables", "SESAME_SIRET") == "13002526500013"
    assert cell(chromium, "claims", "usual_name") == ACCENTED_FAMILY

    chromium.click("#logout")
    chromium.wait_for("location.pathname === '/' && document.querySelector('#login-pc')",
                      "the home page after the logout")
    chromium.open(site + "/agents/")
    chromium.wait_for_url(pc, "the ProConnect emulator after the logout")
