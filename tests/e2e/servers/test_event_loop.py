"""Blocking work (provider calls) runs in the thread pool: nginx's event loop never waits on it."""

import threading
import time

import pytest

pytestmark = pytest.mark.only("nginx", reason="nginx's one event loop and its thread pools; Apache serves each request on a thread of its own")


@pytest.fixture(scope="module")
def site(make_site):
    site = make_site()
    # Longer than the 2 s token delay below, so every login completes.
    site.providers["fc"]["http_timeout"] = "6s"
    return site


def test_event_loop_keeps_serving_while_logins_wait_on_the_provider(new_browser, server, emulator):
    # One worker, thread_pool of 4. Five callbacks each wait 2 s on the token endpoint;
    # meanwhile 20 requests to an unprotected location must each be answered at once.
    assert len(server.worker_pids()) == 1
    pending = [new_browser() for _ in range(5)]
    callbacks = [b.login(server.url("/demarches/"), stop_before_callback=True).callback_url for b in pending]
    emulator.control(token_delay=2)
    results = [None] * 5

    def finish(i):
        results[i] = pending[i].get(callbacks[i], timeout=30)

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(5)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(0.3)  # the callbacks are now waiting on the provider
    probe = new_browser()
    probe.get(server.url("/public/"))  # TLS handshake out of the measurement
    timings = []
    for _ in range(20):
        resp = probe.get(server.url("/public/"))
        assert resp.status_code == 200
        timings.append(resp.elapsed_s)
    probing_done = time.monotonic() - t0
    for t in threads:
        t.join(30)
    print(f"unprotected answers while 5 logins wait 2 s on the token endpoint: "
          f"max {max(timings) * 1000:.1f} ms, median {sorted(timings)[len(timings) // 2] * 1000:.1f} ms")
    assert max(timings) < 0.1, f"slowest unprotected answer {max(timings):.3f}s: event loop blocked"
    assert probing_done < 1.9, f"probes done after {probing_done:.2f}s: they waited for the logins"
    statuses = [getattr(r, "status_code", None) for r in results]
    assert statuses == [303] * 5, statuses
    assert time.monotonic() - t0 >= 2, "the token delay was not in effect"


def test_protected_requests_with_a_session_are_not_delayed_by_pending_logins(new_browser, server, emulator):
    from e2e_rig.checks import php_server

    user = new_browser()
    php_server(user.login(server.url("/demarches/")).final)
    waiting = new_browser()
    callback = waiting.login(server.url("/demarches/"), stop_before_callback=True).callback_url
    emulator.control(token_delay=2)
    thread = threading.Thread(target=lambda: waiting.get(callback, timeout=30))
    thread.start()
    time.sleep(0.3)
    resp = user.get(server.url("/demarches/again"))
    thread.join(30)
    assert php_server(resp)
    assert resp.elapsed_s < 0.5, resp.elapsed_s


@pytest.mark.parametrize("layout", ["shared_pool_with_provider_cap", "own_provider_pool"])
def test_logged_in_users_reading_redis_are_answered_while_logins_wait_on_the_token_endpoint(
        layout, make_site, start_server, new_browser, emulator):
    # Six logins wait 2 s on the token endpoint; the default pool has 4 threads. Logged-in users
    # with session_cache 0 need a Redis read (a job) per request: it must not queue behind them.
    from e2e_rig.checks import php_server

    site = make_site()
    site.http["session_cache"] = "0"
    site.providers["fc"]["http_timeout"] = "8s"
    if layout == "shared_pool_with_provider_cap":
        site.http["provider_concurrency"] = "2"  # below the pool's 4 threads
    else:
        site.extra_main = "thread_pool sesame_provider threads=4;"
        site.http["provider_thread_pool"] = "sesame_provider"
    server = start_server(site)

    def browser_on_site():
        b = new_browser()
        b.site_base = server.base
        return b

    users = [browser_on_site() for _ in range(3)]
    for u in users:
        php_server(u.login(server.url("/demarches/")).final)
    pending = [browser_on_site() for _ in range(6)]
    callbacks = [b.login(server.url("/demarches/"), stop_before_callback=True).callback_url for b in pending]
    emulator.control(token_delay=2)
    results = [None] * len(pending)

    def finish(i):
        results[i] = pending[i].get(callbacks[i], timeout=30)

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(len(pending))]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(0.4)  # the logins are now waiting on the token endpoint
    timings = []
    for round_ in range(3):
        for u in users:
            resp = u.get(server.url(f"/demarches/page{round_}"))
            assert php_server(resp)
            timings.append(resp.elapsed_s)
    browsing_done = time.monotonic() - t0
    for t in threads:
        t.join(30)
    print(f"{layout}: logged-in answers (Redis read each) while 6 logins wait 2 s: "
          f"max {max(timings) * 1000:.1f} ms")
    assert browsing_done < 1.9, f"logged-in users done after {browsing_done:.2f}s: they queued behind the logins"
    assert max(timings) < 1.0, timings
    statuses = sorted(getattr(r, "status_code", None) for r in results)
    if layout == "shared_pool_with_provider_cap":
        # Two logins in flight, the other four told at once that the provider is busy.
        assert statuses == [303] * 2 + [503] * 4, statuses
        busy = [r for r in results if r.status_code == 503]
        assert all(r.elapsed_s < 1.0 for r in busy), [r.elapsed_s for r in busy]
    else:
        assert statuses == [303] * 6, statuses
