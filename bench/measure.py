"""What `make bench` reads and prints: wrk runs, /proc figures, Redis command counts, the table."""

import json
import os
import re
import subprocess
from pathlib import Path

LUA = Path(__file__).resolve().parent / "wrk_report.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def wrk(url, seconds, connections, threads, cookie=None, cookie_file=None):
    """One wrk run; returns the summary dict printed by wrk_report.lua (latencies in µs)."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
            "-s", str(LUA)]
    if cookie:
        argv += ["-H", f"Cookie: __Host-sesame={cookie}"]
    env = dict(os.environ)
    env.pop("SESAME_BENCH_COOKIES", None)
    if cookie_file:
        env["SESAME_BENCH_COOKIES"] = str(cookie_file)
    argv.append(url)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, env=env)
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            return json.loads(line[len("WRKJSON "):])
    raise RuntimeError(f"wrk gave no summary (rc {out.returncode}):\n{out.stdout}\n{out.stderr}")


def proc_cpu_seconds(pid):
    """utime + stime of a process, every thread included (dead ones too), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14, stime 15 (1-based, man 5 proc).
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def redis_calls(redis):
    """Cumulative GET and SET calls (INFO commandstats) of the rig's redis-server."""
    text = redis.command("INFO", "commandstats")
    calls = {"get": 0, "set": 0}
    for name, n in re.findall(r"^cmdstat_(\w+):calls=(\d+)", text, re.M):
        if name in calls:
            calls[name] = int(n)
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


def format_table(rows, started, machine, args, load_after):
    head = ("| Row | Rate | p50 ms | p99 ms | ÷ base | p99 − base ms | nginx CPU µs/req | "
            "Redis GET / SET per 1000 req |")
    lines = [
        f"Sesame bench, {started}, {machine}",
        f"nginx worker_processes {args.workers}, wrk -t{args.threads} -c{args.connections} "
        f"-d{args.seconds:g}s over HTTPS keep-alive; load after: "
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
    lines += [""] + goals(rows)
    return "\n".join(lines)


def _find(rows, label_start):
    return next((r for r in rows if r.label.startswith(label_start)), None)


def goals(rows):
    """The goals of issue 7 next to the measured figures (informative, never a failure)."""
    out = ["Goals (issue 7) — measured:"]
    unprot = _find(rows, "static, unprotected")
    prot = _find(rows, "static, protected")
    bare = _find(rows, "static, bare")
    if prot and unprot and bare:
        out.append(
            f"- nginx static protected/unprotected >= 0.90: {prot.rate / unprot.rate:.3f} "
            f"(protected/bare {prot.rate / bare.rate:.3f}); added p99 <= 1 ms: "
            f"{(prot.result['p99_us'] - unprot.result['p99_us']) / 1000:+.2f} ms vs unprotected, "
            f"{prot.added_p99_ms:+.2f} ms vs bare"
        )
    for r in rows:
        if r.group == "apache-ratio":
            out.append(f"- {r.label}")
    if prot and prot.redis_get is not None:
        out.append(
            f"- no Redis round trip on most requests: {prot.redis_get} GET, {prot.redis_set} SET "
            f"over {prot.result['requests']} protected requests (one session)"
        )
    mem = _find(rows, "protected, ")
    if mem and mem.rss_growth_mib is not None:
        out.append(
            f"- worker memory growth <= 10 MiB: {mem.rss_growth_mib:+.1f} MiB; Redis "
            f"{mem.redis_get} GET, {mem.redis_set} SET over {mem.result['requests']} requests"
        )
    login = _find(rows, "complete logins")
    if login:
        out.append(f"- module CPU per login <= 1 ms: {login.cpu_us_per_req / 1000:.2f} ms "
                   f"(whole nginx worker, TLS and HTTP of the 3 nginx hops included)")
    stall = _find(rows, "unprotected, 50 logins")
    if stall:
        out.append(f"- stall test p99 <= 1.2x baseline: {stall.p99_ratio:.2f}x "
                   f"({stall.base.result['p99_us'] / 1000:.2f} -> {stall.result['p99_us'] / 1000:.2f} ms)")
    return out
