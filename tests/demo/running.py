"""`make demo` (or tests/demo/demo.py) run as a person runs it: started in a process group of its
own, ready once it prints its URLs, stopped with SIGTERM to that group (the Ctrl-C of a script)."""

import os
import random
import re
import signal
import socket
import subprocess
import threading
import time

READY = "Ctrl-C stops everything."


def free_port_run(count=3, tries=200):
    """A port P with P..P+count-1 free on 127.0.0.1 (the demo's site and its two emulators)."""
    for _ in range(tries):
        base = random.randrange(20000, 60000 - count)
        socks = []
        try:
            for port in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {count} consecutive free ports found")


class RunningDemo:
    def __init__(self, argv, cwd, env=None, timeout=900):
        self.argv = argv
        self.lines = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        threading.Thread(target=self._pump, name="demo-output", daemon=True).start()
        if not self._ready.wait(timeout) or self.proc.poll() is not None:
            self.stop()
            raise AssertionError(f"{' '.join(argv)} did not print {READY!r} within {timeout}s:\n"
                                 + self.output()[-6000:])
        found = re.search(r"^\s*Open:\s+(\S+?)/?$", self.output(), re.M)
        assert found, f"the demo printed no URL to open:\n{self.output()}"
        self.url = found.group(1)

    def _pump(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            self.lines.append(line)
            if line.strip() == READY:
                self._ready.set()
        self._ready.set()  # EOF: the caller sees the exit

    def output(self):
        return "".join(self.lines)

    def stop(self, timeout=60):
        """SIGTERM to the demo's process group; True when it said it stopped everything."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while "stopped." not in self.output() and time.monotonic() < deadline:
            time.sleep(0.05)
        return "stopped." in self.output()
