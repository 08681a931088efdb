#!/usr/bin/env python3
"""`make soak`: a long run of protected requests over many sessions, with logins beside, on nginx
(2 workers) and Apache httpd (event MPM, 2 children x 64 threads); worker RSS, open fds and Redis memory at
the start, along the way and at the end.

Per server: a fresh server (release module) and Redis, `--sessions` sessions seeded in the real
format (bench/seed_sessions.rs: copies of one real login stored by the core's own code), then wrk
on a protected page, each request with the next seeded session's cookie, in runs of `--chunk`
seconds until `--requests` are answered, while `--login-clients` clients log in through the
emulator until `--logins` logins are done. The server keeps Sesame's defaults (session cache 5 s,
idle timeout 30 min) except worker count and pool size. A figure is printed after every run.

Exit status 1 on a crash, on wrk errors or non-2xx answers, on a failed login, on a seeded session
gone from Redis, or when the workers' memory in use (glibc's malloc_stats() through gdb, on the
idle server before and after) grew more than `--max-growth-mib` (without gdb: a worker's RSS from
its first sample under load to the end).
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests" / "e2e"))
sys.path.insert(0, str(BENCH))

from chaos import PROTECTED, Rig, seed  # noqa: E402
from e2e_rig import chaos  # noqa: E402
from measure import WrkRun  # noqa: E402
from run import machine  # noqa: E402


def session_count(redis):
    """Sesame's session keys in Redis (a SCAN of 100 000 keys takes seconds on a busy machine:
    redis-cli's own loop, with more time than the rig's 10 s)."""
    out = subprocess.run([*redis.cli_argv(), "--raw", "--scan", "--pattern", "sesame:*:s:*"],
                         check=True, capture_output=True, timeout=600)
    return sum(1 for line in out.stdout.split(b"\n") if line)


def sample(server, redis, label, t0, requests_done, logins):
    n, rss, fds = chaos.worker_totals(server)
    per = chaos.workers(server)
    mem = chaos.redis_memory_mib(redis)
    keys = session_count(redis)
    row = {"label": label, "t": time.monotonic() - t0, "requests": requests_done,
           "logins": logins, "workers": n, "rss_mib": rss, "fds": fds, "redis_mib": mem,
           "redis_keys": keys, "per_worker": {pid: (r / 1024, f) for pid, (r, f) in per.items()}}
    print(f"  {label}: t={row['t']:.0f}s requests {requests_done:,} logins {logins:,} workers "
          f"{n} RSS {rss:.1f} MiB fds {fds} Redis {mem:.1f} MiB / {keys:,} sessions", flush=True)
    return row


def heap(server):
    """Summed over the workers: (malloc's system MiB, MiB in use), or None without gdb."""
    stats = chaos.live_heap(server)
    if not stats:
        return None
    mib = 1 << 20
    result = (sum(s for s, _ in stats.values()) / mib, sum(u for _, u in stats.values()) / mib)
    print(f"  malloc_stats: system {result[0]:.1f} MiB, in use {result[1]:.1f} MiB "
          f"({len(stats)} workers)", flush=True)
    return result


def soak(rig, kind, args):
    node, url, store, stop_redis = rig.redis("plain")
    server = None
    try:
        # Sesame's default session cache (5 s), not the chaos runs' 1 s.
        site, server = rig.server(kind, url, session_cache=None)
        t_seed = time.monotonic()
        cookies_file, cookies = seed(rig, server, site, url, args.sessions)
        seeded_s = time.monotonic() - t_seed
        log_offset = server.log_size()
        pids0 = set(server.worker_pids())
        drivers = [chaos.LoginDriver(server.url(PROTECTED), rig.pki.ca, server.base,
                                     limit=args.logins // args.login_clients)
                   for _ in range(args.login_clients)]
        t0 = time.monotonic()
        samples = [sample(server, store, "start (seeded, idle)", t0, 0, 0)]
        heap_start = heap(server)
        for d in drivers:
            d.start()
        done, errors, non2xx, runs = 0, 0, 0, 0
        deadline = t0 + args.minutes * 60 if args.minutes else None
        while done < args.requests and (deadline is None or time.monotonic() < deadline):
            # Each run goes on through the sessions where the last one stopped: every session
            # is asked in turn, none left idle long enough to expire.
            r = WrkRun(server.url(PROTECTED), args.chunk, args.connections, 1,
                       cookie_file=cookies_file, nice=19 if args.nice else 0,
                       cookie_start=done).wait()
            runs += 1
            done += r["requests"]
            errors += sum(r[k] for k in ("connect", "read", "write", "timeout"))
            non2xx += r["status"]
            logins = sum(len(d.records) for d in drivers)
            samples.append(sample(server, store, f"run {runs}", t0, done, logins))
        for d in drivers:
            if deadline is not None:
                d.join(max(0.0, deadline - time.monotonic()))
                d.halt.set()
            d.join()  # the logins' count is reached after the requests' on a fast machine
        logins = [rec for d in drivers for rec in d.records]
        failed = [rec for rec in logins if not rec[2]]
        time.sleep(6)  # past the session cache's 5 s: what a quiet worker keeps
        samples.append(sample(server, store, "end (quiet)", t0, done, len(logins)))
        heap_end = heap(server)
        crashes = chaos.crash_lines(kind, server.log_since(log_offset))
        result = {
            "server": kind, "sessions": len(cookies), "seeded_s": seeded_s, "requests": done,
            "wrk_runs": runs, "wrk_errors": errors, "non_2xx": non2xx, "logins": len(logins),
            "logins_failed": len(failed), "first_login_failure": failed[0][3] if failed else "",
            "crashes": crashes, "workers_replaced": sorted(set(server.worker_pids()) - pids0),
            "elapsed_s": time.monotonic() - t0, "samples": samples,
            "requests_goal": args.requests, "logins_goal": args.logins,
            "heap_start": heap_start, "heap_end": heap_end,
        }
        return result
    finally:
        if server is not None:
            server.stop()
        stop_redis()


def report(results, started, args):
    lines = [
        f"Sesame soak, {started}, {machine()}",
        f"{args.sessions:,} seeded sessions, wrk -c{args.connections} on a protected page in "
        f"{args.chunk} s runs{' (nice 19)' if args.nice else ''}, {args.login_clients} login "
        f"clients; nginx worker_processes {args.workers}, Apache event MPM 2 children x 64 threads",
        "",
        "| server | protected requests | req/s | wrk errors / non-2xx | logins ok / failed | "
        "crashes | worker RSS MiB: start → under load → end | worker fds: start → end | "
        "Redis MiB (sessions): start → end |",
        "|---|---:|---:|---|---|---:|---|---|---|",
    ]
    for r in results:
        s = r["samples"]
        first_load = s[1] if len(s) > 2 else s[-1]
        lines.append(
            f"| {r['server']} | {r['requests']:,} | {r['requests'] / max(r['elapsed_s'], 1):,.0f} | "
            f"{r['wrk_errors']} / {r['non_2xx']} | {r['logins'] - r['logins_failed']:,} / "
            f"{r['logins_failed']} | {len(r['crashes'])} | {s[0]['rss_mib']:.1f} → "
            f"{first_load['rss_mib']:.1f} → {s[-1]['rss_mib']:.1f} | {s[0]['fds']} → "
            f"{s[-1]['fds']} | {s[0]['redis_mib']:.1f} ({s[0]['redis_keys']:,}) → "
            f"{s[-1]['redis_mib']:.1f} ({s[-1]['redis_keys']:,}) |")
    for r in results:
        if r["heap_start"] and r["heap_end"]:
            (s0, u0), (s1, u1) = r["heap_start"], r["heap_end"]
            lines.append(f"- {r['server']}: glibc malloc_stats() of the workers, summed, seeded "
                         f"and idle → end, quiet: memory in use {u0:.1f} → {u1:.1f} MiB, held "
                         f"by the allocator's arenas {s0:.1f} → {s1:.1f} MiB")
        peak = max(x["rss_mib"] for x in r["samples"])
        lines.append(f"- {r['server']}: {r['wrk_runs']} wrk runs in {r['elapsed_s']:.0f} s; "
                     f"sessions seeded in {r['seeded_s']:.0f} s; peak RSS {peak:.1f} MiB; "
                     f"workers replaced during the run: {r['workers_replaced'] or 'none'}"
                     + (f"; first failed login: {r['first_login_failure']}"
                        if r["first_login_failure"] else "")
                     + (f"; crash: {r['crashes'][0]}" if r["crashes"] else ""))
    return "\n".join(lines)


def failures(r, args):
    out = []
    if r["crashes"]:
        out.append(f"{len(r['crashes'])} crash lines")
    if r["wrk_errors"] or r["non_2xx"]:
        out.append(f"{r['wrk_errors']} wrk errors, {r['non_2xx']} non-2xx")
    if r["logins_failed"]:
        out.append(f"{r['logins_failed']} logins failed")
    # Every seeded session was asked within its idle timeout: none may have expired.
    if r["samples"][-1]["redis_keys"] < r["sessions"]:
        out.append(f"{r['sessions'] - r['samples'][-1]['redis_keys']} seeded sessions gone from Redis")
    s = r["samples"]
    if r["heap_start"] and r["heap_end"]:
        # Live memory (malloc's bytes in use) is what a leak grows; RSS also counts what glibc's
        # per-thread arenas keep after a peak (docs/robustness.md).
        growth = r["heap_end"][1] - r["heap_start"][1]
        if growth > args.max_growth_mib:
            out.append(f"memory in use grew {growth:.1f} MiB")
    elif len(s) > 2:
        # Per worker, from its first sample under load to the end.
        for pid, (rss_end, _) in s[-1]["per_worker"].items():
            if pid in s[1]["per_worker"]:
                growth = rss_end - s[1]["per_worker"][pid][0]
                if growth > args.max_growth_mib:
                    out.append(f"worker {pid} RSS grew {growth:.1f} MiB")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", choices=("nginx", "apache", "both"), default="both")
    p.add_argument("--requests", type=int, default=10_000_000, help="protected requests per server")
    p.add_argument("--sessions", type=int, default=100_000, help="seeded sessions (default 100 000)")
    p.add_argument("--logins", type=int, default=10_000, help="logins per server (default 10 000)")
    p.add_argument("--login-clients", type=int, default=4, help="concurrent login clients")
    p.add_argument("--minutes", type=float, default=None,
                   help="stop each server's run after this long even if --requests or --logins "
                        "are not reached (the figures say how many were)")
    p.add_argument("--chunk", type=int, default=60, help="seconds per wrk run (default 60)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument("--workers", type=int, default=2, help="nginx worker_processes (default 2)")
    p.add_argument("--max-growth-mib", type=float, default=20,
                   help="growth that fails the run (default 20 MiB): of the workers' memory in "
                        "use (malloc_stats through gdb), or without gdb of a worker's RSS under load")
    p.add_argument("--nice", action="store_true", help="run wrk under nice 19 (a shared machine)")
    p.add_argument("--debug", action="store_true",
                   help="the debug builds instead of the release ones (checking the script)")
    p.add_argument("--workdir", help="keep configs and logs here (default: a temp dir, removed)")
    args = p.parse_args()
    if args.logins % args.login_clients:
        sys.exit("soak: --logins must be a multiple of --login-clients")
    if not shutil.which("wrk"):
        sys.exit("soak: wrk not found (apt-get install wrk)")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="sesame-soak-"))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"Sesame soak {started}; workdir {workdir}", flush=True)
    args.fault_for = 0  # Rig reads the chaos options it shares
    rig = Rig(args, workdir)
    results = []
    try:
        for kind in (("nginx", "apache") if args.server == "both" else (args.server,)):
            print(f"{kind}:", flush=True)
            results.append(soak(rig, kind, args))
    finally:
        rig.stop()
    print()
    print(report(results, started, args))
    bad = [(r["server"], f) for r in results for f in failures(r, args)]
    for server, f in bad:
        print(f"FAILED ({server}): {f}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
