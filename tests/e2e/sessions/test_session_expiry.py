"""Idle timeout and absolute lifetime, with short values (the core allows them from 1 s)."""

import time

import pytest

from e2e_rig.checks import assert_redirects_to_provider, php_server


@pytest.fixture(scope="module")
def site(make_site):
    site = make_site()
    site.http["session_cache"] = "0"  # every request checks the stored session
    site.http["session_idle_timeout"] = "3s"
    site.http["session_lifetime"] = "6s"
    return site


def test_idle_session_expires(browser, server, emulator):
    php_server(browser.login(server.url("/demarches/")).final)
    time.sleep(4.2)
    assert_redirects_to_provider(browser.get(server.url("/demarches/")), emulator)


def test_activity_keeps_the_session_until_its_absolute_lifetime(browser, server, emulator):
    php_server(browser.login(server.url("/demarches/")).final)
    t0 = time.monotonic()
    # Active for longer than the idle timeout: still logged in.
    while time.monotonic() - t0 < 4.5:
        resp = browser.get(server.url("/demarches/"))
        assert resp.status_code == 200, f"logged out after {time.monotonic() - t0:.1f}s of activity"
        time.sleep(0.4)
    # Still active, but past the 6 s absolute lifetime: login needed.
    while time.monotonic() - t0 < 7.3:
        browser.get(server.url("/demarches/"))
        time.sleep(0.4)
    assert_redirects_to_provider(browser.get(server.url("/demarches/")), emulator)
