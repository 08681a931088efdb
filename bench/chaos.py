#!/usr/bin/env python3
"""`make chaos`: faults under load, on nginx (2 workers) and Apache httpd (event MPM, 2 children x 64 threads).

For each scenario and server: a fresh server (release module) on its own Redis, N sessions
seeded in the real format (bench/seed_sessions.rs), then `--seconds` of load — wrk on a protected
page (the load spread over every seeded session) and on an unprotected one, two probers timing
each protected request, one on the unprotected page, one client logging in through the emulator
again and again — with the fault on from `--fault-at` for `--fault-for` seconds. The figures
(tests/e2e/e2e_rig/chaos.py measures them): worker crashes, 5xx answers (wrk's count, and when
the probers saw the first and last), recovery time after the fault's end, logins failing inside
and outside the fault window, sessions lost (every seeded session asked again after the run; one
Redis still holds must open the page), worker RSS and fds, Redis memory, before -> after.

Scenarios: Redis killed and restarted (append-only file, fsync every second), SIGSTOP/SIGCONT,
Sentinel failover (1 master, 1 replica, 3 Sentinels; the master killed), the network to Redis cut
(iptables DROP on its loopback port, both ways), the provider's token endpoint hanging (longer
than http_timeout), answering 500, answering garbage, closing mid-answer, and the server reloaded
every 2 s (`nginx -s reload`, `apache2 -k graceful`).

Exit status 1 when a property fails: a crash, a session lost, a 5xx or a failed login outside
the fault window, an unprotected page failing, no recovery.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(BENCH))

from e2e_rig import chaos  # noqa: E402
from e2e_rig.browser import Browser  # noqa: E402
from e2e_rig.nginx import Nginx, NginxSite  # noqa: E402
from e2e_rig.paths import target_dir  # noqa: E402
from e2e_rig.redis_topologies import RedisNode, SentinelSet  # noqa: E402
from e2e_rig.services import EchoApp, Emulator, PhpFpm, Pki  # noqa: E402
from measure import STATIC_BODY, WrkRun  # noqa: E402
from run import machine, release_binaries  # noqa: E402

NGINX_LOCATIONS = """\
        location = /static.html { }
        location /protected/ {
            sesame fc;
            alias html/;
        }
"""
APACHE_LOCATIONS = """\
Alias "/protected/" "{{PREFIX}}/html/"
<Location /protected/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
</Location>
"""
# Two children with more threads than the load has connections: the event MPM closes keep-alive
# connections once every thread is busy (bench/apache_rows.py), which would show as errors of
# the load rather than of the fault.
APACHE_TUNING = ("StartServers 2\nServerLimit 2\nThreadsPerChild 64\nMaxRequestWorkers 128\n"
                 "MinSpareThreads 1\nMaxSpareThreads 128\nMaxKeepAliveRequests 0\n")
PROTECTED, UNPROTECTED = "/protected/static.html", "/static.html"

SEEDERS = 8
SCENARIOS = ("redis-kill", "redis-stop", "sentinel", "redis-cut", "provider-hang",
             "provider-500", "provider-garbage", "provider-close", "reload")


class Rig:
    """Services shared by every scenario (PKI, emulator, php-fpm, echo app) and the builders of
    one scenario's Redis and server."""

    def __init__(self, args, workdir):
        self.args, self.workdir = args, workdir
        self.bins = debug_binaries() if args.debug else release_or_debug_seeder(workdir)
        self.pki = Pki(workdir / "pki")
        self.emulator = Emulator(workdir / "emulator", self.pki)
        self.php = PhpFpm(workdir / "php-fpm")
        self.echo = EchoApp()
        self.started = [self.emulator, self.php, self.echo]
        self.counter = 0
        if args.server in ("apache", "both") and not args.debug:
            import apache_rows
            os.environ["SESAME_APACHE_MODULE"] = str(apache_rows.release_module(
                SimpleNamespace(workdir=workdir)))

    def stop(self):
        for svc in reversed(self.started):
            try:
                svc.stop()
            except Exception as exc:  # keep stopping the others
                print(f"chaos: stopping {svc!r}: {exc}", file=sys.stderr)

    def redis(self, scenario):
        """(node the fault acts on, URL for the server, node to read sessions from, stop)."""
        self.counter += 1
        d = self.workdir / f"redis{self.counter}"
        if scenario == "sentinel":
            topo = SentinelSet(d)
            return topo, topo.url, topo.replica, topo.stop
        # The append-only file, fsync every second: what Redis has written survives its kill.
        persistence = ([] if scenario == "plain"
                       else ["--appendonly", "yes", "--appendfsync", "everysec"])
        node = RedisNode(d, args=persistence)
        return node, f"redis://127.0.0.1:{node.port}/0", node, node.stop

    def server(self, kind, redis_url, session_cache="1s"):
        self.counter += 1
        env = SimpleNamespace(pki=self.pki, redis=SimpleNamespace(url=redis_url),
                              emulator=self.emulator, php=self.php, echo=self.echo)
        if kind == "nginx":
            site = NginxSite(env, self.workdir / f"nginx{self.counter}", locations=NGINX_LOCATIONS)
        else:
            from e2e_rig.apache import ApacheSite
            site = ApacheSite(env, locations=APACHE_LOCATIONS, mpm="event")

        site.files["html/static.html"] = STATIC_BODY
        # Chaos: a short session cache, so that what Redis holds shows through within a second.
        if session_cache is not None:
            site.http["session_cache"] = session_cache
        site.providers["fc"]["http_timeout"] = "2s"
        if kind == "nginx":
            conf = site.render()
            for old, new in (("worker_processes 1;", f"worker_processes {self.args.workers};"),
                             ("thread_pool default threads=4;", "thread_pool default threads=16;"),
                             ("access_log logs/access.log;", "access_log off;"),
                             ("worker_connections 512;", "worker_connections 2048;")):
                if old not in conf:
                    raise RuntimeError(f"the rig's nginx template changed: {old!r} not found")
                conf = conf.replace(old, new)
            site.prepare(conf)
            site.register_clients()
            return site, Nginx(site, site.prefix / "conf" / "nginx.conf")
        from e2e_rig import apache
        conf = site.render()
        if apache.MPM_TUNING["event"] not in conf:
            raise RuntimeError("the Apache rig's MPM settings changed: update bench/chaos.py")
        conf = site.prepare(conf.replace(apache.MPM_TUNING["event"], APACHE_TUNING))
        site.register_clients()
        return site, apache.Apache(site, conf)


def release_or_debug_seeder(workdir):
    """The release nginx and module (required), and the session seeder: its release build, or
    the debug one when only that is built (it only writes sessions before the load)."""
    seeder = target_dir() / "release" / "examples" / "bench_seed_sessions"
    debug = target_dir() / "debug" / "examples" / "bench_seed_sessions"
    if seeder.is_file() or not debug.is_file():
        return release_binaries(workdir)
    module = target_dir() / "release" / "libngx_http_sesame_module.so"
    found = sorted((target_dir() / "release" / "build").glob("nginx-sys-*/out/objs/nginx"),
                   key=os.path.getmtime)
    if not module.is_file() or not found:
        sys.exit("chaos: no release nginx module or nginx: run `make chaos`")
    bindir = workdir / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    bins = SimpleNamespace(nginx=bindir / "nginx", module=bindir / "module.so", seed=bindir / "seed")
    for src, dst in ((found[-1], bins.nginx), (module, bins.module), (debug, bins.seed)):
        shutil.copy2(src, dst)
    os.environ["SESAME_NGINX_BIN"] = str(bins.nginx)
    os.environ["SESAME_NGINX_MODULE"] = str(bins.module)
    return bins


def debug_binaries():
    """--debug: the rig's own (debug) nginx and modules, and the debug session seeder."""
    seeder = target_dir() / "debug" / "examples" / "bench_seed_sessions"
    if not seeder.is_file():
        sys.exit(f"chaos: {seeder} missing: cargo build --example bench_seed_sessions")
    return SimpleNamespace(seed=seeder)


def seed(rig, server, site, redis_url, count):
    """One real login (the template), then `count` copies stored by the core's own code."""
    b = Browser(rig.pki.ca, site_base=server.base)
    login = b.login(server.url(PROTECTED))
    if login.final is None or login.final.status_code != 200:
        raise RuntimeError(f"template login failed: {login.final and login.final.status_code}")
    cookies_file = site.prefix / "cookies.txt"
    # Several seeders at once: each stores one session per Redis round trip, so on a busy
    # machine they wait far more than they compute.
    parts = max(1, min(SEEDERS, count // 1000))
    procs = []
    for i in range(parts):
        share = count // parts + (1 if i < count % parts else 0)
        procs.append(subprocess.Popen(
            [str(rig.bins.seed), redis_url, str(site.prefix / "conf" / "sesame.secret"),
             str(share), f"{cookies_file}.{i}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    for i, proc in enumerate(procs):
        _, err = proc.communicate(timeout=3600)
        if proc.returncode != 0:
            raise RuntimeError(f"{rig.bins.seed} failed: {err.strip()}")
    cookies = []
    for i in range(parts):
        part = Path(f"{cookies_file}.{i}")
        cookies += [line for line in part.read_text().splitlines() if line]
        part.unlink()
    cookies_file.write_text("".join(c + "\n" for c in cookies))
    return cookies_file, cookies


def fault_for(name, rig, server, kind, node):
    e = rig.emulator
    hang = rig.args.fault_for + 5
    return {
        "redis-kill": lambda: chaos.RedisKilled(node),
        "redis-stop": lambda: chaos.RedisStopped(node),
        "sentinel": lambda: chaos.SentinelFailover(node),
        "redis-cut": lambda: chaos.RedisCut(node.port),
        "provider-hang": lambda: chaos.ProviderFault(
            e, f"provider token endpoint hangs ({hang:g} s > http_timeout 2 s)", token_delay=hang),
        "provider-500": lambda: chaos.ProviderFault(e, "provider token endpoint answers 500",
                                                    faults={"token": "error_500"}),
        "provider-garbage": lambda: chaos.ProviderFault(
            e, "provider token endpoint answers garbage", faults={"token": "garbage"}),
        "provider-close": lambda: chaos.ProviderFault(
            e, "provider token endpoint closes mid-answer", faults={"token": "close_mid_response"}),
        "reload": lambda: chaos.Reloads(server, chaos.nginx_reload_command(server)
                                        if kind == "nginx" else chaos.apache_graceful_command(server)),
    }[name]()


def one(rig, kind, scenario):
    args = rig.args
    node, url, store, stop_redis = rig.redis(scenario)
    site = server = None
    try:
        site, server = rig.server(kind, url)
        cookies_file, cookies = seed(rig, server, site, url, args.sessions)
        if scenario == "sentinel":
            # Replication is asynchronous: the replica holds every session before the fault.
            chaos_wait(lambda: len(chaos.session_keys(node.replica)) >= len(cookies), 30,
                       "the replica holding the seeded sessions")
        else:
            time.sleep(1.2)  # past the append-only file's fsync

        def wrk_load(seconds):
            nice = 19 if args.nice else 0
            return [
                ("protected", WrkRun(server.url(PROTECTED), seconds, args.connections, 1,
                                     cookie_file=cookies_file, timeline=True, nice=nice)),
                ("unprotected", WrkRun(server.url(UNPROTECTED), seconds, max(2, args.connections // 2),
                                       1, timeline=True, nice=nice)),
            ]

        fault = fault_for(scenario, rig, server, kind, node)
        outcome = chaos.run(
            server, kind, fault, ca=rig.pki.ca, protected_url=server.url(PROTECTED),
            unprotected_url=server.url(UNPROTECTED), login_url=server.url(PROTECTED),
            cookies=cookies, redis_node=store if scenario != "sentinel" else node.replica,
            seconds=args.seconds, fault_at=args.fault_at, fault_for=args.fault_for,
            wrk_load=None if args.no_wrk else wrk_load)
        outcome.scenario = scenario
        return outcome
    finally:
        if server is not None:
            server.stop()
        stop_redis()


def chaos_wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def wrk_5xx(outcome, label):
    r = outcome.wrk.get(label)
    if not r:
        return None, None, None
    bad = {}
    for (sec, status), n in r["timeline"].items():
        if status >= 500:
            bad[sec] = bad.get(sec, 0) + n
    other = sum(n for (_, status), n in r["timeline"].items() if status != 200 and status < 500)
    total = sum(r["timeline"].values())
    errors = sum(r[k] for k in ("connect", "read", "write", "timeout"))
    span = (max(bad) - min(bad) + 1) if bad else 0
    return sum(bad.values()), total, (errors, span, other)


def failures(o):
    """The properties that must hold, as text (empty when all hold)."""
    out = []
    if o.crashes:
        out.append(f"{len(o.crashes)} crash lines: {o.crashes[0]}")
    if not o.alive:
        out.append("server died")
    if getattr(o, "sessions_lost", 0):
        out.append(f"{o.sessions_lost} sessions lost")
    if getattr(o, "logins_failed_outside", 0):
        out.append(f"{o.logins_failed_outside} logins failed outside the fault window")
    if o.failed_before_fault:
        out.append(f"{o.failed_before_fault} protected requests failed before the fault")
    if o.unprotected_failed and o.scenario != "reload":
        out.append(f"{o.unprotected_failed} unprotected requests failed")
    if o.recovery_s is None:
        out.append("no recovery")
    # A protected page answered with a login redirect (or a 4xx) to a user whose session Redis
    # holds: a session lost for that request, even if the next one works.
    if o.protected_other:
        out.append(f"{o.protected_other} protected requests answered neither 200 nor 5xx")
    other = wrk_5xx(o, "protected")[2]
    if other and other[2]:
        out.append(f"wrk: {other[2]} protected requests answered neither 200 nor 5xx")
    return out


def fmt(v, spec=".1f", none="–"):
    return none if v is None else format(v, spec)


def table(outcomes, started, args):
    lines = [
        f"Sesame chaos, {started}, {machine()}",
        f"nginx worker_processes {args.workers}, Apache event MPM 2 children x 64 threads; "
        f"{args.seconds:g} s of load per scenario, fault on at {args.fault_at:g} s for "
        f"{args.fault_for:g} s; {args.sessions} seeded sessions; sesame_session_cache 1s, "
        f"sesame_redis_timeout 500ms, http_timeout 2s; wrk -c{args.connections} protected + "
        f"-c{max(2, args.connections // 2)} unprotected{', nice 19' if args.nice else ''}",
        "",
        "| scenario | server | crashes | wrk protected: req / 5xx / s with 5xx / conn errors / "
        "other non-200 | "
        "probers: 5xx, first–last s after fault on | recovery s after fault off | "
        "unprotected failed | logins ok / failed in window / outside | sessions lost "
        "(Redis lost) | worker RSS MiB | worker fds | Redis MiB |",
        "|---|---|---:|---|---|---:|---:|---|---|---|---|---|",
    ]
    for o in outcomes:
        bad, total, extra = wrk_5xx(o, "protected")
        wrk_text = ("–" if bad is None
                    else f"{total} / {bad} / {extra[1]} / {extra[0]} / {extra[2]}")
        probers = (f"{o.protected_5xx} of {o.protected_requests}"
                   + (f", {fmt(o.first_5xx_s)}–{fmt(o.last_5xx_s)}" if o.protected_5xx else ""))
        logins = (f"{o.logins - o.logins_failed_in_window - o.logins_failed_outside} / "
                  f"{o.logins_failed_in_window} / {o.logins_failed_outside}")
        wb, wa = o.workers_before, o.workers_after
        sessions = f"{o.sessions_lost} of {o.sessions} ({o.sessions_redis_lost})"
        lines.append(
            f"| {o.fault} | {o.server} | {len(o.crashes)} | {wrk_text} | {probers} | "
            f"{fmt(o.recovery_s, '.2f')} | {o.unprotected_failed} of {o.unprotected_requests} | "
            f"{logins} | {sessions} | {wb[1]:.1f} → {wa[1]:.1f} | {wb[2]} → {wa[2]} | "
            f"{fmt(o.redis_mib_before)} → {fmt(o.redis_mib_after)} |")
    notes = []
    for o in outcomes:
        for n in o.notes:
            notes.append(f"- {o.fault} ({o.server}): {n}")
        for f in failures(o):
            notes.append(f"- {o.fault} ({o.server}): FAILED: {f}")
    return "\n".join(lines + ([""] + notes if notes else []))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", choices=("nginx", "apache", "both"), default="both")
    p.add_argument("--scenarios", default=",".join(SCENARIOS),
                   help=f"comma-separated, out of {', '.join(SCENARIOS)} (default all)")
    p.add_argument("--seconds", type=int, default=16, help="seconds of load per scenario (default 16)")
    p.add_argument("--fault-at", type=float, default=4, help="fault on after this many seconds (default 4)")
    p.add_argument("--fault-for", type=float, default=5, help="fault length, seconds (default 5)")
    p.add_argument("--sessions", type=int, default=1000, help="sessions seeded per scenario (default 1000)")
    p.add_argument("--workers", type=int, default=2, help="nginx worker_processes (default 2)")
    p.add_argument("--connections", type=int, default=16, help="wrk connections on the protected page")
    p.add_argument("--no-wrk", action="store_true", help="only the probers and the login client")
    p.add_argument("--nice", action="store_true", help="run wrk under nice 19 (a shared machine)")
    p.add_argument("--debug", action="store_true",
                   help="the debug builds (make build) instead of the release ones: checking the "
                        "script, not figures to keep")
    p.add_argument("--json", help="also write the outcomes to this file")
    p.add_argument("--workdir", help="keep configs and logs here (default: a temp dir, removed)")
    args = p.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        sys.exit(f"chaos: unknown scenarios {sorted(unknown)}")
    if "redis-cut" in scenarios and chaos.iptables_usable():
        sys.exit(f"chaos: redis-cut: {chaos.iptables_usable()}")
    if not args.no_wrk and not shutil.which("wrk"):
        sys.exit("chaos: wrk not found (apt-get install wrk)")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="sesame-chaos-"))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"Sesame chaos {started}; workdir {workdir}", flush=True)
    kinds = ("nginx", "apache") if args.server == "both" else (args.server,)
    rig = Rig(args, workdir)
    outcomes = []
    try:
        for scenario in scenarios:
            for kind in kinds:
                print(f"{scenario} on {kind}...", flush=True)
                o = one(rig, kind, scenario)
                outcomes.append(o)
                bad = failures(o)
                print(f"  crashes {len(o.crashes)}, 5xx {o.protected_5xx}/{o.protected_requests}, "
                      f"recovery {fmt(o.recovery_s, '.2f')} s, logins failed "
                      f"{o.logins_failed_in_window}+{o.logins_failed_outside}, sessions lost "
                      f"{o.sessions_lost}{'; FAILED: ' + '; '.join(bad) if bad else ''}", flush=True)
    finally:
        rig.stop()
    print()
    print(table(outcomes, started, args))
    if args.json:
        Path(args.json).write_text(json.dumps([o.as_row() for o in outcomes], indent=1, default=str))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if any(failures(o) for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
