"""Faults under load (tests/e2e/chaos, `make chaos`, `make soak`): what a fault costs a running
server, measured from outside.

While clients drive protected and unprotected pages (and, in `make chaos`, wrk), a fault is put on
for a while and taken off: Redis killed and restarted, stopped (SIGSTOP) and resumed, its master
failed over by Sentinel, its port cut by iptables; the provider hanging, answering 500, garbage
or closing mid-answer; the server reloaded every few seconds. Then:

- worker crashes: nginx's "worker process N exited on signal", Apache's "child pid N exit
  signal", a Rust panic, read from the error log written during the run;
- 5xx answers and when: each prober request is timed, so the first and last 5xx, and the time
  from the fault's end to the first answer after which none failed (recovery), are exact;
- logins (through the emulator, during the load) that failed, inside or outside the fault window;
- sessions lost: every session seeded before the run is asked for again after it; one that Redis
  still holds must open the page;
- worker RSS and open file descriptors, Redis memory, before and after.

Every process is touched by its own PID; the iptables rules name the one Redis port and are
removed at the end (also at interpreter exit).
"""

import atexit
import concurrent.futures
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import requests

from .browser import Browser

SESSION_COOKIE = "__Host-sesame"

# What a dead worker leaves in the error log. nginx's master logs every worker exit it did not
# ask for; Apache's parent logs a child killed by a signal (a clean exit is not logged this way).
CRASH_LINES = {
    "nginx": re.compile(r"worker process \d+ exited on signal \d+.*|"
                        r"worker process \d+ exited with fatal code.*"),
    "apache": re.compile(r"child pid \d+ exit signal .*"),
}
PANIC_LINE = re.compile(r".*(panicked at|RUST_BACKTRACE).*")


# ---- what a process holds ------------------------------------------------------------------

def rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:  # the process is gone
        pass
    return 0


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def workers(server):
    """{pid: (RSS KiB, open fds)} of the server's workers (nginx) or children (Apache)."""
    return {pid: (rss_kib(pid), fd_count(pid)) for pid in server.worker_pids()}


def worker_totals(server):
    """(workers, RSS MiB summed, fds summed) of the server's workers now."""
    now = workers(server)
    return len(now), sum(r for r, _ in now.values()) / 1024, sum(f for _, f in now.values())


def redis_memory_mib(node):
    for line in node.command("INFO", "memory").splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":", 1)[1]) / (1 << 20)
    return 0.0


def session_keys(node):
    """Sesame's session keys in a Redis (`...:s:<hash>`)."""
    return {k for k in node.keys("sesame:*") if ":s:" in k}


def live_heap(server):
    """{pid: (malloc's system bytes, bytes in use)} of each worker, from glibc's malloc_stats()
    called in it through gdb (which prints to the worker's stderr: nginx's stderr.log in the
    rig, Apache's error log). Tells allocator arenas (system bytes) from live memory (in use):
    RSS alone cannot. Only on a quiet server (gdb stops the process; a thread stopped inside
    malloc would hold the lock malloc_stats needs). {} without gdb."""
    if shutil.which("gdb") is None:
        return {}
    logs = [server.site.prefix / "logs" / name for name in ("stderr.log", "error.log")]
    out = {}
    for pid in sorted(server.worker_pids()):
        sizes = {log: log.stat().st_size if log.exists() else 0 for log in logs}
        subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "call (void) malloc_stats()"],
                       capture_output=True, timeout=120)
        time.sleep(0.3)
        for log in logs:
            with open(log, "rb") as f:
                f.seek(sizes[log])
                text = f.read().decode("utf-8", "replace")
            found = re.findall(r"Total \(incl\. mmap\):\s*system bytes\s*=\s*(\d+)\s*"
                               r"in use bytes\s*=\s*(\d+)", text)
            if found:
                out[pid] = tuple(int(n) for n in found[-1])
    return out


def crash_lines(kind, log_text):
    lines = [m.group(0) for m in CRASH_LINES[kind].finditer(log_text)]
    return lines + [m.group(0) for m in PANIC_LINE.finditer(log_text)]


# ---- faults ----------------------------------------------------------------------------------

class Fault:
    """Something put on at `start()` and taken off at `stop()`; `name` for the table."""

    name = "?"

    def start(self):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError


class RedisKilled(Fault):
    """SIGKILL, then the same redis-server restarted on its port (its append-only file, when it
    has one, gives back what it had written)."""

    name = "Redis killed, restarted"

    def __init__(self, node):
        self.node = node

    def start(self):
        self.node.kill()

    def stop(self):
        self.node.start()


class RedisStopped(Fault):
    """SIGSTOP, then SIGCONT: connections open, nothing answered."""

    name = "Redis SIGSTOP / SIGCONT"

    def __init__(self, node):
        self.node = node

    def start(self):
        self.node.pause()

    def stop(self):
        self.node.resume()


class SentinelFailover(Fault):
    """The master of a SentinelSet killed; the fault ends when the Sentinels name the replica
    as the new master (then the old master is started again, as a replica of it)."""

    name = "Sentinel failover (master killed)"

    def __init__(self, topology, timeout=30):
        self.topology = topology
        self.timeout = timeout
        self.promoted_after = None

    def start(self):
        self.t0 = time.monotonic()
        self.topology.master.kill()

    def stop(self):
        deadline = time.monotonic() + self.timeout
        while self.topology.master_port_per_sentinels() != self.topology.replica.port:
            if time.monotonic() > deadline:
                raise TimeoutError("the Sentinels did not promote the replica")
            time.sleep(0.1)
        self.promoted_after = time.monotonic() - self.t0


IPTABLES_RULES = (
    ("INPUT", "--dport"),   # what reaches Redis
    ("OUTPUT", "--sport"),  # what Redis sends back on connections already open
)
_CUT_PORTS = set()


def _iptables(action, port):
    for chain, match in IPTABLES_RULES:
        subprocess.run(["iptables", action, chain, "-i" if chain == "INPUT" else "-o", "lo",
                        "-p", "tcp", match, str(port), "-j", "DROP"],
                       check=action == "-I", capture_output=True, timeout=10)


@atexit.register
def _uncut_everything():
    for port in list(_CUT_PORTS):
        _iptables("-D", port)
        _CUT_PORTS.discard(port)


def iptables_usable():
    """None when iptables can add rules here, else why not."""
    if shutil.which("iptables") is None:
        return "iptables not installed (tools/setup.sh chaos installs it)"
    if os.geteuid() != 0:
        return "iptables needs root"
    out = subprocess.run(["iptables", "-S", "INPUT"], capture_output=True, timeout=10)
    if out.returncode != 0:
        return f"iptables -S failed: {out.stderr.decode(errors='replace').strip()}"
    return None


class RedisCut(Fault):
    """Every packet to and from the Redis port on loopback dropped (iptables DROP, both ways):
    new connections and open ones hang, as behind a dead network."""

    name = "network to Redis cut (iptables DROP)"

    def __init__(self, port):
        self.port = port

    def start(self):
        _CUT_PORTS.add(self.port)
        _iptables("-I", self.port)

    def stop(self):
        _iptables("-D", self.port)
        _CUT_PORTS.discard(self.port)


class ProviderFault(Fault):
    """The emulator told to misbehave (`control` fields: a delay, or `faults`), then restored."""

    def __init__(self, emulator, name, **control):
        self.emulator = emulator
        self.name = name
        self.control = control

    def start(self):
        self.emulator.control(**self.control)

    def stop(self):
        self.emulator.restore()


class Reloads(Fault):
    """The server re-reading its configuration every `every` seconds while the fault lasts:
    `nginx -s reload`, `apache2 -k graceful` (the commands an operator types; they read the
    master's PID file)."""

    def __init__(self, server, command, every=2.0):
        self.server = server
        self.command = command
        self.every = every
        self.name = f"{Path(command[0]).name} {' '.join(command[-2:])} every {every:g} s"
        self.count = 0
        self.failures = []
        self._stop = threading.Event()

    def start(self):
        self._stop.clear()
        self.thread = threading.Thread(target=self._loop, name="reloads", daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            out = subprocess.run(self.command, capture_output=True, timeout=30)
            self.count += 1
            if out.returncode != 0:
                self.failures.append(out.stderr.decode(errors="replace")[-300:])
            if self._stop.wait(self.every):
                return

    def stop(self):
        self._stop.set()
        self.thread.join(30)


# ---- clients ---------------------------------------------------------------------------------

class Prober(threading.Thread):
    """Requests one URL over and over (keep-alive, one connection), each with the next cookie of
    `cookies` (so the worker's session cache does not hide Redis), recording (time, status);
    status 0 is a connection error or a timeout."""

    def __init__(self, url, ca, cookies=(), pause=0.0, timeout=10):
        super().__init__(name="prober", daemon=True)
        self.url, self.cookies, self.pause, self.timeout = url, list(cookies), pause, timeout
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = str(ca)
        self.records = []
        self.retried = 0
        self.halt = threading.Event()

    def run(self):
        i = 0
        while not self.halt.is_set():
            headers = {}
            if self.cookies:
                headers["Cookie"] = f"{SESSION_COOKIE}={self.cookies[i % len(self.cookies)]}"
                i += 1
            t0 = time.time()
            status = self._get(headers)
            self.records.append((t0, time.time(), status))
            if self.pause:
                self.halt.wait(self.pause)


    def _get(self, headers):
        for attempt in (1, 2):
            try:
                return self.http.get(self.url, headers=headers, allow_redirects=False,
                                     timeout=self.timeout).status_code
            except requests.ConnectionError as exc:
                self.http.close()  # a new connection next time
                # A keep-alive connection the server closed as the request went out: a browser
                # sends the (idempotent) request again on a new one (RFC 9112, 9.3.1), once.
                if attempt == 1 and "RemoteDisconnected" in repr(exc):
                    self.retried += 1
                    continue
                return 0
            except requests.RequestException:
                self.http.close()
                return 0
        return 0


class LoginDriver(threading.Thread):
    """Complete logins one after the other (protected URL -> emulator -> callback -> page), each
    in a fresh cookie jar; records (start, end, ok, what went wrong)."""

    def __init__(self, start_url, ca, base, limit=None, pause=0.0):
        super().__init__(name="logins", daemon=True)
        self.start_url, self.ca, self.base, self.limit, self.pause = start_url, ca, base, limit, pause
        self.records = []
        self.halt = threading.Event()

    def run(self):
        browser = Browser(self.ca, site_base=self.base)
        while not self.halt.is_set() and (self.limit is None or len(self.records) < self.limit):
            browser.session.cookies.clear()
            browser.hops.clear()
            t0 = time.time()
            try:
                login = browser.login(self.start_url)
                ok = login.final is not None and login.final.status_code == 200
                why = "" if ok else f"ended with {login.final is not None and login.final.status_code}"
            except Exception as exc:  # counted and reported: a failed login is a result here
                ok, why = False, f"{type(exc).__name__}: {str(exc)[:120]}"
                browser.session.close()
                browser = Browser(self.ca, site_base=self.base)
            self.records.append((t0, time.time(), ok, why))
            if self.pause:
                self.halt.wait(self.pause)


def replay_sessions(url, ca, cookies, threads=4):
    """Asks `url` once with each session cookie; returns how many were not answered 200."""
    local = threading.local()

    def one(cookie):
        if not hasattr(local, "http"):
            local.http = requests.Session()
            local.http.trust_env = False
            local.http.verify = str(ca)
        try:
            r = local.http.get(url, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"},
                               allow_redirects=False, timeout=15)
            return r.status_code
        except requests.RequestException:
            local.http = requests.Session()
            local.http.trust_env = False
            local.http.verify = str(ca)
            return 0

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(one, cookies))
    return sum(1 for s in statuses if s != 200)


# ---- one scenario ----------------------------------------------------------------------------

class Outcome:
    """The figures of one scenario on one server (see the module docstring)."""

    def __init__(self, server_name, fault):
        self.server = server_name
        self.fault = fault.name
        self.notes = []

    def as_row(self):
        """The figures as JSON-ready data (wrk's timelines as [second, status, count])."""
        row = dict(vars(self))
        row["wrk"] = {label: dict(r, timeline=[[sec, status, n] for (sec, status), n
                                               in sorted(r.get("timeline", {}).items())])
                      for label, r in getattr(self, "wrk", {}).items()}
        return row


def _window(records, fault_on, fault_off):
    """(5xx count, first and last 5xx relative to the fault's start, recovery after its end,
    errors outside [fault_on, fault_off + recovery]) of prober records."""
    bad = [(t0, t1, s) for t0, t1, s in records if s >= 500 or s == 0]
    first = (bad[0][0] - fault_on) if bad else None
    last = (bad[-1][1] - fault_on) if bad else None
    # Recovery: the first request sent after the fault's end, and after the last failure,
    # that succeeded; counted from the fault's end.
    after = [t0 for t0, _, s in records if t0 >= fault_off and s < 500 and s != 0
             and (not bad or t0 >= bad[-1][0])]
    if not bad:
        recovery = 0.0 if after else None  # nothing to recover from (None: no answer after)
    else:
        recovery = max(0.0, after[0] - fault_off) if after else None
    before = [r for r in bad if r[1] < fault_on]
    return len(bad), first, last, recovery, len(before)


def run(server, kind, fault, *, ca, protected_url, unprotected_url, login_url, cookies,
        redis_node=None, seconds=15, fault_at=4, fault_for=5, probers=2, logins=True,
        wrk_load=None, settle=1.5, replay_url=None, outcome_name=None):
    """One scenario: load for `seconds`, the fault on at `fault_at` for `fault_for` seconds.
    `cookies`: session cookie values seeded before the run (probers and wrk use them; every one
    is replayed at the end). `wrk_load`: callable(seconds) -> [(label, WrkRun)] started with the
    load (`make chaos`), or None. Returns an Outcome."""
    out = Outcome(outcome_name or kind, fault)
    log_offset = server.log_size()
    keys_before = session_keys(redis_node) if redis_node is not None else set()

    prots = [Prober(protected_url, ca, cookies[i::probers]) for i in range(probers)]
    unprot = Prober(unprotected_url, ca)
    driver = LoginDriver(login_url, ca, server.base) if logins else None
    clients = prots + [unprot] + ([driver] if driver else [])
    t_start = time.time()
    runs = wrk_load(int(seconds)) if wrk_load else []
    for c in clients:
        c.start()
    try:
        time.sleep(fault_at)
        # Before and after are both taken under load (connections open, pools warm): a
        # difference is what the fault left behind.
        out.workers_before = worker_totals(server)
        out.redis_mib_before = redis_memory_mib(redis_node) if redis_node is not None else None
        fault_on = time.time()
        fault.start()
        try:
            time.sleep(fault_for)
        finally:
            fault.stop()
        fault_off = time.time()
        time.sleep(max(0.0, t_start + seconds - 0.5 - time.time()))
        out.workers_after = worker_totals(server)
        out.redis_mib_after = redis_memory_mib(redis_node) if redis_node is not None else None
        time.sleep(max(0.0, t_start + seconds - time.time()))
    finally:
        for c in clients:
            c.halt.set()
        for c in clients:
            c.join(30)
    out.wrk = {label: run_.wait() for label, run_ in runs}
    out.fault_window_s = fault_off - fault_on

    records = sorted(r for p in prots for r in p.records)
    out.protected_requests = len(records)
    (out.protected_5xx, out.first_5xx_s, out.last_5xx_s, out.recovery_s,
     out.failed_before_fault) = _window(records, fault_on, fault_off)
    out.protected_other = sum(1 for _, _, s in records if s not in (200,) and 0 < s < 500)
    out.unprotected_requests = len(unprot.records)
    out.unprotected_failed = sum(1 for _, _, s in unprot.records if s != 200)
    out.retried = sum(p.retried for p in prots + [unprot])

    if driver is not None:
        # A login failing "in the window": started before the end of the fault plus the
        # recovery time (a login takes a few requests, the last ones may meet the fault).
        window_end = fault_off + (out.recovery_s or 0) + 0.5
        fails = [r for r in driver.records if not r[2]]
        out.logins = len(driver.records)
        out.logins_failed_in_window = sum(1 for r in fails if r[1] >= fault_on and r[0] <= window_end)
        outside = [r for r in fails if not (r[1] >= fault_on and r[0] <= window_end)]
        out.logins_failed_outside = len(outside)
        if outside:
            out.notes.append(f"login failed outside the fault window: {outside[0][3]}")
        inside = [r for r in fails if r not in outside]
        out.login_failures_in_window = [r[3] for r in inside]
        if inside:
            out.notes.append(f"first login failed in the fault window: {inside[0][3]}")
    time.sleep(settle)  # past the workers' session cache: the replay reads Redis
    if redis_node is not None:
        kept = keys_before & session_keys(redis_node)
        out.sessions = len(cookies)
        out.sessions_redis_lost = len(keys_before) - len(kept)
        refused = replay_sessions(replay_url or protected_url, ca, cookies)
        # A session Redis itself lost cannot be served; any other refusal is Sesame's loss.
        out.sessions_lost = max(0, refused - out.sessions_redis_lost)
        if refused < out.sessions_redis_lost:
            out.notes.append(f"{out.sessions_redis_lost - refused} sessions served though "
                             f"Redis no longer holds them")
    out.crashes = crash_lines(kind, server.log_since(log_offset))
    out.alive = server.alive()
    for extra in ("count", "failures", "promoted_after"):
        if getattr(fault, extra, None):
            out.notes.append(f"{extra}: {getattr(fault, extra)}")
    return out


def seed_by_logins(server, ca, url, count):
    """`count` real sessions (logins through the emulator); returns their cookie values."""
    cookies = []
    for _ in range(count):
        b = Browser(ca, site_base=server.base)
        login = b.login(url)
        if login.final is None or login.final.status_code != 200:
            raise RuntimeError(f"seeding login failed: {login.final and login.final.status_code}")
        cookies.append(b.cookie(SESSION_COOKIE))
    return cookies


def nginx_reload_command(server):
    """`nginx -p PREFIX -c CONF -s reload` for a running rig nginx."""
    argv = server.proc.argv
    return argv + ["-s", "reload"]


def apache_graceful_command(server):
    """`apache2 -f CONF -k graceful` for a running rig Apache (drops its -DFOREGROUND)."""
    argv = [a for a in server.proc.argv if a != "-DFOREGROUND"]
    return argv + ["-k", "graceful"]
