"""Start / control / stop the FranceConnect emulator from any test suite (emulator, e2e).

    from emulator_proc import EmulatorProcess        # with tests/support on sys.path
    emu = EmulatorProcess.start(workdir, clients=[...])   # PKI in workdir, free port, waits READY
    emu.control(token_delay=2); emu.misbehave("wrong_aud"); emu.requests(); emu.last_error()
    emu.stop()                                             # kills by PID

`emu.ca` is the CA file to trust (for nginx's `sesame_ca_file`-style settings and for requests).
Note: `requests` lets REQUESTS_CA_BUNDLE override Session.verify unless trust_env is False;
`emu.session()` returns a session with that already handled.
"""

import json
import os
import select
import socket
import subprocess
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import pki  # noqa: E402

EMULATOR = os.path.join(HERE, "..", "emulator", "emulator.py")


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class EmulatorProcess:
    def __init__(self, proc, base, ca, log_path):
        self.proc = proc
        self.pid = proc.pid
        self.base = base
        self.issuer = base + "/api/v2"
        self.ca = ca
        self.log_path = log_path

    @classmethod
    def start(cls, workdir, clients=None, port=None, timeout=20, extra_args=()):
        """Start an emulator on 127.0.0.1:<free port>; PKI and logs go to `workdir`."""
        workdir = str(workdir)
        paths = pki.ensure_pki(os.path.join(workdir, "pki"))
        port = port or free_port()
        base = "https://127.0.0.1:%d" % port
        cmd = [sys.executable, EMULATOR, "--listen", "127.0.0.1:%d" % port,
               "--issuer", base + "/api/v2", "--cert", paths["server"],
               "--key", paths["server_key"]] + list(extra_args)
        if clients is not None:
            clients_path = os.path.join(workdir, "emulator-clients.json")
            with open(clients_path, "w") as f:
                json.dump(clients, f)
            cmd += ["--clients", clients_path]
        log_path = os.path.join(workdir, "emulator.log")
        log = open(log_path, "ab")
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log)
        finally:
            log.close()
        emu = cls(proc, base, paths["ca"], log_path)
        deadline = time.time() + timeout
        while time.time() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                line = proc.stdout.readline()
                if line.strip() == b"READY":
                    return emu
                if not line:
                    break
            elif proc.poll() is not None:
                break
        emu.stop()
        raise RuntimeError("emulator did not become ready; see %s" % log_path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()

    # -- HTTP helpers
    def session(self):
        s = requests.Session()
        s.trust_env = False  # else REQUESTS_CA_BUNDLE silently replaces s.verify
        s.verify = self.ca
        return s

    def _call(self, method, name, body=None):
        r = self.session().request(method, self.base + "/_emulator/" + name, json=body,
                                   timeout=10)
        if r.status_code != 200:
            raise RuntimeError("emulator control %s %s: %s %s" % (method, name, r.status_code,
                                                                   r.text))
        return r.json()

    def post(self, name, body=None):
        return self._call("POST", name, body)

    def get(self, name):
        return self._call("GET", name)

    def control(self, **fields):
        return self.post("control", fields)

    def misbehave(self, *names):
        return self.control(misbehave=list(names))

    def set_clients(self, clients):
        return self.post("clients", clients)

    def reset(self):
        return self.post("reset")

    def rotate_keys(self):
        return self.post("rotate-keys")["kids"]

    def requests(self):
        return self.get("requests")

    def last_error(self):
        return self.get("last-error")["code"]

    def sessions(self):
        return self.get("sessions")
