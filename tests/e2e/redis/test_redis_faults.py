"""Redis faults with a real redis-server started for this module: restarted (requests resume,
sessions kept by the append-only file survive), down (503 within the timeout, unprotected pages
unaffected, nothing crashes), hung (503 within the timeout)."""

import time

import pytest

from e2e_rig.checks import assert_page, assert_redirects_to_provider, php_server
from e2e_rig.redis_topologies import RedisNode

pytestmark = pytest.mark.only("nginx", reason="the core's Redis client; one server is enough")


@pytest.fixture(scope="module")
def aof_redis(module_tmp):
    # appendfsync always: every session write is on disk before Redis answers.
    node = RedisNode(module_tmp / "redis-aof", args=["--appendonly", "yes", "--appendfsync", "always"])
    yield node
    node.stop()


@pytest.fixture(scope="module")
def site(make_site, aof_redis):
    site = make_site()
    site.http["redis"] = f"redis://127.0.0.1:{aof_redis.port}/0"
    site.http["session_cache"] = "0"  # every protected request reads Redis
    return site


def test_redis_restarted_requests_resume_and_sessions_survive(browser, server, aof_redis):
    php_server(browser.login(server.url("/demarches/")).final)
    pids = server.worker_pids()
    aof_redis.stop()
    aof_redis.start()
    # Same nginx workers (no reload), same cookie: the pooled connection was dead, a new one is
    # opened and the session read back from the append-only file.
    php_vars = php_server(browser.get(server.url("/demarches/")))
    assert php_vars["SESAME_CLAIM_FAMILY_NAME"] == "DUBOIS"
    assert server.worker_pids() == pids


def test_redis_down_protected_503_within_timeout_unprotected_unaffected(browser, server, aof_redis, emulator):
    php_server(browser.login(server.url("/demarches/")).final)
    aof_redis.kill()
    try:
        for _ in range(3):
            t0 = time.monotonic()
            resp = browser.get(server.url("/demarches/"))
            elapsed = time.monotonic() - t0
            assert_page(resp, (503,))
            assert elapsed < 1.5, f"redis_timeout is 500ms, the 503 took {elapsed:.2f}s"
            assert browser.get(server.url("/public/")).status_code == 200
            assert browser.get(server.url("/app-public/")).status_code == 200
        assert server.alive()
        assert "panic" not in server.log_tail(20000)
    finally:
        aof_redis.start()
    php_server(browser.get(server.url("/demarches/")))


def test_redis_hung_answers_503_within_the_timeout(browser, server, aof_redis):
    php_server(browser.login(server.url("/demarches/")).final)
    aof_redis.pause()  # accepts connections (kernel backlog) but never answers
    try:
        t0 = time.monotonic()
        resp = browser.get(server.url("/demarches/"))
        elapsed = time.monotonic() - t0
        assert_page(resp, (503,))
        assert elapsed < 2.5, f"redis_timeout is 500ms, the 503 took {elapsed:.2f}s"
        assert browser.get(server.url("/public/")).status_code == 200
    finally:
        aof_redis.resume()
    php_server(browser.get(server.url("/demarches/")))
