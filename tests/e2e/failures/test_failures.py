"""Redis or the provider failing: bounded errors, the rest of the site unaffected, recovery alone
(on nginx and on Apache with one child)."""

import time

import pytest

from e2e_rig.checks import assert_page, assert_redirects_to_provider, assert_reference_logged, php_server

# Apache with one child, as nginx's one worker: these tests count on provider metadata fetched by
# an earlier request being cached for the next (test_apache_mpm covers several children).
APACHE_VARIANTS = {"one-child": {"single_process": True}}


@pytest.fixture(scope="module")
def site(make_site):
    site = make_site()
    # No per-process session cache: every protected request reads Redis, so its failure shows.
    site.http["session_cache"] = "0"
    site.http["session_idle_timeout"] = "2m"
    site.http["session_lifetime"] = "3m"
    return site


def test_redis_down_gives_503_within_timeout_and_unprotected_still_200(browser, server, redis, emulator):
    php_server(browser.login(server.url("/demarches/")).final)
    redis.stop()
    try:
        offset = server.log_size()
        t0 = time.monotonic()
        resp = browser.get(server.url("/demarches/"))
        elapsed = time.monotonic() - t0
        assert_page(resp, (503,))
        assert_reference_logged(resp, server, offset)
        assert elapsed < 1.5, f"redis_timeout is 500ms, the 503 took {elapsed:.2f}s"
        public = browser.get(server.url("/public/"))
        assert public.status_code == 200
        assert server.alive()
    finally:
        redis.start()
    # Same port, no reload: the module reconnects. Redis restarted empty, so a new login is needed.
    assert_redirects_to_provider(browser.get(server.url("/demarches/")), emulator)
    php_vars = php_server(browser.login(server.url("/demarches/"), identity="elodie").final)
    assert php_vars["SESAME_CLAIM_GIVEN_NAME"] == "Élodie"


def test_callback_with_redis_down_fails_cleanly(browser, server, redis, emulator):
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    redis.stop()
    try:
        t0 = time.monotonic()
        resp = browser.get(login.callback_url)
        assert time.monotonic() - t0 < 3
        assert_page(resp, (503,))
    finally:
        redis.start()


def test_session_removed_from_redis_means_login_again(browser, server, redis, emulator):
    php_server(browser.login(server.url("/demarches/")).final)
    keys = redis.keys("sesame:*")
    assert keys
    redis.command("DEL", *keys)
    assert_redirects_to_provider(browser.get(server.url("/demarches/")), emulator)


def test_provider_down_at_callback_gives_error_page_within_http_timeout(browser, server, emulator):
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    emulator.control(down=True)
    offset = server.log_size()
    t0 = time.monotonic()
    resp = browser.get(login.callback_url)
    elapsed = time.monotonic() - t0
    assert_page(resp, range(500, 600))
    assert elapsed < 3, elapsed
    assert_reference_logged(resp, server, offset)
    assert browser.get(server.url("/public/")).status_code == 200


def test_provider_slow_at_token_gives_error_page_within_http_timeout(browser, server, emulator):
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    emulator.control(token_delay=6)
    t0 = time.monotonic()
    resp = browser.get(login.callback_url)
    elapsed = time.monotonic() - t0
    assert_page(resp, range(500, 600))
    assert 1.5 < elapsed < 4, f"http_timeout is 2s, the error came after {elapsed:.2f}s"


def test_login_works_again_once_the_provider_is_back(new_browser, server, emulator):
    emulator.control(down=True)
    first = new_browser()
    authorize = first.start(server.url("/demarches/"))
    assert first.get(authorize).status_code == 503
    emulator.control(down=False)
    php_vars = php_server(new_browser().login(server.url("/demarches/"), identity="testfc1").final)
    assert php_vars["SESAME_CLAIM_FAMILY_NAME"] == "DUBOIS"


def test_provider_down_before_discovery_gives_error_page_then_a_few_seconds_without_asking_it(make_site, start_server, new_browser, emulator):
    fresh = start_server(make_site())  # nothing cached yet: the first request must fetch discovery
    browser = new_browser()
    browser.site_base = fresh.base
    emulator.control(down=True)
    t0 = time.monotonic()
    resp = browser.get(fresh.url("/demarches/"))
    elapsed = time.monotonic() - t0
    assert_page(resp, range(500, 600))
    assert elapsed < 3, elapsed
    failed_at = time.monotonic()
    emulator.control(down=False)
    # The failure is remembered a few seconds: answered at once, the provider not asked again.
    discovery = "/.well-known/openid-configuration"
    asked = len(emulator.requests_to(discovery))
    t0 = time.monotonic()
    assert_page(browser.get(fresh.url("/demarches/")), (503,))
    assert time.monotonic() - t0 < 0.5
    assert len(emulator.requests_to(discovery)) == asked
    # Then the next request tries again, and logins work without a reload.
    while True:
        resp = browser.get(fresh.url("/demarches/"))
        if resp.status_code != 503 or time.monotonic() - failed_at > 8:
            break
        time.sleep(0.5)
    assert_redirects_to_provider(resp, emulator)
    assert time.monotonic() - failed_at > 4, "the failure was not remembered"
    fresh.stop()


def test_session_in_redis_expires_after_the_idle_timeout(browser, server, redis):
    redis.command("FLUSHALL")
    php_server(browser.login(server.url("/demarches/")).final)
    sessions = [k for k in redis.keys("sesame:*") if ":s:" in k]
    assert len(sessions) == 1, redis.keys("*")
    ttl = int(redis.command("TTL", sessions[0]))
    assert 100 < ttl <= 120, f"session TTL {ttl}s, idle timeout is 2m"


def test_logins_beyond_the_provider_concurrency_get_a_busy_page_at_once_and_can_retry(make_site, start_server, new_browser, emulator):
    import threading

    site = make_site()
    site.http["provider_concurrency"] = "1"
    site.providers["fc"]["http_timeout"] = "6s"
    fresh = start_server(site)
    first, second = new_browser(), new_browser()
    for b in (first, second):
        b.site_base = fresh.base
    callbacks = [b.login(fresh.url("/demarches/"), stop_before_callback=True).callback_url for b in (first, second)]
    tokens_before = len(emulator.requests_to("/token"))
    emulator.control(token_delay=2)
    held = {}
    thread = threading.Thread(target=lambda: held.update(resp=first.get(callbacks[0], timeout=30)))
    thread.start()
    time.sleep(0.5)  # the first login now holds the only provider slot, waiting at the token endpoint
    busy = second.get(callbacks[1])
    assert_page(busy, (503,))
    assert busy.elapsed_s < 1.0, busy.elapsed_s
    assert busy.headers.get("Retry-After") == "5"
    thread.join(30)
    assert held["resp"].status_code == 303
    assert len(emulator.requests_to("/token")) == tokens_before + 1, "the refused login reached the provider"
    # The refused login kept its state: the same callback, retried, logs in.
    emulator.control(token_delay=0)
    php_server(second.follow(second.get(callbacks[1])))
    fresh.stop()
