"""Instant revocation: `sesame sessions kill` and a logout take effect in every worker of the server
within one second, whatever `sesame_session_cache` says (300 s here), on nginx with 4 workers and
on Apache with 4 children (event and prefork).

Each test logs in, warms the session cache of every worker (new connections until each worker's
PID has served the session, then a round that costs Redis no GET: served from the caches), ends
the session, and polls from new connections every 20 ms, spread over the workers, until every
worker has refused it; it prints how long after the kill (or logout) the last request was still
served, and asserts that no request sent more than 1 s after it was. The adversarial cases:
Redis restarted (cache bypassed meanwhile; a kill right after the restart, before the feeds are
back, takes effect), forged messages on the channel (nothing happens but a log line), and a Redis
user without the channel permission (the logout still succeeds, the log says what to grant).

Reproduce the figures: python3 -m pytest -s tests/e2e/revocation/test_instant_revocation.py
"""

import re
import time
import uuid

import pytest
import requests

from e2e_rig.browser import NAVIGATION, Browser
from e2e_rig.checks import php_server
from e2e_rig.nginx import STANDARD_LOCATIONS as NGINX_LOCATIONS
from e2e_rig.procs import wait_until
from e2e_rig.redis_topologies import RedisNode, run_cli

APACHE_VARIANTS = {"event": {}, "prefork": {"mpm": "prefork", "php": "fpm"}}

WORKERS = 4
CACHE = "5m"  # far longer than the one second the revocation must take
POLL_EVERY = 0.02
BOUND = 1.0  # seconds: the bound, from the end of the kill / logout to the last 200
SESSION_COOKIE = "__Host-sesame"

# One access-log line per request, "PID METHOD PATH STATUS": nginx's as Apache's rig writes it.
NGINX_LOG_FORMAT = "    log_format revocation_pid '$pid $request_method $uri $status';\n"
NGINX_PROTECTED = NGINX_LOCATIONS.replace(
    "            sesame fc;\n", "            sesame fc;\n            access_log logs/pid.log revocation_pid;\n", 1)
APACHE_TUNING = {
    "event": ("StartServers 4\nServerLimit 4\nThreadsPerChild 8\nMaxRequestWorkers 32\n"
              "MinSpareThreads 1\nMaxSpareThreads 32\n"),
    "prefork": "StartServers 4\nMinSpareServers 4\nMaxSpareServers 8\nMaxRequestWorkers 8\n",
}


def several_workers(site, kind):
    """`site` with WORKERS worker processes: nginx `worker_processes 4` with `reuseport` (the
    kernel spreads new connections over the workers), Apache 4 children."""
    render = site.render
    if kind == "nginx":
        site.extra_http = NGINX_LOG_FORMAT + site.extra_http
        site.locations = NGINX_PROTECTED

        def rendered():
            text = render()
            text = text.replace("worker_processes 1;", f"worker_processes {WORKERS};")
            return re.sub(r"listen 127\.0\.0\.1:(\d+) ssl;", r"listen 127.0.0.1:\1 ssl reuseport;", text)
    else:
        from e2e_rig import apache

        def rendered():
            return render().replace(apache.MPM_TUNING[site.mpm], APACHE_TUNING[site.mpm])
    site.render = rendered
    return site


@pytest.fixture(scope="module")
def own_redis(module_tmp):
    # Append-only: a restart keeps the sessions, as a production Redis does.
    node = RedisNode(module_tmp / "redis", args=["--appendonly", "yes"])
    yield node
    node.stop()


@pytest.fixture(scope="module")
def site(make_site, server_kind, own_redis):
    site = make_site()
    site.http["redis"] = f"redis://127.0.0.1:{own_redis.port}/0"
    site.http["session_cache"] = CACHE
    return several_workers(site, server_kind)


def access_log(site, server_kind):
    return site.prefix / "logs" / ("pid.log" if server_kind == "nginx" else "access.log")


def served(site, server_kind):
    """PATH -> (PID, status) for every protected request logged so far."""
    out = {}
    try:
        text = access_log(site, server_kind).read_text()
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2].startswith("/demarches/"):
            out[parts[2]] = (int(parts[0]), int(parts[3]))
    return out


def fresh_get(pki, server, path, cookie):
    """One request on a new connection (so that it may land on any worker)."""
    return requests.get(
        server.url(path), cookies={SESSION_COOKIE: cookie} if cookie else None,
        headers={**NAVIGATION, "Connection": "close"}, verify=str(pki.ca),
        allow_redirects=False, timeout=10).status_code


def login(pki, server, identity="testfc1"):
    """A logged-in browser, its session cookie, and the user's sub."""
    b = Browser(pki.ca, site_base=server.base)
    php = php_server(b.login(server.url("/demarches/"), identity=identity).final)
    return b, b.cookie(SESSION_COOKIE), php["SESAME_CLAIM_SUB"]


def redis_gets(*nodes):
    """GET commands these Redis servers have run so far."""
    total = 0
    for node in nodes:
        m = re.search(r"cmdstat_get:calls=(\d+)", node.command("INFO", "commandstats"))
        total += int(m.group(1)) if m else 0
    return total


def warm(pki, server, site, server_kind, redis_nodes, cookie):
    """Until every worker process has served the session (so each has it cached; Apache's
    prefork may start spare children that get no connection: at least WORKERS of them), then one
    more round of requests that Redis sees no GET for: they came from the caches. Returns the
    PIDs that cached the session."""
    tag = uuid.uuid4().hex[:8]
    seen = set()
    for i in range(400):
        assert fresh_get(pki, server, f"/demarches/warm-{tag}-{i}", cookie) == 200
        if i % 8 == 7:
            time.sleep(0.05)  # the last lines reach the log
            seen = {pid for path, (pid, status) in served(site, server_kind).items()
                    if tag in path and status == 200}
            if set(server.worker_pids()) <= seen:
                break
    assert len(seen) >= WORKERS, f"only workers {sorted(seen)} served the session"
    if server_kind == "nginx":
        assert set(server.worker_pids()) <= seen, (server.worker_pids(), seen)
    before = redis_gets(*redis_nodes)
    rounds = 4 * WORKERS
    for i in range(rounds):
        assert fresh_get(pki, server, f"/demarches/cached-{tag}-{i}", cookie) == 200
    reads = redis_gets(*redis_nodes) - before
    print(f"\n[{server_kind}] warm: {len(seen)} workers served the session; then {rounds} requests "
          f"cost Redis {reads} GET(s)")
    # A loaded machine may delay a feed's heartbeat past its trust window (then that request reads
    # Redis, correctly): most of the round still comes from the caches.
    assert reads < rounds, "the session cache served nothing: the test would prove nothing"
    return seen


def poll_until_refused_everywhere(pki, server, site, server_kind, cookie, ended_at, what, warmed):
    """Polls from new connections every POLL_EVERY until every worker that cached the session
    (`warmed`, those still running) has refused it and the bound has passed; returns the delay
    after `ended_at` of the last request served."""
    tag = uuid.uuid4().hex[:8]
    sent = {}
    i = 0
    deadline = ended_at + 15
    while True:
        path = f"/demarches/poll-{tag}-{i}"
        sent[path] = time.monotonic()
        status = fresh_get(pki, server, path, cookie)
        assert status in (200, 302, 303, 401), status
        i += 1
        now = time.monotonic()
        if now - ended_at > BOUND + 0.5 and i % 10 == 0:
            time.sleep(0.05)
            log = served(site, server_kind)
            refused_by = {pid for p, (pid, st) in log.items() if tag in p and st != 200}
            if warmed & set(server.worker_pids()) <= refused_by:
                break
        assert now < deadline, "some worker never refused the ended session"
        time.sleep(POLL_EVERY)
    time.sleep(0.05)
    log = served(site, server_kind)
    mine = {p: v for p, v in log.items() if tag in p}
    served_late = [sent[p] - ended_at for p, (_, st) in mine.items() if st == 200 and p in sent]
    last = max(served_late, default=0.0)
    refused = [sent[p] - ended_at for p, (_, st) in mine.items() if st != 200 and p in sent]
    first_refusal = min(refused, default=float("nan"))
    late = f"the last request served was sent {last * 1000:.0f} ms after it" if served_late else \
        "no request sent after it was served"
    print(f"[{server_kind}] {what}: {len(mine)} polls over {len({pid for pid, _ in mine.values()})} "
          f"workers; {late}; first refusal at {first_refusal * 1000:.0f} ms")
    assert last <= BOUND, f"a worker still served the session {last:.3f} s after the {what}"
    return last


def kill_args(site, own_redis):
    return ["--redis", f"redis://127.0.0.1:{own_redis.port}/0",
            "--secret-file", str(site.prefix / "conf" / "sesame.secret")]


def test_sessions_kill_reaches_every_worker_within_a_second(pki, server, site, server_kind, own_redis):
    _, cookie, sub = login(pki, server)
    _, bystander, _ = login(pki, server, identity="elodie")
    warmed = warm(pki, server, site, server_kind, [own_redis], cookie)
    rc, out, err = run_cli("sessions", "kill", *kill_args(site, own_redis), "--sub", sub)
    killed_at = time.monotonic()
    assert rc == 0, err
    poll_until_refused_everywhere(pki, server, site, server_kind, cookie, killed_at, "kill", warmed)
    assert "drops them at once" in err, err
    assert fresh_get(pki, server, "/demarches/bystander", bystander) == 200, "only that user's sessions end"
    # The feeds' heartbeats on a loaded machine: each lost one made a worker resubscribe.
    lost = server.log_since(0).count("revocation feed: no subscription")
    print(f"[{server_kind}] feeds resubscribed {lost} time(s) since the server started")


def test_a_logout_in_one_worker_reaches_every_other_worker_within_a_second(pki, server, site, server_kind, own_redis):
    browser, cookie, _ = login(pki, server)
    warmed = warm(pki, server, site, server_kind, [own_redis], cookie)
    resp = browser.get(server.url("/logout"), allow_redirects=False)
    logged_out_at = time.monotonic()
    assert resp.status_code in (302, 303), resp.status_code
    poll_until_refused_everywhere(pki, server, site, server_kind, cookie, logged_out_at, "logout", warmed)


def test_a_kill_while_redis_restarts_takes_effect_and_the_cache_is_bypassed_meanwhile(
        pki, server, site, server_kind, own_redis):
    _, cookie, sub = login(pki, server)
    warmed = warm(pki, server, site, server_kind, [own_redis], cookie)
    offset = server.log_size()
    own_redis.stop()  # SIGTERM: the append-only file keeps the sessions
    try:
        time.sleep(BOUND + 0.2)
        # Not one request served from a cache the feed no longer vouches for: Redis is needed.
        statuses = [fresh_get(pki, server, f"/demarches/down-{i}", cookie) for i in range(2 * WORKERS)]
        assert 200 not in statuses, statuses
    finally:
        own_redis.start()
    # At once, before the feeds' backoff brought them back: the kill must still take effect.
    rc, out, err = run_cli("sessions", "kill", *kill_args(site, own_redis), "--sub", sub)
    killed_at = time.monotonic()
    assert rc == 0, err
    poll_until_refused_everywhere(pki, server, site, server_kind, cookie, killed_at, "kill after a Redis restart",
                                  warmed)
    wait_until(lambda: server.log_since(offset).count("revocation feed subscribed again") >= WORKERS, 15,
               "every worker's feed subscribed again")
    assert "until it is back, the session cache is bypassed" in server.log_since(offset)
    # Back in use: a new login is served from the caches again.
    _, again, _ = login(pki, server)
    warm(pki, server, site, server_kind, [own_redis], again)


def test_forged_messages_on_the_channel_do_nothing_but_a_log_line(pki, server, site, server_kind, own_redis):
    own_redis.command("FLUSHALL")  # the keys left by the other servers of this module use other namespaces
    _, cookie, _ = login(pki, server)
    warm(pki, server, site, server_kind, [own_redis], cookie)
    namespace = own_redis.keys("sesame:*:s:*")[0].split(":s:", 1)[0] + ":"
    channel = namespace + "revoked"
    offset = server.log_size()
    for message in ["not a digest", "\x1b[2J" + "a" * 60, "0" * 64, "f" * 64]:
        own_redis.command("PUBLISH", channel, message)
    # A digest of a live session that was not ended: it leaves the caches, and is read again.
    live = [k.rsplit(":", 1)[1] for k in own_redis.keys(namespace + "s:*")]
    for digest in live:
        own_redis.command("PUBLISH", channel, digest)
    time.sleep(0.3)
    for i in range(2 * WORKERS):
        assert fresh_get(pki, server, f"/demarches/forged-{i}", cookie) == 200
    assert server.alive()
    log = server.log_since(offset)
    assert "is not a session digest" in log, log[-2000:]
    assert "\x1b" not in log


def test_without_the_channel_permission_the_logout_succeeds_and_the_log_says_what_to_grant(
        pki, make_site, start_server, server_kind, module_tmp):
    node = RedisNode(module_tmp / "redis-acl")
    try:
        # The least-privilege user of an older README: every command Sesame uses, no channel.
        node.command("ACL", "SETUSER", "sesame", "on", ">acl-pw-123", "resetkeys", "~sesame:*",
                     "resetchannels", "-@all", "+get", "+set", "+del", "+ping", "+scan", "+ttl",
                     "+select", "+publish", "+subscribe")
        site = make_site()
        site.http["redis"] = f"redis://sesame:acl-pw-123@127.0.0.1:{node.port}/0"
        site.http["session_cache"] = CACHE
        server = start_server(several_workers(site, server_kind))
        wait_until(lambda: "no subscription to" in server.log_since(0), 15, "the feed's refusal in the log")
        browser, cookie, _ = login(pki, server)
        assert fresh_get(pki, server, "/demarches/acl", cookie) == 200, "served, from Redis"
        offset = server.log_size()
        resp = browser.get(server.url("/logout"), allow_redirects=False)
        assert resp.status_code in (302, 303), resp.status_code
        assert fresh_get(pki, server, "/demarches/acl-after", cookie) != 200, "the logout took effect"
        wait_until(lambda: "announcing it on channel" in server.log_since(offset), 10, "the publish refusal")
        log = server.log_since(0)
        assert "the session cache is bypassed" in log and "&sesame:" in log, log[-3000:]
        assert "acl-pw-123" not in log
        assert "NoPerm" in log or "NOPERM" in log, log[-3000:]
    finally:
        node.stop()
