"""What a running web server of the rig (nginx or Apache) has in common: started in the
foreground on the site's port, its error log read back by the tests, reloaded in place."""

import os

from .procs import Proc, _children_of, port_open, wait_until


class RunningServer:
    # How the server is told to re-read its configuration, and the log line that says it has.
    RELOAD_SIGNAL = None
    RELOADED = None

    def __init__(self, site, name, argv):
        self.site = site
        self.base = site.base
        self.port = site.port
        # A site in a network namespace of its own (bench/cluster.py) listens on another address
        # and is started through `ip netns exec` (which execs the server: the PID is its own).
        self.host = getattr(site, "listen_host", "127.0.0.1")
        argv = [*getattr(site, "launcher", ()), *argv]
        self.error_log = site.prefix / "logs" / "error.log"
        self.proc = Proc(name, argv, site.prefix / "logs" / "stderr.log")
        try:
            wait_until(lambda: port_open(self.port, self.host), 20,
                       f"{name} on {self.host}:{self.port}", self.proc)
        except Exception as exc:
            self.proc.stop()
            raise RuntimeError(f"{exc}\n{self.log_tail()}") from exc

    def worker_pids(self):
        """nginx's workers, Apache's children."""
        return _children_of(self.proc.pid)

    def alive(self):
        return self.proc.alive()

    def stop(self):
        self.proc.stop()

    def url(self, path):
        return self.base + path

    def log_tail(self, limit=6000):
        try:
            return self.error_log.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def log_size(self):
        try:
            return self.error_log.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset):
        try:
            with open(self.error_log, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def reload(self, timeout=20):
        """Write the site's configuration as it is now and have the running server re-read it
        without a restart (nginx: SIGHUP; Apache: graceful restart); returns once its error log
        says the new configuration is in use and the workers of the old one are gone (a
        keep-alive connection to an old worker would still be served the old configuration)."""
        offset = self.log_size()
        old_workers = set(self.worker_pids())
        self.site.prepare()
        os.kill(self.proc.pid, self.RELOAD_SIGNAL)
        wait_until(lambda: self.RELOADED in self.log_since(offset)
                   and not old_workers & set(self.worker_pids()), timeout,
                   f"{self.proc.name} to reload", self.proc)
