#!/usr/bin/env python3
"""`make bench-cluster`: web nodes sharing a Redis Cluster, as behind a load balancer, on one host.

Every "machine" is a network namespace of its own with its own address on a private /24 (veth
pairs onto a bridge; tests/e2e/e2e_rig/netns.py), all created by this run and deleted at its end,
on Ctrl-C or a failure too:

  web1..webN  nginx + the release module (2 workers each), one public name (https://sesame.test),
              the same Sesame secret, the same FranceConnect client and configuration
  apache      Apache httpd (event MPM, 2 children) + the release mod_sesame, the same
  redis1..6   a Redis Cluster of real redis-server processes, 3 masters + 3 replicas
              (redis-cli --cluster create --cluster-replicas 1); every node says
              `sesame_redis redis+cluster://<the six nodes>`
  fc          the FranceConnect emulator
  load        wrk (HTTPS keep-alive), one per node fed from the same cookie list

The script itself (on the host, reaching every namespace through the bridge) plays the browsers:
its HTTP client sends the public name to whichever node it is told, as DNS or a load balancer
would.

Checks (exit 1 when one fails):
  - a real login through web1 (emulator login page, callback on web1) opens the page on every
    other nginx node and on Apache, and a login through Apache opens it on web1;
  - with `sesame_session_cache 5m` on every node, each node's workers holding the session, a
    logout on web2 and a `sesame sessions kill` run against the cluster are both refused by every
    worker of every node within a second (the revocation feed: PUBLISH on one cluster node reaches
    the subscribers of all of them);
  - after a master is killed under load, every sampled session whose key the cluster still holds
    opens the page on every node.

Measures (one table; the nodes then run with `sesame_session_cache 0`, so that every protected
request reads its session from the cluster — Redis's heaviest load, where its limit would show):
  S  protected request p50/p99 and throughput on web1 with 1 000, then 1 000 000 sessions stored
     (seeded in the real format by bench/seed_sessions.rs: the core's own `Sessions::create`),
     the seeding time, and Redis memory per session (INFO memory used_memory summed over the
     masters, before and after);
  N  throughput per node and in total as nginx nodes are added (1, 2, 3, 4), then with Apache;
     the CPU of each group of processes (web nodes, Redis masters, replicas, the whole machine)
     over the same seconds, from /proc: whether the CPU or Redis is the limit is read there;
  F  a master killed (SIGKILL) during load on every node: the error window (first to last failed
     request of the probers), failed requests, the time until its replica was promoted, sessions
     kept (keys before and after; sampled cookies replayed on every node).

Figures depend on the machine and on what else runs on it: the header prints its CPUs and load.
"""

import argparse
import base64
import concurrent.futures
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from types import SimpleNamespace

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(BENCH))

from e2e_rig import chaos, netns  # noqa: E402
from e2e_rig.chaos import Prober  # noqa: E402
from e2e_rig.cluster_nodes import PAGE, ClusterRig, Failure, refusal_text, server_pids  # noqa: E402
from e2e_rig.paths import target_dir  # noqa: E402
from measure import WrkRun, hist_percentile, merge_histograms, proc_cpu_seconds, redis_calls  # noqa: E402
from run import machine, release_binaries, tune  # noqa: E402


class Rig(ClusterRig):
    """The shared rig (tests/e2e/e2e_rig/cluster_nodes.py) with the release builds, the load
    generator's namespace, wrk and the seeder."""

    def __init__(self, args, workdir):
        super().__init__(workdir, nginx_nodes=args.nodes, extra_roles=("load",),
                         conf_filter=lambda text: tune(text, args),
                         log=lambda line: print(line, flush=True))
        self.args = args

    def start(self):
        w = self.workdir
        self.bins = release_binaries(w)
        cli = target_dir() / "release" / "sesame"
        if not cli.is_file():
            sys.exit(f"bench-cluster: {cli} missing: run `make bench-cluster` (it builds it)")
        self.bins.cli = self.cli = w / "bin" / "sesame"
        shutil.copy2(cli, self.bins.cli)
        os.environ["SESAME_APACHE_MODULE"] = str(release_apache_module(w))
        super().start()
        self.load_launcher = self.net.launcher("load")

    def stop(self):
        for error in super().stop():
            print(f"bench-cluster: {error}", file=sys.stderr)

    def wrk(self, node, seconds, cookie_file, start=0, histogram=False, timeline=False):
        return WrkRun(node.node_url + PAGE, seconds, self.args.connections, self.args.threads,
                      cookie_file=cookie_file, cookie_start=start, histogram=histogram,
                      timeline=timeline, nice=self.args.wrk_nice, launcher=self.load_launcher)

    def seed(self, count, out, parallel=1):
        """`count` copies of the one live session, in `parallel` seeders; returns seconds."""
        secret = self.nginx[0].site.prefix / "conf" / "sesame.secret"
        t0 = time.monotonic()
        share_each = [count // parallel + (1 if i < count % parallel else 0) for i in range(parallel)]
        procs = []
        for i, n in enumerate(share_each):
            procs.append(subprocess.Popen(
                ["nice", "-n", str(self.args.seed_nice), str(self.bins.seed), self.cluster.url,
                 str(secret), str(n), f"{out}.{i}"], stderr=subprocess.PIPE, text=True))
        for p in procs:
            _, err = p.communicate(timeout=7200)
            if p.returncode != 0:
                raise RuntimeError(f"seeder failed: {err}")
        took = time.monotonic() - t0
        with open(out, "w") as f:
            for i in range(parallel):
                f.write(Path(f"{out}.{i}").read_text())
                Path(f"{out}.{i}").unlink()
        return took


def release_apache_module(workdir):
    """apache/.build/release/mod_sesame.so (make -C apache PROFILE=release), copied into the run."""
    import apache_rows

    return apache_rows.release_module(SimpleNamespace(workdir=workdir))


# ---- Redis figures ----------------------------------------------------------------------------

def used_memory(cluster):
    return sum(int(m.info("memory")["used_memory"]) for m in cluster.masters())


def key_count(cluster):
    return sum(int(m.command("DBSIZE").strip()) for m in cluster.masters())


def crc16(data):
    """CRC16-CCITT (XMODEM), the Redis Cluster key hash (cluster spec, "Keys distribution")."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def slot_owner(cluster):
    """slot -> master node, from CLUSTER SLOTS."""
    by_addr = {n.addr: n for n in cluster.live()}
    owner = {}
    lines = cluster.masters()[0].command("CLUSTER", "SLOTS").split("\n")
    # --raw prints start, end, then each node's ip, port, id (3 lines), for each range.
    i = 0
    while i + 2 < len(lines):
        if lines[i].strip().isdigit() and lines[i + 1].strip().isdigit() and lines[i + 2].count(".") == 3:
            start, end, ip = int(lines[i]), int(lines[i + 1]), lines[i + 2].strip()
            for s in range(start, end + 1):
                owner[s] = by_addr.get(ip)
            i += 3
        else:
            i += 1
    return owner


def session_key(prefix, cookie):
    id_part = cookie.split(".", 1)[0]
    raw = base64.urlsafe_b64decode(id_part + "=" * (-len(id_part) % 4))
    return f"{prefix}s:{hashlib.sha256(raw).hexdigest()}"


def keys_held(cluster, keys):
    """The subset of `keys` the cluster holds (EXISTS on each key's master)."""
    owner = slot_owner(cluster)
    by_node = {}
    for k in keys:
        node = owner.get(crc16(k.encode()) % 16384)
        by_node.setdefault(node, []).append(k)
    held = set()
    for node, ks in by_node.items():
        if node is None:
            continue
        script = "".join(f"EXISTS {k}\n" for k in ks)
        out = subprocess.run(["redis-cli", "-h", node.addr, "-p", str(node.PORT)], input=script,
                             capture_output=True, text=True, timeout=120, check=True).stdout.split()
        held.update(k for k, v in zip(ks, out) if v.strip().endswith("1"))
    return held


def key_prefix(cluster):
    for m in cluster.masters():
        cursor = "0"
        while True:
            out = m.command("SCAN", cursor, "MATCH", "sesame:*:s:*", "COUNT", "1000").split()
            cursor, found = out[0], out[1:]
            if found:
                return found[0].rsplit("s:", 1)[0]
            if cursor == "0":
                break
    raise RuntimeError("no session key in the cluster")


# ---- CPU ----------------------------------------------------------------------------------------

def machine_busy_seconds():
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = list(map(int, fields))
    # user nice system idle iowait irq softirq (steal, the hypervisor's, is not ours).
    return (sum(values[:7]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds of process groups between `start()` and `stop()`, as cores used."""

    def __init__(self, groups, cluster):
        self.groups = groups  # name -> callable returning pids
        self.cluster = cluster

    def _read(self):
        out = {}
        for name, pids in self.groups.items():
            total = 0.0
            for pid in pids():
                try:
                    total += proc_cpu_seconds(pid)
                except (OSError, IndexError):
                    pass
            out[name] = total
        out["machine"] = machine_busy_seconds()
        return out

    def start(self):
        self.t0, self.c0 = time.monotonic(), self._read()
        self.calls0 = self.redis_calls()

    def redis_calls(self):
        """GET and SET calls (INFO commandstats) summed over the live masters."""
        calls = {"get": 0, "set": 0}
        for m in self.cluster.masters():
            for k, v in redis_calls(m).items():
                calls[k] += v
        return calls

    def stop(self):
        wall = time.monotonic() - self.t0
        c1 = self._read()
        calls1 = self.redis_calls()
        out = {k: (c1[k] - self.c0[k]) / wall for k in c1}
        out.update({f"redis_{k}": calls1[k] - self.calls0[k] for k in calls1})
        return out


# ---- the checks ---------------------------------------------------------------------------------

def check_cross_node(rig, results):
    web1, web2, ap = rig.nginx[0], rig.nginx[1 % len(rig.nginx)], rig.apache
    _, cookie = rig.login(web1)
    rig.warm_everywhere(cookie)
    results.append(("login through web1 opens the page on every other node (and Apache)", "yes"))
    _, cookie2 = rig.login(ap)
    if rig.status_on(web1, cookie2) != 200:
        raise Failure("a login through Apache was refused by web1")
    results.append(("login through Apache opens the page on web1", "yes"))

    # Logout on web2 of the session made on web1, every worker holding it in a 5 min cache.
    rig.warm_everywhere(cookie)
    t0 = rig.logout(web2, cookie)
    times = rig.refused_everywhere(cookie, t0, "logout on web2")
    results.append(("logout on web2 (cache 5m): refused by every worker of every node; each "
                    "node's first poll sent, after web2 answered /logout", refusal_text(times)))

    # `sesame sessions kill` against the cluster, of the session made on Apache.
    rig.warm_everywhere(cookie2)
    sub = rig.session_subs()[-1]
    t0 = time.monotonic()
    rig.kill_sub(sub)
    times = rig.refused_everywhere(cookie2, t0, "sesame sessions kill")
    results.append(("sesame sessions kill on the cluster URL: refused by every worker of "
                    "every node; each node's first poll sent, after the command started",
                    refusal_text(times)))


# ---- the measures -------------------------------------------------------------------------------

def summary(results):
    hist = merge_histograms(r["histogram"] for r in results if r.get("histogram"))
    total = {k: sum(r[k] for r in results) for k in ("requests", "connect", "read", "write",
                                                      "status", "timeout")}
    duration = max(r["duration_us"] for r in results) / 1e6
    total["rate"] = total["requests"] / max(duration, 1e-9)
    total["p50_ms"] = hist_percentile(hist, 50) / 1000 if hist else 0
    total["p99_ms"] = hist_percentile(hist, 99) / 1000 if hist else 0
    total["errors"] = sum(total[k] for k in ("connect", "read", "write", "status", "timeout"))
    total["socket_errors"] = total["errors"] - total["status"]
    return total


def cpu_groups(rig):
    return {
        "web": lambda: [p for n in rig.nginx for p in server_pids(n)],
        "apache": lambda: server_pids(rig.apache),
        "masters": lambda: [m.pid for m in rig.cluster.masters()],
        "replicas": lambda: [m.pid for m in rig.cluster.replicas()],
        "emulator": lambda: [rig.emulator.proc.pid],
    }


def load_step(rig, nodes, cookie_file, seconds, cookies_total):
    """wrk on each of `nodes` at once (same cookie list, each from another offset); per-node
    summaries, the total, and the CPU of each group over the run."""
    meter = CpuMeter(cpu_groups(rig), rig.cluster)
    # Warm-up (connections, TLS), not measured.
    for run in [rig.wrk(n, 1, cookie_file) for n in nodes]:
        run.wait()
    meter.start()
    runs = [rig.wrk(n, seconds, cookie_file, start=i * (cookies_total // max(len(nodes), 1)),
                    histogram=True) for i, n in enumerate(nodes)]
    results = [r.wait() for r in runs]
    cpu = meter.stop()
    return [summary([r]) for r in results], summary(results), cpu


def measure_sessions(rig, table, notes):
    args, w = rig.args, rig.workdir
    base_mem, base_keys = used_memory(rig.cluster), key_count(rig.cluster)
    _, cookie = rig.login(rig.nginx[0])  # the real session the seeder copies
    small = w / "cookies-1k.txt"
    took_small = rig.seed(args.small - 1, small)
    with open(small, "a") as f:
        f.write(cookie + "\n")
    mem_small = used_memory(rig.cluster)
    stored_small = key_count(rig.cluster) - base_keys
    per_node, total, cpu = load_step(rig, rig.nginx[:1], small, args.seconds, args.small)
    table.append(("S", f"{args.small:,} sessions stored, web1, requests over all of them",
                  total, cpu))

    big = w / "cookies-big.txt"
    extra = args.large - stored_small
    print(f"seeding {extra:,} more sessions ({args.seed_parallel} seeders)...", flush=True)
    took_big = rig.seed(extra, big, parallel=args.seed_parallel)
    mem_big = used_memory(rig.cluster)
    stored_big = key_count(rig.cluster) - base_keys
    per_session = (mem_big - mem_small) / max(stored_big - stored_small, 1)
    notes.append(f"seeding: {args.small - 1:,} copies of a real login's session in {took_small:.1f} s, then {extra:,} more in "
                 f"{took_big:.1f} s ({extra / max(took_big, 1e-9):,.0f}/s, {args.seed_parallel} "
                 f"seeder processes at nice {args.seed_nice}, each session sealed and SET by the "
                 f"core's Sessions::create, one round trip each)")
    notes.append(f"Redis memory (used_memory summed over the 3 masters): {base_mem / 2**20:.1f} MiB "
                 f"empty, {mem_small / 2**20:.1f} MiB with {args.small:,} sessions, "
                 f"{mem_big / 2**20:.1f} MiB with {args.large:,} ({stored_big:,} keys, login "
                 f"states included): {per_session:,.0f} bytes per "
                 f"session (key, encrypted record, TTL, dict overhead; the replicas hold as much again)")
    head = w / "cookies-big-head.txt"
    lines = big.read_text().splitlines()
    head.write_text("\n".join(lines[:args.small]) + "\n")
    spread = w / "cookies-big-spread.txt"
    step = max(1, len(lines) // args.spread)
    spread.write_text("\n".join(lines[::step][:args.spread]) + "\n")
    _, total_big, cpu = load_step(rig, rig.nginx[:1], head, args.seconds, args.small)
    table.append(("S", f"{args.large:,} sessions stored, web1, requests over {args.small:,} of them",
                  total_big, cpu))
    _, total_spread, cpu = load_step(rig, rig.nginx[:1], spread, args.seconds, args.spread)
    table.append(("S", f"{args.large:,} sessions stored, web1, requests over {args.spread:,} of them",
                  total_spread, cpu))
    rig.ratio_sessions = (total_big["rate"] / max(total["rate"], 1e-9),
                          total_big["p99_ms"] / max(total["p99_ms"], 1e-9))
    return spread, lines


def per_node_text(per_node):
    return " / ".join(f"{p['rate']:,.0f}" for p in per_node)


def measure_scaling(rig, table, cookie_file, cookies_total):
    per_node_rates = []
    for n in range(1, len(rig.nginx) + 1):
        per_node, total, cpu = load_step(rig, rig.nginx[:n], cookie_file, rig.args.seconds,
                                         cookies_total)
        per_node_rates.append((n, total["rate"], [p["rate"] for p in per_node]))
        rig.limit_cpu = cpu
        table.append(("N", f"{n} nginx node{'s' if n > 1 else ''} (per node: "
                           f"{per_node_text(per_node)})", total, cpu))
    per_node, total, cpu = load_step(rig, [rig.apache], cookie_file, rig.args.seconds, cookies_total)
    table.append(("N", "Apache node alone", total, cpu))
    per_node, total, cpu = load_step(rig, rig.nodes, cookie_file, rig.args.seconds, cookies_total)
    table.append(("N", f"{len(rig.nginx)} nginx + Apache (per node: "
                       f"{per_node_text(per_node)})", total, cpu))
    rig.scaling = per_node_rates


def measure_failover(rig, table, notes, lines, results):
    """A master killed under load on every node."""
    args = rig.args
    cluster = rig.cluster
    # The replicas hold what the masters hold before the fault (replication is asynchronous).
    for m in cluster.masters():
        m.command("WAIT", "1", "5000")
    keys_before = key_count(cluster)
    prefix = key_prefix(cluster)
    step = max(1, len(lines) // args.replay)
    sample = lines[::step][:args.replay]
    probe_cookies = lines[1::max(1, len(lines) // 2000)][:2000]
    victim = cluster.masters()[0]
    replica = cluster.replica_of(victim)
    spread = rig.workdir / "cookies-big-spread.txt"
    seconds = args.failover_seconds
    runs = [rig.wrk(n, seconds, spread, start=i * 1000, timeline=True, histogram=True)
            for i, n in enumerate(rig.nodes)]
    probers = [Prober(n.node_url + PAGE, rig.certs.ca, cookies=probe_cookies[i::len(rig.nodes)])
               for i, n in enumerate(rig.nodes)]
    for p in probers:
        p.start()
    time.sleep(args.fault_at)
    killed_at = time.time()
    victim.kill()
    promoted_at = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if replica is not None and cluster.role(replica) == "master" and \
                    "cluster_state:ok" in replica.command("CLUSTER", "INFO"):
                promoted_at = time.time()
                break
        except subprocess.SubprocessError:
            pass
        time.sleep(0.05)
    results_wrk = [r.wait() for r in runs]
    for p in probers:
        p.halt.set()
    for p in probers:
        p.join(20)
    total = summary(results_wrk)
    table.append(("F", f"master {victim.role} killed at {args.fault_at:g} s, every node under load",
                  total, None))
    bad = sorted((t0, t1) for p in probers for t0, t1, s in p.records if s != 200)
    bad_statuses = sorted({s for p in probers for _, _, s in p.records if s != 200})
    asked = sum(len(p.records) for p in probers)
    window = (bad[-1][1] - bad[0][0]) if bad else 0.0
    first = (bad[0][0] - killed_at) if bad else None
    bad_seconds = sorted({sec for r in results_wrk for (sec, status), _ in r["timeline"].items()
                          if status != 200})
    wrk_bad = sum(c for r in results_wrk for (sec, status), c in r["timeline"].items() if status != 200)
    promo = f"{promoted_at - killed_at:.1f} s" if promoted_at else "not within 60 s"
    notes.append(f"failover: {victim.role} ({victim.addr}) killed with SIGKILL; its replica "
                 f"{replica.role if replica else '?'} promoted after {promo} "
                 f"(cluster-node-timeout 2000 ms); probers: {len(bad)} of {asked} requests failed "
                 f"(status {'/'.join(map(str, bad_statuses)) or '-'}; 0 = no answer), "
                 f"error window {window:.2f} s"
                 f"{f' from {first:+.2f} s after the kill' if first is not None else ''}; wrk: "
                 f"{wrk_bad} answers other than 200 and {total['socket_errors']} socket errors "
                 f"of {total['requests']:,} requests, in {len(bad_seconds)} distinct seconds")
    results.append(("failover: error window (s), requests failed / asked by the probers",
                    f"{window:.2f}, {len(bad)} / {asked}"))
    # Sessions kept.
    time.sleep(1)
    keys_after = key_count(cluster)
    keys = [session_key(prefix, c) for c in sample]
    held = keys_held(cluster, keys)
    refused = {}
    for n in rig.nodes:
        http_local = threading.local()

        def one(cookie, node=n):
            if not hasattr(http_local, "s"):
                http_local.s = rig.http()
            return rig.status_on(node, cookie, fresh=False, http=http_local.s)

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(one, sample))
        refused[n.role] = [c for c, k, s in zip(sample, keys, statuses) if k in held and s != 200]
    lost = sum(len(v) for v in refused.values())
    notes.append(f"sessions kept: {keys_before:,} keys before the kill, {keys_after:,} after; of "
                 f"{len(sample):,} sampled seeded sessions the cluster holds {len(held):,}, each "
                 f"asked on every node: {lost} refused")
    results.append(("failover: sampled sessions the cluster holds, refused on some node",
                    f"{len(held):,} held, {lost} refused"))
    if lost:
        raise Failure(f"after the failover, sessions still in the cluster were refused: "
                      f"{ {r: len(v) for r, v in refused.items()} }")


# ---- output -------------------------------------------------------------------------------------

def format_table(rig, table, notes, checks, started, load_before, load_after):
    args = rig.args
    out = [
        f"Sesame bench-cluster, {started}, {machine()}",
        f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
        f"after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} — every process of "
        f"this rig shares these CPUs: the figures are this machine's, at this load",
        f"{len(rig.nginx)} nginx nodes x 2 workers, 1 Apache node (event, 2 children), Redis "
        f"Cluster 3 masters + 3 replicas, each in its own network namespace; wrk -t{args.threads} "
        f"-c{args.connections} -d{args.seconds}s per node, HTTPS keep-alive, from its own namespace; "
        f"protected static page, sesame_session_cache 0 (every request reads its session from "
        f"Redis)",
        "",
        "| Row | What | req/s | p50 ms | p99 ms | errors (non-2xx, socket) | CPU cores used: web nodes / Apache / "
        "Redis masters / replicas / whole machine | web CPU µs/req | Redis masters' CPU µs/req | "
        "Redis GET / SET per req |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for kind, label, total, cpu in table:
        cpu_text = web_us = redis_us = calls = ""
        if cpu is not None:
            cpu_text = (f"{cpu['web']:.2f} / {cpu['apache']:.2f} / {cpu['masters']:.2f} / "
                        f"{cpu['replicas']:.2f} / {cpu['machine']:.2f} of {os.cpu_count()}")
            rate = max(total["rate"], 1e-9)
            web_us = f"{(cpu['web'] + cpu['apache']) * 1e6 / rate:.0f}"
            redis_us = f"{cpu['masters'] * 1e6 / rate:.1f}"
            n = max(total["requests"], 1)
            calls = f"{cpu['redis_get'] / n:.2f} / {cpu['redis_set'] / n:.2f}"
        out.append(f"| {kind} | {label} | {total['rate']:,.0f} | {total['p50_ms']:.2f} | "
                   f"{total['p99_ms']:.2f} | {total['errors']} | {cpu_text} | {web_us} | "
                   f"{redis_us} | {calls} |")
    out.append("")
    if getattr(rig, "ratio_sessions", None):
        rate_ratio, p99_ratio = rig.ratio_sessions
        out.append(f"- {args.large:,} vs {args.small:,} sessions stored (the same number of distinct sessions asked): "
                   f"throughput x{rate_ratio:.2f}, p99 x{p99_ratio:.2f}")
    if getattr(rig, "scaling", None):
        one = rig.scaling[0][1]
        out.append("- scaling: " + "; ".join(f"{n} node{'s' if n > 1 else ''} {rate:,.0f} req/s "
                                             f"(x{rate / max(one, 1e-9):.2f})"
                                             for n, rate, _ in rig.scaling))
        out.append("- a SET per request is a session's activity written back (at most once a "
                   "minute per session): rows asking many sessions, each for the first time in "
                   "the minute, write on most requests")
        cpu, cores = rig.limit_cpu, os.cpu_count()
        per_master = cpu["masters"] / 3
        if cpu["machine"] >= 0.9 * cores and per_master < 0.5:
            verdict = (f"the CPU: the machine's {cores} cores were busy ({cpu['machine']:.2f}) "
                       f"while each Redis master used {per_master:.2f} of a core on average "
                       f"(Redis runs a command at a time: its limit is one core per master)")
        elif per_master >= 0.8:
            verdict = f"Redis: the masters used {per_master:.2f} of a core each"
        else:
            verdict = (f"neither measured: the machine's cores at {cpu['machine']:.2f} of "
                       f"{cores}, each Redis master at {per_master:.2f} of a core")
        out.append(f"- the limit with every nginx node loaded: {verdict}. Every process here "
                   "shares the same cores, so nodes added take CPU from each other; on separate "
                   "machines each node brings its own")
    for n in notes:
        out.append(f"- {n}")
    out.append("")
    out.append("Checks:")
    for what, outcome in checks:
        out.append(f"- {what}: {outcome}")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="a short run: 2 s per row, 50 000 sessions instead of 1 000 000, 3 nodes")
    p.add_argument("--nodes", type=int, default=None, help="nginx nodes (default 4, --quick 3)")
    p.add_argument("--seconds", type=int, default=None, help="seconds per wrk row (default 10, --quick 2)")
    p.add_argument("--small", type=int, default=1000, help="sessions stored in the first row (1000)")
    p.add_argument("--large", type=int, default=None,
                   help="sessions stored in the second (default 1 000 000, --quick 50 000)")
    p.add_argument("--spread", type=int, default=None,
                   help="distinct sessions the scaling rows ask (default 100 000, --quick 10 000)")
    p.add_argument("--replay", type=int, default=None,
                   help="seeded sessions replayed on every node after the failover (default 5000, "
                        "--quick 500)")
    p.add_argument("--seed-parallel", type=int, default=2, help="seeder processes (default 2)")
    p.add_argument("--seed-nice", type=int, default=10, help="the seeders' niceness (default 10)")
    p.add_argument("--wrk-nice", type=int, default=0, help="wrk's niceness increment (default 0)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads per node (default 1)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections per node (default 32)")
    p.add_argument("--workers", type=int, default=2, help="nginx worker_processes per node (default 2)")
    p.add_argument("--pool-threads", type=int, default=32, help="nginx thread_pool threads (default 32)")
    p.add_argument("--failover-seconds", type=int, default=None,
                   help="length of the failover run (default 20, --quick 12)")
    p.add_argument("--fault-at", type=float, default=4.0, help="when the master is killed (4 s)")
    p.add_argument("--skip", default="", help="parts to leave out: checks,sessions,scaling,failover")
    p.add_argument("--workdir", help="keep configs and logs here (default: a temp dir, removed)")
    p.add_argument("--json", help="also write the rows, notes and checks to this file")
    args = p.parse_args()
    args.nodes = args.nodes or (3 if args.quick else 4)
    args.seconds = args.seconds or (2 if args.quick else 10)
    args.large = args.large or (50_000 if args.quick else 1_000_000)
    args.spread = args.spread or (10_000 if args.quick else 100_000)
    args.replay = args.replay or (500 if args.quick else 5000)
    args.failover_seconds = args.failover_seconds or (12 if args.quick else 20)
    skip = set(filter(None, args.skip.split(",")))
    if not shutil.which("wrk"):
        sys.exit("bench-cluster: wrk not found (apt-get install wrk)")
    usable, why = netns.netns_usable()
    if not usable:
        sys.exit(f"bench-cluster: {why}")

    def stop_on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="sesame-cluster-"))
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)  # Apache's children (www-data) read the nodes' html/
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"Sesame bench-cluster {started} on {machine()}; load {load_before[0]:.2f}; "
          f"workdir {workdir}", flush=True)
    rig = Rig(args, workdir)
    table, notes, checks = [], [], []
    failed = None
    try:
        rig.start()
        if "checks" not in skip:
            print("checks: a session across nodes, logout and kill across nodes...", flush=True)
            check_cross_node(rig, checks)
        rig.set_session_cache("0")
        spread, lines = None, []
        if "sessions" not in skip or "scaling" not in skip or "failover" not in skip:
            print("S: sessions stored...", flush=True)
            spread, lines = measure_sessions(rig, table, notes)
        if "scaling" not in skip:
            print("N: nodes added...", flush=True)
            measure_scaling(rig, table, spread, args.spread)
        if "failover" not in skip:
            print("F: a master killed under load...", flush=True)
            measure_failover(rig, table, notes, lines, checks)
        crashes = {n.role: chaos.crash_lines("nginx" if n in rig.nginx else "apache", n.log_tail(10**8))
                   for n in rig.nodes}
        crashed = {role: found[:3] for role, found in crashes.items() if found}
        checks.append(("worker or child crashes, panics in the nodes' error logs",
                       str(crashed) if crashed else "none"))
        if crashed:
            raise Failure(f"crashes: {crashed}")
    except Failure as exc:
        failed = str(exc)
    except KeyboardInterrupt as exc:
        failed = f"interrupted ({exc})"
    except Exception:  # the rows measured so far are still printed, then what went wrong
        failed = traceback.format_exc()
    finally:
        rig.stop()
    print()
    print(format_table(rig, table, notes, checks, started, load_before, os.getloadavg()))
    if failed:
        print(f"\nFAILED: {failed}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "started": started, "machine": machine(), "load_before": load_before,
            "load_after": os.getloadavg(), "args": vars(args),
            "rows": [{"row": kind, "what": label, **{k: v for k, v in total.items()},
                      "cpu_cores": cpu} for kind, label, total, cpu in table],
            "notes": notes, "checks": checks, "failed": failed}, indent=1))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
