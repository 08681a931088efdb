"""Redis faults with a real redis-server started for this module: restarted (requests resume,
sessions kept by the append-only file survive), down (503 within the timeout, unprotected pages
unaffected, nothing crashes), hung (503 within the timeout)."""

import time

import pytest

from e2e_rig.checks import assert_page, assert_redirects_to_provider, php_server
from e2e_rig.redis_topologies import RedisNode


@pytest.fixture(scope="module")
def aof_redis(module_tmp):
    # appendfsync always: every session write is on disk before Redis answers.
    node = RedisNode(module_tmp / "redis-aof", args=["--appendonly", "yes", "--appendfsync", "always"])
    yield node
    node.stop()


@pytest.fixture(scope="module")
def nginx_site(make_site, aof_redis):
    site = make_site()
    site.http["redis"] = f"redis://127.0.0.1:{aof_redis.port}/0"
    site.http["session_cache"] = "0"  # every protected request reads Redis
    return site


def test_redis_restarted_requests_resume_and_sessions_survive(browser, nginx, aof_redis):
    php_server(browser.login(nginx.url("/demarches/")).final)
    pids = nginx.worker_pids()
    aof_redis.stop()
    aof_redis.start()
    # Same nginx workers (no reload), same cookie: the pooled connection was dead, a new one is
    # opened and the session read back from the append-only file.
    server = php_server(browser.get(nginx.url("/demarches/")))
    assert server["SESAME_CLAIM_FAMILY_NAME"] == "DUBOIS"
    assert nginx.worker_pids() == pids


def test_redis_down_protected_503_within_timeout_unprotected_unaffected(browser, nginx, aof_redis, emulator):
    php_server(browser.login(nginx.url("/demarches/")).final)
    aof_redis.kill()
    try:
        for _ in range(3):
            t0 = time.monotonic()
            resp = browser.get(nginx.url("/demarches/"))
            elapsed = time.monotonic() - t0
            assert_page(resp, (503,))
            assert elapsed < 1.5, f"redis_timeout is 500ms, the 503 took {elapsed:.2f}s"
            assert browser.get(nginx.url("/public/")).status_code == 200
            assert browser.get(nginx.url("/app-public/")).status_code == 200
        assert nginx.alive()
        assert "panic" not in nginx.log_tail(20000)
    finally:
        aof_redis.start()
    php_server(browser.get(nginx.url("/demarches/")))


def test_redis_hung_answers_503_within_the_timeout(browser, nginx, aof_redis):
    php_server(browser.login(nginx.url("/demarches/")).final)
    aof_redis.pause()  # accepts connections (kernel backlog) but never answers
    try:
        t0 = time.monotonic()
        resp = browser.get(nginx.url("/demarches/"))
        elapsed = time.monotonic() - t0
        assert_page(resp, (503,))
        assert elapsed < 2.5, f"redis_timeout is 500ms, the 503 took {elapsed:.2f}s"
        assert browser.get(nginx.url("/public/")).status_code == 200
    finally:
        aof_redis.resume()
    php_server(browser.get(nginx.url("/demarches/")))
