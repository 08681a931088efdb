"""Faults under load, short (a few seconds each), on nginx and Apache: while clients request
protected and unprotected pages and log in, Redis is killed, stopped or cut off, the provider
breaks mid-answer, the server reloads. Nothing crashes, no session Redis kept is lost, errors stay
inside the fault window and end soon after it. `make chaos` runs the long versions with wrk
(bench/chaos.py, docs/robustness.md)."""

import time

import pytest

from e2e_rig import chaos
from e2e_rig.redis_topologies import RedisNode

PROTECTED, UNPROTECTED = "/demarches/", "/public/"


@pytest.fixture(scope="module")
def chaos_redis(module_tmp):
    # Its own Redis (the suite's shared one is not killed), with the append-only file: what it
    # wrote a second before its kill comes back with it.
    node = RedisNode(module_tmp / "redis-chaos", args=["--appendonly", "yes", "--appendfsync", "everysec"])
    yield node
    node.stop()


@pytest.fixture(scope="module")
def site(make_site, chaos_redis):
    site = make_site()
    site.http["redis"] = f"redis://127.0.0.1:{chaos_redis.port}/0"
    site.http["session_cache"] = "1s"  # Redis shows through within a second
    return site


@pytest.fixture(scope="module")
def sessions(server, pki):
    return chaos.seed_by_logins(server, pki.ca, server.url(PROTECTED), 8)


def chaos_fmt(seconds):
    return "-" if seconds is None else f"{seconds:.2f}"


def scenario(server, server_kind, pki, fault, cookies, redis, **kw):
    kw.setdefault("seconds", 7)
    kw.setdefault("fault_at", 1.5)
    kw.setdefault("fault_for", 2)
    out = chaos.run(server, server_kind, fault, ca=pki.ca, protected_url=server.url(PROTECTED),
                    unprotected_url=server.url(UNPROTECTED), login_url=server.url(PROTECTED),
                    cookies=cookies, redis_node=redis, **kw)
    print(f"\n{server_kind}: {fault.name}: {out.protected_5xx} of {out.protected_requests} "
          f"protected requests failed ({chaos_fmt(out.first_5xx_s)}..{chaos_fmt(out.last_5xx_s)} s after the fault "
          f"began), recovery {chaos_fmt(out.recovery_s)} s after its end; logins {out.logins}, failed "
          f"{out.logins_failed_in_window} in the window, {out.logins_failed_outside} outside; "
          f"sessions lost {out.sessions_lost}; workers {out.workers_before} -> {out.workers_after}")
    return out


def assert_held(out, recovery_within=3.0):
    """What every fault must leave: no crash, no session lost, nothing failing outside it."""
    assert out.crashes == [] and out.alive, out.crashes
    assert out.sessions_lost == 0, vars(out)
    assert out.failed_before_fault == 0, vars(out)
    # Never a login redirect (or a 4xx) for a session Redis holds, even during the fault.
    assert out.protected_other == 0, vars(out)
    assert out.logins_failed_outside == 0, out.notes
    assert out.recovery_s is not None and out.recovery_s < recovery_within, vars(out)
    assert out.last_5xx_s is None or out.last_5xx_s < out.fault_window_s + recovery_within, vars(out)


def test_redis_killed_under_load_then_restarted(server, server_kind, pki, sessions, chaos_redis):
    time.sleep(1.2)  # the seeding logins are in the append-only file
    out = scenario(server, server_kind, pki, chaos.RedisKilled(chaos_redis), sessions, chaos_redis)
    assert out.protected_5xx > 0, "the fault did not show: the test tests nothing"
    assert out.sessions_redis_lost == 0
    assert out.unprotected_failed == 0
    assert out.logins_failed_in_window >= 0
    assert_held(out)


def test_redis_stopped_under_load_then_resumed(server, server_kind, pki, sessions, chaos_redis):
    out = scenario(server, server_kind, pki, chaos.RedisStopped(chaos_redis), sessions, chaos_redis)
    assert out.protected_5xx > 0
    assert out.unprotected_failed == 0
    assert_held(out)


def test_network_to_redis_cut_under_load(server, server_kind, pki, sessions, chaos_redis):
    why = chaos.iptables_usable()
    if why:
        pytest.skip(why)
    out = scenario(server, server_kind, pki, chaos.RedisCut(chaos_redis.port), sessions, chaos_redis)
    assert out.protected_5xx > 0
    assert out.unprotected_failed == 0
    assert_held(out)


@pytest.mark.parametrize("kind", ["close_mid_response", "garbage", "error_500"])
def test_provider_broken_under_load_fails_only_logins(server, server_kind, pki, sessions,
                                                      chaos_redis, emulator, kind):
    fault = chaos.ProviderFault(emulator, kind, faults={"token": kind})
    out = scenario(server, server_kind, pki, fault, sessions, chaos_redis)
    # Logged-in users never notice; logins fail while the provider is broken, then work again.
    assert out.protected_5xx == 0, vars(out)
    assert out.logins_failed_in_window > 0, vars(out)
    assert out.logins - out.logins_failed_in_window > 0, "no login worked after the fault"
    assert_held(out)


def test_reloads_under_load_drop_nothing(server, server_kind, pki, sessions, chaos_redis):
    command = (chaos.nginx_reload_command(server) if server_kind == "nginx"
               else chaos.apache_graceful_command(server))
    fault = chaos.Reloads(server, command, every=1.0)
    out = scenario(server, server_kind, pki, fault, sessions, chaos_redis, fault_for=3)
    assert fault.failures == [] and fault.count >= 3
    assert out.protected_5xx == 0, vars(out)
    assert out.unprotected_failed == 0, vars(out)
    # A login may meet a keep-alive connection an exiting worker or child closes as the request
    # goes out (a browser sends it again); never an answer of Sesame's saying it failed.
    answered = [why for why in out.login_failures_in_window if "Connection aborted" not in why]
    assert answered == [], out.login_failures_in_window
    assert_held(out)
