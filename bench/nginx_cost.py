#!/usr/bin/env python3
"""`make cost-nginx`: what a protected request costs inside a real nginx worker, in instructions.

`make cost` measures Sesame's core and the module's Rust glue in a harness; this script measures
the whole worker instead, so that what the harness cannot see (nginx's phases around the access
handler, the module's C-facing glue, the Cookie header rewritten, the response headers Sesame
adds) shows too. It runs the release nginx and module with one process (`master_process off`)
under `valgrind --tool=callgrind`, with redis-server and the FranceConnect emulator beside it,
logs in once through the emulator (a real login), then, on one keep-alive HTTPS connection:

  unprotected   GET of a static file in a location without Sesame, with the session cookie
                (the same request bytes as the protected one, so TLS and parsing cost alike)
  protected     GET of the same file in a location with `sesame fc;` (a session-cache hit)

Counters are zeroed before and dumped after each batch (`callgrind_control`), so nginx's start,
the login and the TLS handshake are left out. Printed: instructions per request for both, the
difference (Sesame's whole cost on a cache hit), and the functions that make the difference
(inclusive instructions per request in the protected batch, module and core functions first).
Only the event loop's instructions count (`ngx_process_events_and_timers`, inclusive): the
thread pool and the revocation feed's heartbeat keep their own time, not the requests'.
Instruction counts do not depend on the machine's load; under valgrind SHA-256 runs its portable
code (no SHA extensions), so the cookie MAC's share is larger than it is natively.
"""

import argparse
import http.client
import os
import re
import shutil
import ssl
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

from e2e_rig.browser import Browser  # noqa: E402
from e2e_rig.nginx import NginxSite  # noqa: E402
from e2e_rig.redis_topologies import RedisNode  # noqa: E402
from e2e_rig.services import EchoApp, Emulator, PhpFpm, Pki  # noqa: E402
from measure import STATIC_BODY  # noqa: E402
from run import release_binaries  # noqa: E402

LOCATIONS = """\
        location = /static.html { }
        location /protected/ {
            sesame fc;
            alias html/;
        }
"""
PROTECTED, UNPROTECTED = "/protected/static.html", "/static.html"


def start_under_callgrind(site, conf, out):
    """nginx in one process under callgrind; returns (Popen, pid) once it answers."""
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--collect-systime=no", str(os.environ["SESAME_NGINX_BIN"]), "-p", str(site.prefix),
            "-c", str(conf)]
    log = open(site.prefix / "logs" / "valgrind.log", "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"nginx_cost: nginx under valgrind exited ({proc.returncode}); see "
                     f"{site.prefix / 'logs'}")
        try:
            conn = http.client.HTTPSConnection("127.0.0.1", site.port, timeout=30,
                                               context=ssl._create_unverified_context())
            conn.request("GET", UNPROTECTED)
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    sys.exit("nginx_cost: nginx under valgrind did not answer within 120 s")


def callgrind_control(pid, flag):
    subprocess.run(["callgrind_control", flag, str(pid)], check=True, capture_output=True)


def batch(site, path, cookie, n):
    """n GETs on one keep-alive connection; every answer must be 200."""
    conn = http.client.HTTPSConnection("127.0.0.1", site.port, timeout=60,
                                       context=ssl._create_unverified_context())
    headers = {"Cookie": cookie, "User-Agent": "nginx-cost"}
    for _ in range(n):
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            sys.exit(f"nginx_cost: {path} answered {resp.status}")
    conn.close()


def measured(pid, site, path, cookie, n, out_dir, name):
    """Instructions of n requests (counters zeroed before, dumped after): the dump's file."""
    before = set(out_dir.glob("callgrind.out*"))
    callgrind_control(pid, "-z")
    batch(site, path, cookie, n)
    subprocess.run(["callgrind_control", "-d", name, str(pid)], check=True, capture_output=True)
    for _ in range(100):
        new = set(out_dir.glob("callgrind.out*")) - before
        if new:
            return max(new, key=os.path.getmtime)
        time.sleep(0.1)
    sys.exit("nginx_cost: callgrind wrote no dump")


def annotate(dump):
    """(total Ir, {function: inclusive Ir}) of a dump."""
    text = subprocess.run(["callgrind_annotate", "--auto=no", "--inclusive=yes", "--threshold=100",
                           str(dump)], check=True, capture_output=True, text=True).stdout
    costs = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(?:[^:\s]*:)?(.+?)(?:\s+\[[^\]]*\])?$", line)
        if m and "PROGRAM TOTALS" not in line and not m.group(2).startswith("=>"):
            try:
                ir = int(m.group(1).replace(",", ""))
            except ValueError:
                continue
            name = m.group(2).strip()
            costs[name] = max(ir, costs.get(name, 0))
    # The event loop's work only: the process's other threads (the thread pool, the revocation
    # feed's heartbeat) run on their own clocks, not per request.
    total = max((ir for name, ir in costs.items()
                 if re.search(r"ngx_process_events_and_timers\b", name)), default=0)
    if not total:
        sys.exit(f"nginx_cost: no ngx_process_events_and_timers in {dump}")
    return total, costs


def self_costs(dump):
    """{function: exclusive Ir} of a dump."""
    text = subprocess.run(["callgrind_annotate", "--auto=no", "--threshold=100", str(dump)], check=True,
                          capture_output=True, text=True).stdout
    costs = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(?:[^:\s]*:)?(.+?)(?:\s+\[[^\]]*\])?$", line)
        if m and "PROGRAM TOTALS" not in line and not m.group(2).startswith("=>"):
            try:
                costs[m.group(2).strip()] = costs.get(m.group(2).strip(), 0) + int(m.group(1).replace(",", ""))
            except ValueError:
                continue
    return costs


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000, help="requests per batch")
    ap.add_argument("--top", type=int, default=25, help="functions listed")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate", "redis-server"):
        if not shutil.which(tool):
            sys.exit(f"nginx_cost: {tool} not found (apt-get install valgrind redis-server)")

    workdir = Path(tempfile.mkdtemp(prefix="sesame-nginx-cost-"))
    release_binaries(workdir)
    pki = Pki(workdir / "pki")
    emulator = Emulator(workdir / "emulator", pki)
    php, echo = PhpFpm(workdir / "php-fpm"), EchoApp()
    redis = RedisNode(workdir / "redis")
    started = [emulator, php, echo, redis]
    proc = None
    try:
        env = SimpleNamespace(pki=pki, redis=SimpleNamespace(url=f"redis://127.0.0.1:{redis.port}/0"),
                              emulator=emulator, php=php, echo=echo)
        site = NginxSite(env, workdir / "nginx", locations=LOCATIONS)
        site.files["html/static.html"] = STATIC_BODY
        # Longer than the run: every measured protected request is a session-cache hit.
        site.http["session_cache"] = "10m"
        site.providers["fc"]["http_timeout"] = "30s"
        conf = site.render()
        for old, new in (("access_log logs/access.log;", "access_log off;"),
                         ("master_process on;", "master_process off;")):
            if old not in conf:
                sys.exit(f"nginx_cost: the rig's nginx template changed: {old!r} not found")
            conf = conf.replace(old, new)
        site.prepare(conf)
        site.register_clients()
        conf_path = site.prefix / "conf" / "nginx.conf"
        out_dir = site.prefix / "callgrind"
        out_dir.mkdir()
        proc = start_under_callgrind(site, conf_path, out_dir / "callgrind.out")

        browser = Browser(pki.ca, site.base)
        login = browser.login(site.base + PROTECTED)
        if login.final.status_code != 200:
            sys.exit(f"nginx_cost: the login ended with {login.final.status_code}")
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies().items())
        batch(site, PROTECTED, cookie, 20)  # warm: the session in the cache, lazy state made
        batch(site, UNPROTECTED, cookie, 20)

        n = args.requests
        figures = {}
        for name, path in (("unprotected", UNPROTECTED), ("protected", PROTECTED)):
            dump = measured(proc.pid, site, path, cookie, n, out_dir, name)
            figures[name] = annotate(dump) + (self_costs(dump),)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for svc in reversed(started):
            try:
                svc.stop()
            except Exception as exc:  # keep stopping the others
                print(f"nginx_cost: stopping {svc!r}: {exc}", file=sys.stderr)
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    (u_total, _, u_self), (p_total, p_costs, p_self) = figures["unprotected"], figures["protected"]
    print(f"\nnginx worker instructions per request (callgrind, {n} requests per batch, one "
          f"keep-alive HTTPS connection, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}):\n")
    print("| Request | instructions per request |")
    print("|---|---:|")
    print(f"| static file, unprotected location (session cookie sent) | {u_total / n:,.0f} |")
    print(f"| static file, protected location (session-cache hit) | {p_total / n:,.0f} |")
    print(f"| difference: Sesame's whole cost in the worker | {(p_total - u_total) / n:,.0f} |")
    print(f"| protected ÷ unprotected | {p_total / max(u_total, 1):.3f} |")
    module = {k: v for k, v in p_costs.items()
              if re.search(r"sesame|ngx_sesame|ngx_http_sesame", k)}
    print(f"\nSesame's functions in the protected batch (inclusive instructions per request, "
          f"top {args.top}; nested calls overlap):\n")
    print("| Function | instructions per request |")
    print("|---|---:|")
    for name, ir in sorted(module.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"| `{name[:110]}` | {ir / n:,.0f} |")
    print_self_differences(u_self, p_self, n, args.top)


def print_self_differences(u_self, p_self, n, top):
    """The functions whose own instructions grew most from the unprotected to the protected
    batch: where the difference is spent, whoever's code it is (nginx, OpenSSL, libc, Sesame)."""
    diff = {k: p_self.get(k, 0) - u_self.get(k, 0) for k in set(u_self) | set(p_self)}
    print(f"\nWhere the difference goes: own instructions per request, protected minus "
          f"unprotected (top {top}):\n")
    print("| Function | instructions per request |")
    print("|---|---:|")
    for name, ir in sorted(diff.items(), key=lambda kv: -kv[1])[:top]:
        print(f"| `{name[:110]}` | {ir / n:+,.0f} |")


if __name__ == "__main__":
    main()
