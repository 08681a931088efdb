"""Session lifetimes in Redis (coalesced refresh writes, a TTL on every key), isolation of two
sites with different secrets on one Redis, and the size of a FranceConnect session."""

import time

import pytest

from e2e_rig.browser import Browser
from e2e_rig.checks import assert_redirects_to_provider, php_server
from e2e_rig.redis_topologies import RedisNode

pytestmark = pytest.mark.only("nginx", reason="the core's Redis store; one server is enough")

SESSION_SIZE_GOAL = 2048


@pytest.fixture(scope="module")
def own_redis(module_tmp):
    node = RedisNode(module_tmp / "redis")
    yield node
    node.stop()


@pytest.fixture(scope="module")
def site(make_site, own_redis):
    site = make_site()
    site.http["redis"] = f"redis://127.0.0.1:{own_redis.port}/0"
    site.http["session_cache"] = "0"  # every protected request reads the session from Redis
    return site


def session_keys(node):
    return [k for k in node.keys("sesame:*") if ":s:" in k]


def test_defaults_follow_the_federations_idle_30m_ttl(browser, server, own_redis):
    own_redis.command("FLUSHALL")
    php_server(browser.login(server.url("/demarches/")).final)
    [key] = session_keys(own_redis)
    ttl = int(own_redis.command("TTL", key))
    # Default idle timeout 30 min (FranceConnect's sliding SSO session), absolute 12 h
    # (ProConnect's session): the key lives until the sooner, the idle deadline.
    assert 1790 <= ttl <= 1800, ttl


def test_at_most_one_refresh_write_per_session_per_minute(browser, server, own_redis):
    php_server(browser.login(server.url("/demarches/")).final)
    sets_before = own_redis.calls("set")
    gets_before = own_redis.calls("get")
    t0 = time.monotonic()
    requests = 0
    while time.monotonic() - t0 < 3:
        php_server(browser.get(server.url(f"/demarches/{requests}")))
        requests += 1
    assert own_redis.calls("get") - gets_before >= requests, "each request read Redis"
    # The session was written at login; activity within the same minute writes nothing.
    assert own_redis.calls("set") == sets_before, f"{requests} requests wrote the session again"


def test_every_key_has_a_ttl(browser, server, own_redis, emulator):
    php_server(browser.login(server.url("/demarches/")).final)
    other = Browser(server.site.env.pki.ca, site_base=server.base)
    php_server(other.login(server.url("/demarches/")).final)
    browser.get(server.url("/logout"))  # a logout too: every kind of key Sesame writes
    keys = own_redis.keys("*")
    assert keys
    for key in keys:
        ttl = int(own_redis.command("TTL", key))
        assert ttl > 0, f"{key} has no TTL ({ttl})"


def test_typical_franceconnect_session_size_is_at_most_2_kib(browser, server, own_redis):
    own_redis.command("FLUSHALL")
    php_server(browser.login(server.url("/demarches/"), identity="testfc1").final)
    [key] = session_keys(own_redis)
    size = int(own_redis.command("STRLEN", key))
    print(f"\nFranceConnect session (testfc1) in Redis: STRLEN {key} = {size} bytes")
    assert size <= SESSION_SIZE_GOAL, size


def test_two_sites_with_different_secrets_on_one_redis_cannot_use_each_others_sessions(
        make_site, start_server, pki, own_redis, server, emulator):
    # A second site (another nginx, its own secret) on the same Redis.
    other_site = make_site()
    other_site.http["redis"] = f"redis://127.0.0.1:{own_redis.port}/0"
    other_site.http["session_cache"] = "0"
    other = start_server(other_site)
    own_redis.command("FLUSHALL")
    a, b = Browser(pki.ca, site_base=server.base), Browser(pki.ca, site_base=other.base)
    php_server(a.login(server.url("/demarches/")).final)
    [key_a] = session_keys(own_redis)
    php_server(b.login(other.url("/demarches/")).final)
    [key_b] = [k for k in session_keys(own_redis) if k != key_a]
    assert key_a.split(":s:")[0] != key_b.split(":s:")[0], "each secret has its own namespace"

    # 1. A's session cookie presented to B: login required (B cannot authenticate it).
    cookie_a = a.cookie("__Host-sesame")
    assert cookie_a
    thief = Browser(pki.ca, site_base=other.base)
    thief.set_cookie("__Host-sesame", cookie_a)
    assert_redirects_to_provider(thief.get(other.url("/demarches/")), emulator)

    # 2. A's encrypted record copied over B's key: B cannot decrypt it, B's user must log in.
    own_redis.command("COPY", key_a, key_b, "REPLACE")
    assert_redirects_to_provider(b.get(other.url("/demarches/")), emulator)
    # A is unaffected.
    php_server(a.get(server.url("/demarches/")))

