"""Start and stop child processes by PID, find free loopback ports, wait for readiness."""

import atexit
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

# Every process we start is recorded here so that an interrupted run (Ctrl-C, crash in a fixture)
# still stops it at interpreter exit. Processes are only ever killed by their own PID.
_LIVE = {}
_LIVE_LOCK = threading.Lock()


def install_module(src, dst):
    """Puts the built module at `dst` with `install` semantics: a new directory entry (never
    overwriting a loaded .so in place). A hard link where possible: a suite starts a hundred
    servers, and a copy of the debug module each (~80 MB) filled the disk of a busy machine;
    the linkers and cargo replace their output with a new file, so a rebuild during a run
    leaves the linked one as it was. A copy across file systems."""
    dst = Path(dst)
    tmp = dst.with_suffix(".so.new")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        import shutil
        shutil.copyfile(src, tmp)
        tmp.chmod(0o755)
    tmp.replace(dst)


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago (the kernel picked it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout, what, proc=None, interval=0.02):
    """Poll `predicate` until true; fail early (with the log) if `proc` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited (rc={proc.returncode()}) before {what}\n{proc.log_tail()}")
        time.sleep(interval)
    tail = proc.log_tail() if proc is not None else ""
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}\n{tail}")


def _children_of(pid):
    """PIDs whose parent is `pid` (read from /proc, so nginx/php-fpm workers are found too)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # Field 4 is the ppid; the command name (field 2) may contain spaces, so split after ')'.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            kids.append(int(entry))
    return kids


class Proc:
    """One child process with its output in a log file."""

    def __init__(self, name, argv, log_path, cwd=None, env=None, stdout_pipe=False):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else self._log,
            stderr=self._log,
            # Own session: a Ctrl-C in the terminal does not reach the child; we stop it ourselves.
            start_new_session=True,
        )
        self.pid = self.popen.pid
        with _LIVE_LOCK:
            _LIVE[self.pid] = self

    def alive(self):
        return self.popen.poll() is None

    def returncode(self):
        return self.popen.poll()

    def log_tail(self, limit=4000):
        try:
            data = self.log_path.read_bytes()[-limit:]
        except OSError:
            return ""
        return f"--- {self.log_path} ---\n" + data.decode("utf-8", "replace")

    def wait_for_line(self, marker, timeout):
        """Read stdout (piped) until a line equal to `marker`; the rest goes to the log file."""
        found = threading.Event()

        def pump():
            for raw in self.popen.stdout:
                self._log.write(raw)
                self._log.flush()
                if raw.strip() == marker.encode():
                    found.set()
            found.set()  # EOF: the process is gone; the caller notices via alive()

        threading.Thread(target=pump, name=f"{self.name}-stdout", daemon=True).start()
        if not found.wait(timeout) or not self.alive():
            self.stop()
            raise RuntimeError(f"{self.name} did not print {marker!r} within {timeout}s\n{self.log_tail()}")

    def stop(self, sig=signal.SIGTERM, grace=5.0):
        """Stop by PID: `sig`, then SIGKILL after `grace`; children left behind are killed by PID too."""
        if self.popen.poll() is None:
            kids = _children_of(self.pid)
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(timeout=5)
            for kid in kids:
                # Workers normally exit with their master; make sure of it without touching anything else.
                deadline = time.monotonic() + grace
                while Path(f"/proc/{kid}").exists() and time.monotonic() < deadline:
                    time.sleep(0.02)
                if Path(f"/proc/{kid}").exists():
                    try:
                        os.kill(kid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        with _LIVE_LOCK:
            _LIVE.pop(self.pid, None)
        try:
            self._log.close()
        except OSError:
            pass


@atexit.register
def _stop_everything_left():
    with _LIVE_LOCK:
        procs = list(_LIVE.values())
    for proc in procs:
        try:
            proc.stop(grace=2.0)
        except Exception:  # best effort at exit; nothing else to report to
            pass
