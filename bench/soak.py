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

A warm-up run (`--warmup` seconds of the same load) comes first: the start figures are taken
after it, on the quiet server, so that what every server allocates once (each thread's first
request, Apache's per-connection pools and their allocators' free lists, the session cache's
table, glibc's arenas) is not counted as growth. After every `--heap-every` runs the logins pause,
the server goes quiet past the session cache's lifetime and glibc's malloc_stats() is read in
each worker through gdb: the series shows whether memory in use levels off.

Exit status 1 on a crash, on wrk errors or non-2xx answers, on a failed login, on a seeded session
gone from Redis, or when the workers' memory in use (malloc_stats(), quiet, after the warm-up and
at the end) grew more than `--max-growth-mib` (without gdb: a worker's RSS from its first sample
after the warm-up to the end).
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

import chaos as chaos_bench  # noqa: E402
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


def heap(server, label=""):
    """Summed over the workers: (malloc's system MiB, MiB in use), or None without gdb."""
    stats = chaos.live_heap(server)
    if not stats:
        return None
    mib = 1 << 20
    result = (sum(s for s, _ in stats.values()) / mib, sum(u for _, u in stats.values()) / mib)
    per = ", ".join(f"{u / mib:.1f}" for _, u in stats.values())
    print(f"  malloc_stats{' ' + label if label else ''}: system {result[0]:.1f} MiB, in use "
          f"{result[1]:.1f} MiB ({len(stats)} workers: {per})", flush=True)
    return result


class Logins:
    """`clients` login clients, started and stopped around each wrk run (stopped: the server is
    quiet for malloc_stats); the records of every run kept."""

    def __init__(self, server, rig, clients, goal):
        self.server, self.rig, self.clients, self.goal = server, rig, clients, goal
        self.records, self.drivers = [], []

    def start(self):
        left = self.goal - len(self.records)
        if left <= 0 or self.drivers:  # done, or still running from the last run
            return
        share = -(-left // self.clients)
        self.drivers = [chaos.LoginDriver(self.server.url(PROTECTED), self.rig.pki.ca,
                                          self.server.base, limit=share)
                        for _ in range(self.clients)]
        for d in self.drivers:
            d.start()

    def stop(self, wait_s=0.0):
        """Lets the clients go on for up to `wait_s` (the goal reached earlier ends them), then
        stops them after their login under way."""
        deadline = time.monotonic() + wait_s
        for d in self.drivers:
            d.join(max(0.0, deadline - time.monotonic()))
        for d in self.drivers:
            d.halt.set()
        for d in self.drivers:
            d.join()
            self.records += d.records
        self.drivers = []

    def count(self):
        return len(self.records) + sum(len(d.records) for d in self.drivers)


def quiet():
    time.sleep(6)  # past the session cache's 5 s: what a quiet worker keeps


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
        logins = Logins(server, rig, args.login_clients, args.logins)
        t0 = time.monotonic()
        samples = [sample(server, store, "seeded, idle", t0, 0, 0)]
        heap_idle = heap(server, "seeded, idle")
        done, errors, non2xx, runs = 0, 0, 0, 0

        def run(seconds):
            nonlocal done, errors, non2xx
            # Each run goes on through the sessions where the last one stopped: every session
            # is asked in turn, none left idle long enough to expire.
            r = WrkRun(server.url(PROTECTED), seconds, args.connections, 1,
                       cookie_file=cookies_file, nice=19 if args.nice else 0,
                       cookie_start=done).wait()
            done += r["requests"]
            errors += sum(r[k] for k in ("connect", "read", "write", "timeout"))
            non2xx += r["status"]

        if args.warmup:
            logins.start()
            run(args.warmup)
            logins.stop()
            quiet()
            samples.append(sample(server, store, "after warm-up (quiet)", t0, done,
                                  logins.count()))
        heap_start = heap(server, "after warm-up") if args.warmup else heap_idle
        heaps = [(done, heap_start)]
        start_index = len(samples) - 1
        deadline = t0 + args.minutes * 60 if args.minutes else None
        while done < args.requests and (deadline is None or time.monotonic() < deadline):
            logins.start()
            run(args.chunk)
            runs += 1
            last = done >= args.requests or (deadline is not None and time.monotonic() >= deadline)
            if last:
                # The logins' goal may be reached after the requests' on a fast machine.
                logins.stop(max(0.0, deadline - time.monotonic()) if deadline else 3600)
            elif args.heap_every and runs % args.heap_every == 0:
                logins.stop()
            samples.append(sample(server, store, f"run {runs}", t0, done, logins.count()))
            if not last and args.heap_every and runs % args.heap_every == 0:
                quiet()
                heaps.append((done, heap(server, f"after run {runs} (quiet)")))
        logins.stop()
        failed = [rec for rec in logins.records if not rec[2]]
        quiet()
        samples.append(sample(server, store, "end (quiet)", t0, done, len(logins.records)))
        heap_end = heap(server, "end")
        heaps.append((done, heap_end))
        crashes = chaos.crash_lines(kind, server.log_since(log_offset))
        result = {
            "server": kind, "sessions": len(cookies), "seeded_s": seeded_s, "requests": done,
            "wrk_runs": runs, "wrk_errors": errors, "non_2xx": non2xx,
            "logins": len(logins.records), "logins_failed": len(failed),
            "first_login_failure": failed[0][3] if failed else "",
            "crashes": crashes, "workers_replaced": sorted(set(server.worker_pids()) - pids0),
            "elapsed_s": time.monotonic() - t0, "samples": samples, "start_index": start_index,
            "requests_goal": args.requests, "logins_goal": args.logins,
            "heap_idle": heap_idle, "heap_start": heap_start, "heap_end": heap_end,
            "heaps": [(n, h) for n, h in heaps if h],
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
        f"{args.chunk} s runs after a {args.warmup} s warm-up{' (nice 19)' if args.nice else ''}, "
        f"{args.login_clients} login clients; nginx worker_processes {args.workers}, Apache "
        "event MPM 2 children x 64 threads"
        + "".join(f", {line}" for line in args.apache_conf),
        "",
        "| server | protected requests | req/s | wrk errors / non-2xx | logins ok / failed | "
        "crashes | worker RSS MiB: idle → after warm-up → end | worker fds: after warm-up → end | "
        "Redis MiB (sessions): after warm-up → end |",
        "|---|---:|---:|---|---|---:|---|---|---|",
    ]
    for r in results:
        s = r["samples"]
        w = s[r["start_index"]]
        lines.append(
            f"| {r['server']} | {r['requests']:,} | {r['requests'] / max(r['elapsed_s'], 1):,.0f} | "
            f"{r['wrk_errors']} / {r['non_2xx']} | {r['logins'] - r['logins_failed']:,} / "
            f"{r['logins_failed']} | {len(r['crashes'])} | {s[0]['rss_mib']:.1f} → "
            f"{w['rss_mib']:.1f} → {s[-1]['rss_mib']:.1f} | {w['fds']} → "
            f"{s[-1]['fds']} | {w['redis_mib']:.1f} ({w['redis_keys']:,}) → "
            f"{s[-1]['redis_mib']:.1f} ({s[-1]['redis_keys']:,}) |")
    for r in results:
        if r["heap_start"] and r["heap_end"]:
            (s0, u0), (s1, u1) = r["heap_start"], r["heap_end"]
            idle = (f"idle {r['heap_idle'][1]:.1f}, " if r["heap_idle"] else "")
            lines.append(f"- {r['server']}: glibc malloc_stats() of the workers, summed, quiet: "
                         f"memory in use {idle}after warm-up {u0:.1f} → end {u1:.1f} MiB, held "
                         f"by the allocator's arenas {s0:.1f} → {s1:.1f} MiB")
            series = ", ".join(f"{h[1]:.1f} ({n:,})" for n, h in r["heaps"])
            lines.append(f"- {r['server']}: memory in use, MiB (after that many protected "
                         f"requests), quiet: {series}")
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
            out.append(f"memory in use grew {growth:.1f} MiB after the warm-up")
    else:
        # Per worker, from the first sample after the warm-up to the end.
        first = s[r["start_index"]] if r["start_index"] else s[min(1, len(s) - 1)]
        for pid, (rss_end, _) in s[-1]["per_worker"].items():
            if pid in first["per_worker"]:
                growth = rss_end - first["per_worker"][pid][0]
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
    p.add_argument("--warmup", type=int, default=60,
                   help="seconds of load before the start figures (default 60; 0: none)")
    p.add_argument("--heap-every", type=int, default=1,
                   help="malloc_stats() on the quiet server after every N runs (default 1; 0: "
                        "only after the warm-up and at the end)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument("--workers", type=int, default=2, help="nginx worker_processes (default 2)")
    p.add_argument("--max-growth-mib", type=float, default=20,
                   help="growth after the warm-up that fails the run (default 20 MiB): of the "
                        "workers' memory in use (malloc_stats through gdb), or without gdb of a "
                        "worker's RSS")
    p.add_argument("--apache-conf", action="append", default=[], metavar="LINE",
                   help="a line added to Apache's MPM settings, e.g. 'MaxMemFree 64' (APR's "
                        "allocators keep at most that many KiB of freed memory each: tells "
                        "Apache's free lists from what Sesame keeps); repeatable")
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
    chaos_bench.APACHE_TUNING += "".join(line + "\n" for line in args.apache_conf)
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
