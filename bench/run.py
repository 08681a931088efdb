#!/usr/bin/env python3
"""`make bench`: Sesame's cost measured beside the bare server, on loopback, in one run.

Starts redis-server, the FranceConnect emulator, php-fpm and nginx (the release build of the
module) with the e2e rig's classes, then measures with wrk (Debian's, HTTPS, keep-alive):

  a  static file: nginx without the module (bare), with the module but unprotected
  b  the same file protected, with a valid session (one real login through the emulator)
  c  a small PHP page (php-fpm): bare, protected
  d  complete logins per second (protected URL -> emulator login page -> callback -> page), and
     the nginx worker's CPU per login from /proc/<pid>/stat (utime+stime), split between its
     event loop (nginx's HTTP/TLS of the login's 3 requests, Sesame's begin) and its thread
     pool (Sesame's jobs) from /proc/<pid>/task; the emulator is another process, so provider
     time is excluded by construction
  e  stall test: p99 of logged-in users' requests (a protected file, `sesame_session_cache 0`
     so that each request reads its session from Redis in a job on nginx's thread pool) while
     50 logins wait on a token endpoint that answers after 2 s, against the same measurement
     without them; on its own nginx whose provider exchanges run on `sesame_provider_thread_pool`
     (64 threads, `sesame_provider_concurrency 64`: all 50 logins wait at the provider). For
     Apache, unprotected requests. In waves: the 50 callbacks
     are sent at once, and wrk measures a 1 s window while all of them wait (none answered, the
     first token answer not yet due), then the wave completes outside any window; a baseline
     window of the same length (wrk alone) precedes or follows each, alternately. p50/p99 are
     over every request of the windows kept (their wrk latency histograms merged)
  f  memory: nginx worker RSS before/after 100 000 protected requests over 10 000 sessions (the
     sessions are copies of a real one, stored by the core itself: bench/seed_sessions.rs), and
     Redis GET/SET calls per request (INFO commandstats) for rows b, c, f
  A  Apache (event MPM): bare, mod_sesame, mod_auth_openidc with its Redis cache — when the
     Apache module is present in this tree (skipped with a message otherwise)

Ratios are against the bare server's row in the same run. Nothing here asserts the goals: the
figures are printed, and summarised against the performance goals at the end.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from e2e_rig.browser import Browser, raw_request  # noqa: E402
from e2e_rig.nginx import NginxSite  # noqa: E402
from e2e_rig.paths import target_dir  # noqa: E402
from e2e_rig.services import EchoApp, Emulator, PhpFpm, Pki, Redis  # noqa: E402

sys.path.insert(0, str(BENCH))
import apache_rows  # noqa: E402
from measure import (  # noqa: E402
    STATIC_BODY, Row, format_table, hist_percentile, merge_histograms, proc_cpu_seconds, redis_calls, rss_kib,
    thread_cpu_seconds, wrk,
)

SESSION_COOKIE = "__Host-sesame"


def php_params(script):
    """FastCGI parameters for the bench's PHP page (nginx's fastcgi_params is not in the prefix)."""
    return f"""\
fastcgi_param SCRIPT_FILENAME {script};
fastcgi_param SCRIPT_NAME     /hello.php;
fastcgi_param QUERY_STRING    $query_string;
fastcgi_param REQUEST_METHOD  $request_method;
fastcgi_param REQUEST_URI     $request_uri;
fastcgi_param SERVER_PROTOCOL $server_protocol;
fastcgi_param HTTPS           $https if_not_empty;
fastcgi_param REMOTE_ADDR     $remote_addr;
"""


SESAME_LOCATIONS = """\
        location = /static.html { }
        location = /hello.php {
            include bench_php;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /protected/ {
            sesame fc;
            alias html/;
        }
        location = /protected/hello.php {
            sesame fc;
            include sesame_fastcgi_params;
            include bench_php;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location = /logout {
            sesame_logout fc;
        }
"""

BARE_LOCATIONS = """\
        location = /static.html { }
        location = /hello.php {
            include bench_php;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
"""


def release_binaries(workdir):
    """The release nginx and module, copied into the run's directory (a concurrent build in the
    shared target dir cannot swap them under the run)."""
    found = sorted(
        (target_dir() / "release" / "build").glob("nginx-sys-*/out/objs/nginx"),
        key=os.path.getmtime,
    )
    module = target_dir() / "release" / "libngx_http_sesame_module.so"
    seeder = target_dir() / "release" / "examples" / "bench_seed_sessions"
    for path, what in ((module, "module"), (seeder, "session seeder")):
        if not path.is_file():
            sys.exit(f"bench: release {what} {path} missing: run `make bench` (it builds them)")
    if not found:
        sys.exit("bench: no release nginx under target/release/build/nginx-sys-*: run `make bench`")
    bindir = workdir / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    out = SimpleNamespace()
    for name, src in (("nginx", found[-1]), ("module.so", module), ("seed", seeder)):
        shutil.copy2(src, bindir / name)
    out.nginx, out.module, out.seed = bindir / "nginx", bindir / "module.so", bindir / "seed"
    os.environ["SESAME_NGINX_BIN"] = str(out.nginx)
    os.environ["SESAME_NGINX_MODULE"] = str(out.module)
    return out


def tune(conf_text, args):
    """The rig's template, adjusted for measuring: worker count, no access log, the thread pool
    size (default nginx's own default, 32), more connections."""
    for old, new in (
        ("worker_processes 1;", f"worker_processes {args.workers};"),
        ("thread_pool default threads=4;", f"thread_pool default threads={args.pool_threads};"),
        ("access_log logs/access.log;", "access_log off;"),
        ("worker_connections 512;", "worker_connections 4096;"),
    ):
        if old not in conf_text:
            raise RuntimeError(f"the rig's nginx template changed: {old!r} not found")
        conf_text = conf_text.replace(old, new)
    return conf_text


def start_site(site, args):
    site.files["conf/bench_php"] = php_params(BENCH / "hello.php")
    site.files["html/static.html"] = STATIC_BODY
    conf = tune(site.render(), args)
    site.prepare(conf)
    site.register_clients()
    from e2e_rig.nginx import Nginx
    return Nginx(site, site.prefix / "conf" / "nginx.conf")


def response_size(port, path, ca, cookie=None):
    """(status, bytes on the wire) of one keep-alive-free probe, to check what wrk received.
    `cookie`: "name=value" or None."""
    headers = [("Cookie", cookie)] if cookie else []
    status, hdrs, body = raw_request(port, path, headers=headers, ca=ca)
    size = len(f"HTTP/1.1 {status} X\r\n") + sum(len(k) + len(v) + 4 for k, v in hdrs) + 2 + len(body)
    return status, size


class Bench:
    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.rows = []
        self.key = {}  # the rows the goals are read from
        self.notes = []
        self.started = []

    # ---- services -------------------------------------------------------------------------
    def start(self):
        w = self.workdir
        self.bins = release_binaries(w)
        self.pki = Pki(w / "pki")
        self.redis = self._keep(Redis(w / "redis"))
        self.emulator = self._keep(Emulator(w / "emulator", self.pki))
        self.php = self._keep(PhpFpm(w / "php-fpm"))
        self.echo = self._keep(EchoApp())
        self.env = SimpleNamespace(pki=self.pki, redis=self.redis, emulator=self.emulator,
                                   php=self.php, echo=self.echo)
        self.bare_site = NginxSite(self.env, w / "nginx-bare", sesame=False, locations=BARE_LOCATIONS)
        self.bare = self._keep(start_site(self.bare_site, self.args))
        self.site = NginxSite(self.env, w / "nginx-sesame", locations=SESAME_LOCATIONS)
        # Longer than the stall test's 2 s token delay.
        self.site.providers["fc"]["http_timeout"] = "10s"
        self.nginx = self._keep(start_site(self.site, self.args))
        self.stall_nginx = None

    def stall_server(self):
        """Row e's nginx: logged-in users read their session from Redis at every request, and
        provider exchanges have a thread pool of their own, large enough for all 50 logins
        (--stall-shared-pool: the defaults instead, one shared pool and
        sesame_provider_concurrency 8, so that 8 logins wait and the others are told "busy")."""
        if self.stall_nginx is None:
            site = NginxSite(self.env, self.workdir / "nginx-stall", locations=SESAME_LOCATIONS)
            site.providers["fc"]["http_timeout"] = "10s"
            site.http["session_cache"] = "0"
            if not self.args.stall_shared_pool:
                site.http["provider_thread_pool"] = "sesame_provider"
                site.http["provider_concurrency"] = "64"
                site.extra_main = "thread_pool sesame_provider threads=64;"
            self.stall_nginx = self._keep(start_site(site, self.args))
        return self.stall_nginx

    def _keep(self, svc):
        self.started.append(svc)
        return svc

    def stop(self):
        for svc in reversed(self.started):
            try:
                svc.stop()
            except Exception as exc:  # keep stopping the others
                print(f"bench: stopping {svc!r}: {exc}", file=sys.stderr)

    def browser(self, base=None):
        return Browser(self.pki.ca, site_base=base or self.nginx.base)

    # ---- one wrk row ----------------------------------------------------------------------
    def measure(self, label, server, path, group, cookie=None, cookie_file=None, seconds=None,
                check=True, pids=None, base=None):
        seconds = seconds or self.args.seconds
        url = server.base + path
        expected = None
        if check:
            status, expected = response_size(server.port, path, self.pki.ca, cookie)
            if status != 200:
                raise RuntimeError(f"{label}: probe of {url} answered {status}, not 200")
        pids = pids or server.worker_pids()
        # Warm-up (connections, caches), not measured.
        wrk(url, 1, self.args.connections, self.args.threads, cookie=cookie, cookie_file=cookie_file)
        cpu0 = sum(proc_cpu_seconds(p) for p in pids)
        calls0 = redis_calls(self.redis)
        result = wrk(url, seconds, self.args.connections, self.args.threads,
                     cookie=cookie, cookie_file=cookie_file)
        cpu1 = sum(proc_cpu_seconds(p) for p in pids)
        calls1 = redis_calls(self.redis)
        row = Row(label, group, result, base=base)
        row.cpu_us_per_req = (cpu1 - cpu0) * 1e6 / max(result["requests"], 1)
        row.redis_get = calls1["get"] - calls0["get"]
        row.redis_set = calls1["set"] - calls0["set"]
        if expected is not None:
            per_req = result["bytes"] / max(result["requests"], 1)
            # Keep-alive vs the probe's Connection: close, chunked PHP bodies: a few dozen bytes.
            # A login redirect instead of the page would differ by hundreds.
            if abs(per_req - expected) > 64:
                row.invalid = f"{per_req:.0f} bytes/response, expected ~{expected}"
        errors = {k: result[k] for k in ("connect", "read", "write", "status", "timeout")
                  if result[k]}
        if errors:
            row.invalid = (row.invalid + "; " if row.invalid else "") + f"wrk errors {errors}"
        self.rows.append(row)
        print(f"  {row.brief()}", flush=True)
        return row

    def measure_interleaved(self, specs, group):
        """Rows whose ratios are compared (bare vs protected), measured in alternation: the row's
        time is cut into `--rounds` wrk runs per row, taken in turn (in a rotating order), so
        that drift in the machine's load hits every row alike. Rates add up the runs;
        percentiles come from the runs' merged latency histograms (wrk's own rule).

        `specs`: (key, label, server, path, cookie, base key) in order; returns {key: Row}."""
        rounds = max(1, min(self.args.rounds, int(self.args.seconds)))
        seconds = max(1, int(self.args.seconds) // rounds)
        parts = {spec[0]: [] for spec in specs}
        cpu = {spec[0]: 0.0 for spec in specs}
        redis = {spec[0]: {"get": 0, "set": 0} for spec in specs}
        for key, label, server, path, cookie, _ in specs:
            status, _ = response_size(server.port, path, self.pki.ca, cookie)
            if status != 200:
                raise RuntimeError(f"{label}: probe of {server.base + path} answered {status}")
            wrk(server.base + path, 1, self.args.connections, self.args.threads, cookie=cookie)
        for r in range(rounds):
            for key, label, server, path, cookie, _ in specs[r % len(specs):] + specs[:r % len(specs)]:
                pids = server.worker_pids()
                cpu0, calls0 = sum(proc_cpu_seconds(p) for p in pids), redis_calls(self.redis)
                parts[key].append(wrk(server.base + path, seconds, self.args.connections,
                                      self.args.threads, cookie=cookie, histogram=True))
                cpu[key] += sum(proc_cpu_seconds(p) for p in pids) - cpu0
                calls1 = redis_calls(self.redis)
                for op in ("get", "set"):
                    redis[key][op] += calls1[op] - calls0[op]
        rows = {}
        for key, label, server, path, cookie, base_key in specs:
            runs = parts[key]
            result = {k: sum(run[k] for run in runs)
                      for k in ("requests", "duration_us", "bytes", "connect", "read", "write",
                                "status", "timeout")}
            merged = merge_histograms(run["histogram"] for run in runs)
            result["p50_us"] = hist_percentile(merged, 50)
            result["p99_us"] = hist_percentile(merged, 99)
            row = Row(label, group, result, base=rows.get(base_key))
            row.cpu_us_per_req = cpu[key] * 1e6 / max(result["requests"], 1)
            row.redis_get, row.redis_set = redis[key]["get"], redis[key]["set"]
            row.extra = f"{rounds} alternating wrk runs of {seconds} s"
            errors = {k: result[k] for k in ("connect", "read", "write", "status", "timeout")
                      if result[k]}
            if errors:
                row.invalid = f"wrk errors {errors}"
            self.rows.append(row)
            print(f"  {row.brief()}", flush=True)
            rows[key] = row
        return rows

    # ---- rows -----------------------------------------------------------------------------
    def login_cookie(self, server=None, name=SESSION_COOKIE):
        """Logs in once through the emulator; returns the session cookie as "name=value"."""
        server = server or self.nginx
        b = self.browser(server.base)
        login = b.login(server.url("/protected/static.html"))
        if login.final is None or login.final.status_code != 200:
            raise RuntimeError(f"bench login at {server.base} failed: "
                               f"{login.final is not None and login.final.status_code}")
        value = b.cookie(name)
        if not value:
            raise RuntimeError(f"bench login at {server.base}: no {name} cookie")
        return f"{name}={value}"

    def rows_static_and_php(self):
        print("a/b/c: static file and PHP page", flush=True)
        cookie = self.login_cookie()
        k = self.key
        k.update(self.measure_interleaved([
            ("nginx_bare", "nginx bare: static", self.bare, "/static.html", None, None),
            ("nginx_unprot", "nginx+sesame: static, unprotected", self.nginx, "/static.html",
             None, "nginx_bare"),
            ("nginx_prot", "nginx+sesame: static, protected", self.nginx,
             "/protected/static.html", cookie, "nginx_bare"),
        ], "static"))
        bare = self.measure("nginx bare: PHP", self.bare, "/hello.php", "php")
        self.measure("nginx+sesame: PHP, unprotected", self.nginx, "/hello.php", "php", base=bare)
        k["nginx_php_prot"] = self.measure("nginx+sesame: PHP, protected", self.nginx,
                                           "/protected/hello.php", "php", cookie=cookie, base=bare)

    def one_login(self, browser, server):
        browser.session.cookies.clear()
        t0 = time.monotonic()
        login = browser.login(server.url("/protected/static.html"))
        if login.final is None or login.final.status_code != 200:
            raise RuntimeError(f"login ended with {login.final and login.final.status_code}")
        return time.monotonic() - t0

    def row_logins(self, server=None, label="nginx+sesame: complete logins"):
        print(f"d: {label}", flush=True)
        server = server or self.nginx
        clients = self.args.login_clients
        browsers = [self.browser(server.base) for _ in range(clients)]
        for b in browsers:  # connections and provider metadata warm, not measured
            self.one_login(b, server)
        pids = server.worker_pids()
        stop_at = [0.0]
        durations, failures = [], []
        lock = threading.Lock()

        def loop(b):
            while time.monotonic() < stop_at[0]:
                try:
                    d = self.one_login(b, server)
                except Exception as exc:  # counted and reported, the run goes on
                    with lock:
                        failures.append(str(exc)[:200])
                    continue
                with lock:
                    durations.append(d)

        # nginx: the event loop and the thread pool apart (Apache runs jobs on its request
        # threads: only the whole process means something there).
        split = server is self.nginx or isinstance(server, type(self.nginx))
        threads0 = [thread_cpu_seconds(p) for p in pids] if split else None
        cpu0 = sum(proc_cpu_seconds(p) for p in pids)
        emu0 = proc_cpu_seconds(self.emulator.proc.pid)
        calls0 = redis_calls(self.redis)
        t0 = time.monotonic()
        stop_at[0] = t0 + self.args.seconds
        threads = [threading.Thread(target=loop, args=(b,)) for b in browsers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        cpu1 = sum(proc_cpu_seconds(p) for p in pids)
        threads1 = [thread_cpu_seconds(p) for p in pids] if split else None
        emu1 = proc_cpu_seconds(self.emulator.proc.pid)
        calls1 = redis_calls(self.redis)
        n = len(durations)
        durations.sort()
        row = Row(f"{label} ({clients} clients)", "login", {
            "requests": n, "duration_us": elapsed * 1e6,
            "p50_us": durations[n // 2] * 1e6 if n else 0,
            "p99_us": durations[min(n - 1, int(n * 0.99))] * 1e6 if n else 0,
        })
        row.unit = "logins/s"
        row.cpu_us_per_req = (cpu1 - cpu0) * 1e6 / max(n, 1)
        if split:
            row.cpu_split = tuple(
                sum(t1[i] - t0[i] for t0, t1 in zip(threads0, threads1)) * 1e3 / max(n, 1)
                for i in (0, 1))
            # The same total, precise (schedstat): nginx's threads never exit.
            row.cpu_us_per_req = sum(row.cpu_split) * 1e3
        row.redis_get = calls1["get"] - calls0["get"]
        row.redis_set = calls1["set"] - calls0["set"]
        row.extra = ((f"event loop {row.cpu_split[0]:.2f} + thread pool {row.cpu_split[1]:.2f} "
                      f"ms/login; " if split else "") +
                     f"emulator CPU {(emu1 - emu0) * 1e3 / max(n, 1):.1f} ms/login; "
                     f"{len(failures)} failed")
        if failures:
            row.invalid = f"{len(failures)} logins failed, first: {failures[0]}"
        self.rows.append(row)
        print(f"  {row.brief()}", flush=True)
        return row

    def prepare_logins(self, browser, server, count, session_cookie):
        """`count` logins of one browser stopped before the callback (its login cookie holds up
        to 4 pending ones); returns their callback URLs."""
        browser.drop_cookie(session_cookie)
        return [browser.login(server.url("/protected/static.html"),
                              stop_before_callback=True).callback_url for _ in range(count)]

    def pin(self, server, on):
        """--pin, stall test on a 2-CPU machine: the server's worker processes (all their
        threads) on CPU 0, everything else of the run (this process, the emulator, redis, wrk)
        on CPU 1, for the baseline and the stall windows alike. The clients and the emulator are
        idle during the windows (the logins are waiting), so this only separates wrk from the
        server. `on=False` restores both CPUs."""
        cpus = os.cpu_count() or 1
        if cpus < 2 or not self.args.pin:
            return
        every = set(range(cpus))
        server_cpus, other_cpus = ({0}, every - {0}) if on else (every, every)

        def set_all(pid, cpus_):
            for tid in os.listdir(f"/proc/{pid}/task"):
                try:
                    os.sched_setaffinity(int(tid), cpus_)
                except OSError:  # a thread that just exited
                    pass

        for pid in server.worker_pids():
            set_all(pid, server_cpus)
        for pid in (os.getpid(), self.emulator.proc.pid, self.redis.proc.pid):
            set_all(pid, other_cpus)
        os.environ["SESAME_BENCH_WRK_CPUS"] = ",".join(map(str, sorted(other_cpus))) if on else ""

    def row_stall(self, server=None, label="nginx+sesame: unprotected static",
                  session_cookie=SESSION_COOKIE, path="/static.html", logged_in=False):
        """`logged_in`: wrk sends a session cookie of a real login (its requests are those of a
        logged-in user)."""
        print(f"e: stall test, {label}", flush=True)
        server = server or self.nginx
        cookie = self.login_cookie(server, session_cookie) if logged_in else None
        self.pin(server, True)
        try:
            return self._row_stall(server, label, session_cookie, path, cookie)
        finally:
            self.pin(server, False)

    def row_stall_logged_in(self):
        layout = ("shared pool, provider_concurrency 8" if self.args.stall_shared_pool
                  else "provider pool")
        return self.row_stall(self.stall_server(),
                              f"nginx+sesame: protected static, logged in, session_cache 0, "
                              f"{layout}",
                              path="/protected/static.html", logged_in=True)

    def stall_window(self, url, pids, cookie=None):
        """One measuring window of the stall test: a fresh wrk run of --stall-window seconds,
        its whole latency histogram kept; also the server's CPU over it and its wall-clock end."""
        cpu0 = sum(proc_cpu_seconds(p) for p in pids)
        result = wrk(url, self.args.stall_window, self.args.connections, self.args.threads,
                     cookie=cookie, histogram=True)
        result["ended"] = time.time()  # after wrk exited: an upper bound of the window's end
        result["cpu_s"] = sum(proc_cpu_seconds(p) for p in pids) - cpu0
        return result

    def token_arrivals(self):
        """Wall-clock times (the emulator's, recorded before its token_delay sleep) of the token
        requests received since the last clear_requests(), oldest first."""
        return sorted(r["time"] for r in self.emulator.requests()
                      if r["method"] == "POST" and r["path"].split("?")[0].endswith("/token"))

    def _row_stall(self, server, label, session_cookie, path, cookie):
        """Waves: in each, 50 callbacks fired at once, and once they all wait (sent, unanswered;
        their token requests received by the emulator, which answers each `delay` seconds after
        receiving it) a wrk window; then the wave completes, out of any window. A baseline
        window of the same length (wrk alone, no login under way) comes right before the wave
        or right after it, alternately. A window counts only if no login completed
        during it: 50 in flight at its start and at its end, no new token request received
        (nginx's thread pool would send one only after an answer), and its end before the first
        token answer was due. The latency histograms of the windows kept (and of their
        baseline windows) are merged: p50/p99 are over all their requests."""
        args = self.args
        slots, delay, window, waves = 50, args.stall_delay, args.stall_window, args.stall_waves
        # With the default cap, only this many logins wait; the others get 503 "busy" at once.
        shared = args.stall_shared_pool and server is self.stall_nginx
        admitted = 8 if shared else slots
        busy = [0]
        url = server.base + path
        status, expected = response_size(server.port, path, self.pki.ca, cookie)
        if status != 200:
            raise RuntimeError(f"{label}: probe of {url} answered {status}, not 200")
        pids = server.worker_pids()
        # The logins are prepared beforehand, up to 4 per browser (what a login cookie holds),
        # refilled between waves: only the callbacks are sent in a wave.
        per_slot = 4
        browsers = [self.browser(server.base) for _ in range(slots)]
        queues = [[] for _ in range(slots)]
        prep_s = [0.0]

        def refill(left):
            if all(queues):
                return
            t0 = time.monotonic()
            problems = []

            def prep(i):
                try:
                    queues[i] = self.prepare_logins(browsers[i], server, min(per_slot, left),
                                                    session_cookie)
                except Exception as exc:  # reported below
                    problems.append(exc)

            preps = [threading.Thread(target=prep, args=(i,))
                     for i in range(slots) if not queues[i]]
            for t in preps:
                t.start()
            for t in preps:
                t.join()
            prep_s[0] += time.monotonic() - t0
            if problems:
                raise RuntimeError(f"stall test: {len(problems)} browsers could not start "
                                   f"their logins (first: {problems[0]})")

        failures = []

        def fire():
            """Sends one prepared callback per browser, each from its own thread; returns the
            threads and the count of callbacks sent and not yet answered."""
            in_flight = [0]
            lock = threading.Lock()

            def one(i):
                b = browsers[i]
                callback = queues[i].pop(0)
                with lock:
                    in_flight[0] += 1
                refused = False
                try:
                    resp = b.get(callback, timeout=2 * delay + 60)
                    ok = resp.status_code in (302, 303) and b.cookie(session_cookie) is not None
                    refused = shared and resp.status_code == 503
                except Exception as exc:  # counted and reported
                    ok, resp = False, exc
                with lock:
                    in_flight[0] -= 1
                    if refused:
                        busy[0] += 1
                    elif not ok:
                        failures.append(resp)

            self.emulator.clear_requests()
            threads = [threading.Thread(target=one, args=(i,)) for i in range(slots)]
            for t in threads:
                t.start()
            return threads, in_flight

        def settle(in_flight, fired):
            """Waits until every callback is sent and the token requests have stopped arriving
            (all 50, or as many as the server sends at once), and at least --stall-settle
            seconds after firing; returns the arrival times."""
            arrivals, changed = [], fired
            while True:
                now = time.monotonic()
                latest = self.token_arrivals()
                if len(latest) != len(arrivals):
                    arrivals, changed = latest, now
                if in_flight[0] == admitted and now - fired >= args.stall_settle and (
                        len(arrivals) >= admitted or (arrivals and now - changed >= 0.15)):
                    return arrivals
                if now - fired > delay:  # the window would be discarded anyway
                    return arrivals
                time.sleep(0.03)

        # Warm-up (connections, caches), not measured, as in the other rows.
        wrk(url, 1, args.connections, args.threads, cookie=cookie)
        self.emulator.control(token_delay=delay)
        pairs, dropped, notes = [], [], []
        at_provider, margins = set(), []
        try:
            for wave in range(waves + 1):
                refill(waves + 1 - wave)
                time.sleep(0.5)  # the refill's work (clients, emulator, server) is over
                # Baseline windows alternate before and after their stall window (ABBA), so a
                # drift of the machine's load over the row weighs on both sides alike.
                before = wave % 2 == 1
                baseline = self.stall_window(url, pids, cookie) if before else None
                threads, in_flight = fire()
                fired = time.monotonic()
                if wave:  # wave 0 only warms up: pool threads' connections to the provider
                    arrivals = settle(in_flight, fired)
                    start = (in_flight[0], len(arrivals))
                    stalled = self.stall_window(url, pids, cookie)
                    ended = stalled["ended"]
                    end_arrivals = self.token_arrivals()
                    end = (in_flight[0], len(end_arrivals))
                    why = []
                    if start[0] != admitted or end[0] != admitted:
                        why.append(f"logins in flight {start[0]}/{end[0]}")
                    if not arrivals or end[1] != start[1]:
                        why.append(f"token requests received {start[1]}/{end[1]}")
                    margin = (arrivals[0] + delay - ended) if arrivals else None
                    if margin is not None and margin <= 0:
                        why.append(f"ended {-margin * 1000:.0f} ms after the first token answer")
                    errors = {k: stalled[k] for k in ("connect", "read", "write", "status",
                                                     "timeout") if stalled[k]}
                    if errors:
                        dropped.append(f"wave {wave}: {errors}")
                for t in threads:
                    t.join(2 * delay + 90)
                if any(t.is_alive() for t in threads):
                    raise RuntimeError(f"stall test: wave {wave}'s callbacks still unanswered")
                if not wave:
                    continue  # wave 0 only warms up: pool threads' connections to the provider
                if not before:
                    time.sleep(0.5)  # the wave's completion is over
                    baseline = self.stall_window(url, pids, cookie)
                print(f"    wave {wave}: p99 baseline ({'before' if before else 'after'}) "
                      f"{baseline['p99_us'] / 1000:.2f} ms, stall {stalled['p99_us'] / 1000:.2f} "
                      f"ms; in flight {start[0]}/{end[0]}, token requests at the provider "
                      f"{start[1]}/{end[1]}; ended {margin * 1000 if margin else 0:.0f} ms before "
                      f"the first answer{'; DISCARDED: ' + ', '.join(why) if why else ''}",
                      flush=True)
                if why:
                    notes.append(f"wave {wave} discarded: {', '.join(why)}")
                else:
                    pairs.append((baseline, stalled))
                    at_provider.add(start[1])
                    margins.append(margin)
        finally:
            self.emulator.control(token_delay=0)

        def merged(results):
            hist = merge_histograms(r["histogram"] for r in results)
            out = {k: sum(r[k] for r in results)
                   for k in ("requests", "duration_us", "bytes", "connect", "read", "write",
                             "status", "timeout")}
            out.update(p50_us=hist_percentile(hist, 50), p99_us=hist_percentile(hist, 99),
                       max_us=max(hist) if hist else 0)
            return out

        def row(lbl, results, base=None):
            r = Row(lbl, "stall", merged(results), base=base)
            r.cpu_us_per_req = (sum(x["cpu_s"] for x in results) * 1e6
                                / max(r.result["requests"], 1))
            per_req = r.result["bytes"] / max(r.result["requests"], 1)
            if results and abs(per_req - expected) > 64:  # see measure()
                r.invalid = f"{per_req:.0f} bytes/response, expected ~{expected}"
            return r

        kept = len(pairs)
        windows = f"{kept} windows of {window} s"
        base = row(f"{label}, baseline for e", [b for b, _ in pairs])
        base.extra = (f"{windows}, wrk alone, alternately right before and right after a stall "
                      f"window (its wave prepared, not sent / completed); p50/p99 over all "
                      f"their requests (merged latency histograms)")
        errors = {k: base.result[k] for k in ("connect", "read", "write", "status", "timeout")
                  if base.result[k]}
        if errors:
            base.invalid = (base.invalid + "; " if base.invalid else "") + f"wrk errors {errors}"
        waiting = (f"{slots} logins sent, {admitted} waiting" if shared
                   else f"{slots} logins waiting")
        stall = row(f"{label}, {waiting} {delay:g} s", [s for _, s in pairs],
                    base=base)
        stall.windows = windows
        p99s = sorted((b["p99_us"] / 1000, s["p99_us"] / 1000) for b, s in pairs)
        provider = "/".join(map(str, sorted(at_provider))) or "?"
        queued = ""
        if at_provider and max(at_provider) < admitted and server in (self.nginx, self.stall_nginx):
            queued = (f" (the other {admitted - max(at_provider)} queued in nginx's thread pool "
                      f"of {args.pool_threads} threads)")
        parts = []
        if dropped:
            parts.append(f"connections dropped by the server: {'; '.join(dropped)}")
        parts.append(f"{kept} of {waves} waves kept, each window {window} s started "
                     f">= {args.stall_settle:g} s after the 50 callbacks were sent; p50/p99 "
                     f"over all requests of the kept windows (merged wrk histograms)")
        if pairs:
            bw, sw = [b for b, _ in p99s], sorted(s for _, s in p99s)
            stall.window_p99_medians = (bw[len(bw) // 2], sw[len(sw) // 2])
            parts.append(f"per-window p99 baseline/stall: median {bw[len(bw) // 2]:.2f}/"
                         f"{sw[len(sw) // 2]:.2f} ms, worst {bw[-1]:.2f}/{sw[-1]:.2f} ms")
            parts.append(f"logins in flight (sent, unanswered) at start/end of every kept "
                         f"window: {admitted}/{admitted}; token requests waiting at the provider: "
                         f"{provider}{queued}; every kept window ended >= "
                         f"{min(margins) * 1000:.0f} ms before the first token answer was due")
        if args.pin and (os.cpu_count() or 1) >= 2:
            parts.append("--pin: the server on CPU 0, wrk and the rest on the others")
        parts += notes
        if shared:
            parts.append(f"{busy[0]} logins answered 503 busy at once (provider_concurrency 8)")
        parts.append(f"{len(failures)} logins failed; {slots} browsers x {waves + 1} waves "
                     f"(the first one unmeasured), logins prepared in {prep_s[0]:.1f}s "
                     f"between the waves")
        stall.extra = "; ".join(parts)
        if kept < (waves + 1) // 2:
            stall.invalid = f"only {kept} of {waves} windows had every login waiting"
        elif any(b["requests"] == 0 for b, _ in pairs):
            stall.invalid = "a window had no request"
        if failures:
            first = failures[0]
            desc = getattr(first, "status_code", first)
            self.notes.append(f"stall test ({label}): {len(failures)} logins failed (first: {desc})")
            stall.invalid = (stall.invalid + "; " if stall.invalid else "") + \
                f"{len(failures)} logins failed"
        for r in (base, stall):
            self.rows.append(r)
            print(f"  {r.brief()}", flush=True)
        return stall

    def row_memory(self):
        sessions, requests = self.args.sessions, self.args.memory_requests
        print(f"f: memory, {requests} protected requests over {sessions} sessions", flush=True)
        cookies = self.workdir / "cookies.txt"
        self.login_cookie()  # the real session the seeder copies
        t0 = time.monotonic()
        subprocess.run(
            [str(self.bins.seed), self.redis.url, str(self.site.prefix / "conf" / "sesame.secret"),
             str(sessions), str(cookies)],
            check=True, timeout=600,
        )
        seeded_in = time.monotonic() - t0
        # A fresh nginx (same site, same secret): the worker starts from nothing.
        self.nginx.stop()
        self.started.remove(self.nginx)
        self.nginx = self._keep(start_site(self.site, self.args))
        first = f"{SESSION_COOKIE}={cookies.read_text().split(chr(10), 1)[0]}"
        status, _ = response_size(self.nginx.port, "/protected/static.html", self.pki.ca, first)
        if status != 200:
            raise RuntimeError(f"a seeded session was refused ({status})")
        pids = self.nginx.worker_pids()
        # The same load on an unprotected URL first: connections, TLS and buffers are then
        # already in the "before" figure, and the growth is what the sessions cost.
        wrk(self.nginx.url("/static.html"), 1, self.args.connections, self.args.threads)
        rss0 = sum(rss_kib(p) for p in pids)
        # Then the thread pool's one-time warm-up, also apart: protected requests whose session
        # cookies are valid but whose sessions are in another Redis database, so each runs a
        # job (Redis GET, no session, a login redirect) and none is cached. Its stacks, malloc
        # arenas and Redis connections are then in the second "before" figure.
        unknown = self.workdir / "cookies-unknown.txt"
        subprocess.run(
            [str(self.bins.seed), self.redis.url,
             str(self.site.prefix / "conf" / "sesame.secret"), "2000", str(unknown),
             self.redis.url.rsplit("/", 1)[0] + "/1"],
            check=True, timeout=600,
        )
        wrk(self.nginx.url("/protected/static.html"), 2, self.args.connections,
            self.args.threads, cookie_file=unknown)
        rss_warm = sum(rss_kib(p) for p in pids)
        calls0 = redis_calls(self.redis)
        cpu0 = sum(proc_cpu_seconds(p) for p in pids)
        total = {"requests": 0, "bytes": 0, "duration_us": 0, "p50_us": 0, "p99_us": 0}
        errors = 0
        chunks = 0
        while total["requests"] < requests:
            r = wrk(self.nginx.url("/protected/static.html"), 2, self.args.connections,
                    self.args.threads, cookie_file=cookies)
            chunks += 1
            for k in ("requests", "bytes", "duration_us"):
                total[k] += r[k]
            total["p50_us"] = max(total["p50_us"], r["p50_us"])
            total["p99_us"] = max(total["p99_us"], r["p99_us"])
            errors += sum(r[k] for k in ("connect", "read", "write", "status", "timeout"))
        rss1 = sum(rss_kib(p) for p in pids)
        calls1 = redis_calls(self.redis)
        cpu1 = sum(proc_cpu_seconds(p) for p in pids)
        row = Row(f"nginx+sesame: protected, {sessions} sessions", "memory", total)
        self.key["nginx_mem"] = row
        row.cpu_us_per_req = (cpu1 - cpu0) * 1e6 / max(total["requests"], 1)
        row.redis_get = calls1["get"] - calls0["get"]
        row.redis_set = calls1["set"] - calls0["set"]
        row.rss_growth_mib = (rss1 - rss0) / 1024
        row.rss_pool_warmup_mib = (rss_warm - rss0) / 1024
        row.extra = (f"worker RSS {rss0 / 1024:.1f} -> {rss1 / 1024:.1f} MiB "
                     f"(+{row.rss_growth_mib:.1f} MiB, of which "
                     f"{row.rss_pool_warmup_mib:+.1f} MiB the thread pool's warm-up) over "
                     f"{total['requests']} requests; "
                     f"{sessions} sessions seeded in {seeded_in:.1f}s; p50/p99 = worst of "
                     f"{chunks} wrk runs of 2 s")
        if errors:
            row.invalid = f"{errors} wrk errors"
        per_req = total["bytes"] / max(total["requests"], 1)
        _, expected = response_size(self.nginx.port, "/protected/static.html", self.pki.ca, first)
        if abs(per_req - expected) > 64:
            row.invalid = f"{per_req:.0f} bytes/response, expected ~{expected}"
        self.rows.append(row)
        print(f"  {row.brief()}", flush=True)

    def rows_apache(self):
        apache_rows.run(self)


def machine():
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="3 s per row, fewer sessions (checking the script)")
    p.add_argument("--seconds", type=float, default=None, help="seconds per wrk row (default 10, --quick 3)")
    p.add_argument("--workers", type=int, default=1, help="nginx worker_processes (default 1)")
    p.add_argument("--pool-threads", type=int, default=32,
                   help="threads of nginx's thread_pool (default 32, nginx's own default)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument("--rounds", type=int, default=5,
                   help="rows a/b and Apache's static rows: alternating wrk runs per row "
                        "(default 5, each of seconds/rounds whole seconds)")
    p.add_argument("--login-clients", type=int, default=8, help="concurrent login loops in row d")
    p.add_argument("--sessions", type=int, default=None, help="sessions in row f (default 10000)")
    p.add_argument("--memory-requests", type=int, default=None, help="requests in row f (default 100000)")
    p.add_argument("--pin", action="store_true",
                   help="stall test: pin the server to CPU 0 and everything else (wrk included) "
                        "to CPU 1, baseline and stall windows alike (off by default)")
    p.add_argument("--stall-waves", type=int, default=None,
                   help="stall test: measured waves of 50 logins (default 12, --quick 4), each "
                        "with a baseline window and a stall window")
    p.add_argument("--stall-window", type=int, default=1,
                   help="stall test: seconds of each wrk window (whole seconds: wrk's -d; "
                        "default 1); must end before the token delay has elapsed")
    p.add_argument("--stall-delay", type=float, default=2,
                   help="stall test: the token endpoint's delay, seconds (default 2)")
    p.add_argument("--stall-settle", type=float, default=0.3,
                   help="stall test: seconds at least between sending the callbacks and the "
                        "window's start (default 0.3; also waits until the token requests "
                        "stopped arriving)")
    p.add_argument("--stall-shared-pool", action="store_true",
                   help="stall test e: the default layout (one shared thread pool, "
                        "sesame_provider_concurrency 8) instead of a provider pool of its own")
    p.add_argument("--rows", default="abcdefA", help="which rows to run (letters, default all)")
    p.add_argument("--json", help="also write the rows to this file")
    p.add_argument("--workdir", help="keep configs and logs here (default: a temp dir, removed)")
    args = p.parse_args()
    args.seconds = args.seconds or (3 if args.quick else 10)
    args.sessions = args.sessions or (2000 if args.quick else 10_000)
    args.memory_requests = args.memory_requests or (20_000 if args.quick else 100_000)
    args.stall_waves = args.stall_waves or (4 if args.quick else 12)
    if args.stall_window < 1 or args.stall_settle + args.stall_window + 0.2 >= args.stall_delay:
        sys.exit("bench: --stall-settle + --stall-window (+ wrk's start and stop, ~0.2 s) must "
                 "stay under --stall-delay: a window must end before any login completes")
    if not shutil.which("wrk"):
        sys.exit("bench: wrk not found (apt-get install wrk)")

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="sesame-bench-"))
    load = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"Sesame bench {started} on {machine()}\nload before: {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}; nginx worker_processes {args.workers}; wrk -t{args.threads} "
          f"-c{args.connections} -d{args.seconds:g}s; workdir {workdir}", flush=True)
    bench = Bench(args, workdir)
    try:
        bench.start()
        if set("abc") & set(args.rows):
            bench.rows_static_and_php()
        if "d" in args.rows:
            bench.key["nginx_login"] = bench.row_logins()
        if "e" in args.rows:
            bench.key["nginx_stall"] = bench.row_stall_logged_in()
        if "f" in args.rows:
            bench.row_memory()
        if "A" in args.rows:
            try:
                bench.rows_apache()
            except Exception as exc:  # the nginx rows are still worth printing
                bench.notes.append(f"Apache rows stopped: {type(exc).__name__}: {exc}"[:2000])
    finally:
        bench.stop()
    load = os.getloadavg()
    print()
    print(format_table(bench.rows, bench.key, started, machine(), args, load))
    for note in bench.notes:
        print(f"note: {note}")
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in bench.rows], indent=1))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if any(r.invalid for r in bench.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
