"""What `make bench` reads and prints: wrk runs, /proc figures, Redis command counts, the table."""

import json
import math
import os
import re
import subprocess
from pathlib import Path

# The static page every server serves in the rows (nginx and Apache alike).
STATIC_BODY = ("<!DOCTYPE html><html><head><title>bench</title></head><body>\n"
               + "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n" * 30
               + "</body></html>\n")

LUA = Path(__file__).resolve().parent / "wrk_report.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def wrk(url, seconds, connections, threads, cookie=None, cookie_file=None, histogram=False):
    """One wrk run; returns the summary dict printed by wrk_report.lua (latencies in µs).
    `seconds`: wrk's -d, whole seconds (Debian's wrk 4.1 refuses fractions and "ms").
    `histogram`: also return wrk's whole latency histogram as result["histogram"], a list of
    (latency µs, count), for merging several runs (see `merge_histograms`)."""
    return WrkRun(url, seconds, connections, threads, cookie=cookie, cookie_file=cookie_file,
                  histogram=histogram).wait()


class WrkRun:
    """wrk started in the background; `wait()` returns its summary (see `wrk`). `timeline`:
    also result["timeline"], {(unix second, status): count} of every response (`make chaos`).
    `nice`: wrk's niceness increment (other jobs share the machine). `cookie_start`: where in
    `cookie_file` the run begins (a run continuing another one). `launcher`: a command prefix
    (`ip netns exec NS`: the load generator's network namespace in `make bench-cluster`)."""

    def __init__(self, url, seconds, connections, threads, cookie=None, cookie_file=None,
                 histogram=False, timeline=False, nice=0, cookie_start=0, launcher=()):
        if seconds != int(seconds):
            raise ValueError(f"wrk -d takes whole seconds, not {seconds}")
        self.seconds, self.histogram, self.timeline = seconds, histogram, timeline
        argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
                "-s", str(LUA)]
        cpus = os.environ.get("SESAME_BENCH_WRK_CPUS")
        if cpus:  # see Bench.pin
            argv = ["taskset", "-c", cpus] + argv
        if nice:
            argv = ["nice", "-n", str(nice)] + argv
        argv = list(launcher) + argv
        if cookie:  # "name=value"
            argv += ["-H", f"Cookie: {cookie}"]
        env = dict(os.environ)
        for name in ("SESAME_BENCH_COOKIES", "SESAME_BENCH_HISTOGRAM", "SESAME_BENCH_TIMELINE",
                     "SESAME_BENCH_COOKIE_START"):
            env.pop(name, None)
        if cookie_file:
            env["SESAME_BENCH_COOKIES"] = str(cookie_file)
            env["SESAME_BENCH_COOKIE_START"] = str(cookie_start)
        if histogram:
            env["SESAME_BENCH_HISTOGRAM"] = "1"
        if timeline:
            env["SESAME_BENCH_TIMELINE"] = "1"
        argv.append(url)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)

    def wait(self):
        try:
            stdout, stderr = self.proc.communicate(timeout=self.seconds + 60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            stdout, stderr = self.proc.communicate()
        result, hist, timeline = None, None, None
        for line in stdout.splitlines():
            if line.startswith("WRKJSON "):
                result = json.loads(line[len("WRKJSON "):])
            elif line.startswith("WRKHIST"):
                hist = [tuple(map(int, pair.split(":"))) for pair in line[len("WRKHIST"):].split()]
            elif line.startswith("WRKTIMELINE"):
                timeline = {}
                for triple in line[len("WRKTIMELINE"):].split():
                    second, status, count = map(int, triple.split(":"))
                    timeline[(second, status)] = count
        if result is None or (self.histogram and hist is None) or (self.timeline and timeline is None):
            raise RuntimeError(f"wrk gave no summary (rc {self.proc.returncode}):\n{stdout}\n{stderr}")
        if self.histogram:
            result["histogram"] = hist
        if self.timeline:
            result["timeline"] = timeline
        return result


def merge_histograms(histograms):
    """Several wrk latency histograms ([(µs, count)]) as one {µs: count}."""
    merged = {}
    for hist in histograms:
        for value, count in hist:
            merged[value] = merged.get(value, 0) + count
    return merged


def hist_percentile(merged, p):
    """wrk's own percentile (stats.c, stats_percentile) over a merged histogram {µs: count}:
    the smallest latency whose cumulative count reaches round(p/100 * n + 0.5)."""
    n = sum(merged.values())
    if not n:
        return 0
    rank = math.floor(p / 100 * n + 0.5 + 0.5)  # C's round() of a positive number
    total = 0
    for value in sorted(merged):
        total += merged[value]
        if total >= rank:
            return value
    return max(merged)


def proc_cpu_seconds(pid):
    """utime + stime of a process, every thread included (dead ones too), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14, stime 15 (1-based, man 5 proc).
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_cpu_seconds(pid):
    """(main thread, other threads) CPU time of a live process, in seconds, from each thread's
    /proc/<pid>/task/<tid>/schedstat (run time in ns: the per-thread utime/stime of
    /proc/<tid>/stat are tick samples, too coarse for short bursts). For an nginx worker the
    main thread is the event loop (nginx's HTTP and TLS, and Sesame's `begin`), the others are
    its thread pool (Sesame's jobs: Redis, provider HTTPS, token checks), which live as long
    as the worker."""
    main = other = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            seconds = int((task / "schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):  # the thread just exited
            continue
        if task.name == str(pid):
            main += seconds
        else:
            other += seconds
    return main, other


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def redis_calls(redis):
    """Cumulative GET and SET calls (INFO commandstats) of the rig's redis-server."""
    text = redis.command("INFO", "commandstats")
    calls = {"get": 0, "set": 0}
    kinds = {"get": "get", "mget": "get", "set": "set", "setex": "set", "psetex": "set"}
    for name, n in re.findall(r"^cmdstat_(\w+):calls=(\d+)", text, re.M):
        if name in kinds:
            calls[kinds[name]] += int(n)
    return calls


class Row:
    def __init__(self, label, group, result, base=None):
        self.label = label
        self.group = group
        self.result = result
        self.base = base
        self.unit = "req/s"
        self.cpu_us_per_req = None
        self.redis_get = None
        self.redis_set = None
        self.rss_growth_mib = None
        self.extra = ""
        self.invalid = ""

    @property
    def rate(self):
        return self.result["requests"] / max(self.result["duration_us"] / 1e6, 1e-9)

    @property
    def ratio(self):
        return self.rate / self.base.rate if self.base else None

    @property
    def added_p99_ms(self):
        return (self.result["p99_us"] - self.base.result["p99_us"]) / 1000 if self.base else None

    @property
    def p99_ratio(self):
        return self.result["p99_us"] / max(self.base.result["p99_us"], 1) if self.base else None

    def redis_per_1k(self):
        if self.redis_get is None:
            return ""
        n = max(self.result["requests"], 1)
        return f"{self.redis_get * 1000 / n:.2f} / {self.redis_set * 1000 / n:.2f}"

    def brief(self):
        s = (f"{self.label}: {self.rate:.0f} {self.unit}, p50 {self.result['p50_us'] / 1000:.2f} ms, "
             f"p99 {self.result['p99_us'] / 1000:.2f} ms")
        if self.cpu_us_per_req is not None:
            s += f", worker CPU {self.cpu_us_per_req:.0f} µs/{'login' if self.group == 'login' else 'req'}"
        if self.extra:
            s += f" [{self.extra}]"
        if self.invalid:
            s += f" INVALID: {self.invalid}"
        return s

    def as_dict(self):
        return {
            "label": self.label, "group": self.group, "unit": self.unit, "rate": self.rate,
            "p50_ms": self.result["p50_us"] / 1000, "p99_ms": self.result["p99_us"] / 1000,
            "ratio": self.ratio, "added_p99_ms": self.added_p99_ms, "p99_ratio": self.p99_ratio,
            "cpu_us_per_req": self.cpu_us_per_req, "redis_get": self.redis_get,
            "redis_set": self.redis_set, "requests": self.result["requests"],
            "rss_growth_mib": self.rss_growth_mib, "extra": self.extra, "invalid": self.invalid,
        }


def _fmt(v, spec):
    return "" if v is None else format(v, spec)


def format_table(rows, key, started, machine, args, load_after):
    head = ("| Row | Rate | p50 ms | p99 ms | ÷ base | p99 − base ms | server CPU µs/req | "
            "Redis GET / SET per 1000 req |")
    lines = [
        f"Sesame bench, {started}, {machine}",
        f"nginx worker_processes {args.workers}, thread_pool {args.pool_threads}; Apache event "
        f"MPM, 1 child x 64 threads; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.seconds:g}s, HTTPS keep-alive; load after: "
        f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}",
        "",
        head,
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cpu = r.cpu_us_per_req
        cpu_text = "" if cpu is None else (f"{cpu / 1000:.2f} ms/login" if r.group == "login"
                                           else f"{cpu:.0f}")
        lines.append(
            f"| {r.label}{' (INVALID)' if r.invalid else ''} | {r.rate:,.0f} {r.unit} | "
            f"{r.result['p50_us'] / 1000:.2f} | {r.result['p99_us'] / 1000:.2f} | "
            f"{_fmt(r.ratio, '.3f')} | {_fmt(r.added_p99_ms, '+.2f')} | {cpu_text} | "
            f"{r.redis_per_1k()} |"
        )
    notes = [f"- {r.label}: {r.extra}" for r in rows if r.extra]
    notes += [f"- {r.label}: INVALID: {r.invalid}" for r in rows if r.invalid]
    if notes:
        lines += [""] + notes
    lines += [""] + goals(key)
    return "\n".join(lines)


def _ratio_text(prot, unprot):
    return (f"{prot.rate / unprot.rate:.3f}, added p99 "
            f"{(prot.result['p99_us'] - unprot.result['p99_us']) / 1000:+.2f} ms")


def medians_text(stall):
    medians = getattr(stall, "window_p99_medians", None)
    if not medians:
        return ""
    return f"; median of the windows' own p99: {medians[0]:.2f} -> {medians[1]:.2f} ms"


def goals(k):
    """The performance goals (README, Performance) next to the measured figures (informative, never a failure)."""
    out = ["Performance goals — measured:"]
    if {"nginx_prot", "nginx_unprot", "nginx_bare"} <= k.keys():
        out.append(
            f"- nginx static protected/unprotected >= 0.90 and added p99 <= 1 ms: "
            f"{_ratio_text(k['nginx_prot'], k['nginx_unprot'])} "
            f"(protected/bare: {_ratio_text(k['nginx_prot'], k['nginx_bare'])})"
        )
    if {"apache_prot", "apache_unprot"} <= k.keys():
        line = (f"- Apache static protected/unprotected >= 0.90: "
                f"{_ratio_text(k['apache_prot'], k['apache_unprot'])}")
        if {"oidc_prot", "oidc_unprot"} <= k.keys():
            line += (f"; mod_auth_openidc, same run: "
                     f"{_ratio_text(k['oidc_prot'], k['oidc_unprot'])}")
        out.append(line)
    prot = k.get("nginx_prot")
    if prot is not None and prot.redis_get is not None:
        out.append(
            f"- no Redis round trip on most requests: {prot.redis_get} GET, {prot.redis_set} SET "
            f"over {prot.result['requests']} protected requests of one session "
            f"(sesame_session_cache 5s; activity written at most once a minute)"
        )
    mem = k.get("nginx_mem")
    if mem is not None:
        warm = getattr(mem, "rss_pool_warmup_mib", 0.0)
        out.append(
            f"- worker memory growth <= 10 MiB: {mem.rss_growth_mib:+.1f} MiB "
            f"({warm:+.1f} MiB the thread pool's one-time warm-up, "
            f"{mem.rss_growth_mib - warm:+.1f} MiB the sessions); Redis "
            f"{mem.redis_get} GET, {mem.redis_set} SET over {mem.result['requests']} requests"
        )
    for key, name in (("nginx_login", "nginx"), ("apache_login", "Apache mod_sesame"),
                      ("oidc_login", "Apache mod_auth_openidc")):
        login = k.get(key)
        if login is not None:
            split = getattr(login, "cpu_split", None)
            detail = ("whole server process: its TLS and HTTP of the login's hops included"
                      if split is None else
                      f"whole worker; of which thread pool (Sesame's jobs) {split[1]:.2f} ms, "
                      f"event loop {split[0]:.2f} ms (nginx's HTTP and TLS of the login's 3 "
                      f"requests, and Sesame's begin)")
            out.append(f"- CPU per login <= 1 ms ({name}): {login.cpu_us_per_req / 1000:.2f} ms "
                       f"({detail})")
    for key, name, goal in (("nginx_stall", "nginx, logged-in users, session_cache 0", 2.0),
                            ("apache_stall", "Apache mod_sesame", 1.2),
                            ("oidc_stall", "Apache mod_auth_openidc", 1.2)):
        stall = k.get(key)
        if stall is not None:
            over = getattr(stall, "windows", None)
            errors = sum(stall.result.get(e, 0)
                         for e in ("connect", "read", "write", "status", "timeout"))
            # Connections the server closed (Apache's event MPM with its threads waiting) do not
            # show in the p99, which is over the requests answered: the throughput and the
            # errors are printed beside it.
            out.append(f"- stall test p99 <= {goal:g}x baseline ({name}): {stall.p99_ratio:.2f}x "
                       f"({stall.base.result['p99_us'] / 1000:.2f} -> "
                       f"{stall.result['p99_us'] / 1000:.2f} ms"
                       f"{', while the logins waited, ' + over + ' each side' if over else ''}"
                       f"{medians_text(stall)}"
                       f"; throughput {stall.ratio:.2f}x, {errors} wrk errors"
                       f"{' = connections closed by the server' if errors else ''})"
                       f"{' INVALID: ' + stall.invalid if stall.invalid else ''}")
    return out
