"""Blocking work (provider calls) runs in the thread pool: nginx's event loop never waits on it."""

import threading
import time

import pytest


@pytest.fixture(scope="module")
def nginx_site(make_site):
    site = make_site()
    # Longer than the 2 s token delay below, so every login completes.
    site.providers["fc"]["http_timeout"] = "6s"
    return site


def test_event_loop_keeps_serving_while_logins_wait_on_the_provider(new_browser, nginx, emulator):
    # One worker, thread_pool of 4. Five callbacks each wait 2 s on the token endpoint;
    # meanwhile 20 requests to an unprotected location must each be answered at once.
    assert len(nginx.worker_pids()) == 1
    pending = [new_browser() for _ in range(5)]
    callbacks = [b.login(nginx.url("/demarches/"), stop_before_callback=True).callback_url for b in pending]
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
    probe.get(nginx.url("/public/"))  # TLS handshake out of the measurement
    timings = []
    for _ in range(20):
        resp = probe.get(nginx.url("/public/"))
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


def test_protected_requests_with_a_session_are_not_delayed_by_pending_logins(new_browser, nginx, emulator):
    from e2e_rig.checks import php_server

    user = new_browser()
    php_server(user.login(nginx.url("/demarches/")).final)
    waiting = new_browser()
    callback = waiting.login(nginx.url("/demarches/"), stop_before_callback=True).callback_url
    emulator.control(token_delay=2)
    thread = threading.Thread(target=lambda: waiting.get(callback, timeout=30))
    thread.start()
    time.sleep(0.3)
    resp = user.get(nginx.url("/demarches/again"))
    thread.join(30)
    assert php_server(resp)
    assert resp.elapsed_s < 0.5, resp.elapsed_s
