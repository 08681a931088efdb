"""What a running web server of the rig (nginx or Apache) has in common: started in the
foreground on the site's port, its error log read back by the tests."""

from .procs import Proc, port_open, wait_until


class RunningServer:
    def __init__(self, site, name, argv):
        self.site = site
        self.base = site.base
        self.port = site.port
        self.error_log = site.prefix / "logs" / "error.log"
        self.proc = Proc(name, argv, site.prefix / "logs" / "stderr.log")
        try:
            wait_until(lambda: port_open(self.port), 20, f"{name} on port {self.port}", self.proc)
        except Exception as exc:
            self.proc.stop()
            raise RuntimeError(f"{exc}\n{self.log_tail()}") from exc

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
