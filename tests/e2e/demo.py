#!/usr/bin/env python3
"""`make demo`: Sesame in front of a PHP page, against the local FranceConnect emulator.

Starts redis-server, the emulator, php-fpm, an echo app and nginx (with the module) on loopback,
prints the URL and a test user, and stops everything on Ctrl-C. Ports are free ones unless given.
"""

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_rig.nginx import NginxSite  # noqa: E402
from e2e_rig.services import EchoApp, Emulator, PhpFpm, Pki, Redis  # noqa: E402

HOME = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Sesame demo</title></head><body>
<h1>Sesame — démonstration</h1>
<ul>
<li><a href="/public/">Page publique</a> (sans connexion)</li>
<li><a href="/demarches/">Démarche PHP protégée</a> (FranceConnect, affiche $_SERVER)</li>
<li><a href="/app/">Application proxifiée protégée</a> (affiche les en-têtes reçus)</li>
<li><a href="/logout">Se déconnecter</a></li>
</ul></body></html>
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="nginx HTTPS port (default: a free one)")
    parser.add_argument("--workdir", help="where to put configs and logs (default: a temp dir)")
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="sesame-demo-"))
    started = []
    stop_now = []
    signal.signal(signal.SIGTERM, lambda *_: stop_now.append(1))
    # Ctrl-C even when started in the background of a script (where SIGINT starts out ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        pki = Pki(workdir / "pki")
        redis = Redis(workdir / "redis")
        started.append(redis)
        emulator = Emulator(workdir / "emulator", pki)
        started.append(emulator)
        php = PhpFpm(workdir / "php-fpm")
        started.append(php)
        echo = EchoApp()
        started.append(echo)
        env = SimpleNamespace(pki=pki, redis=redis, emulator=emulator, php=php, echo=echo)
        site = NginxSite(env, workdir / "nginx", port=args.port or None)
        nginx = site.start()
        (site.prefix / "html" / "index.html").write_text(HOME)
        started.append(nginx)
        print(f"""
Sesame demo is running.
  Site:        {site.base}/        (protected: {site.base}/demarches/ and {site.base}/app/)
  Test user:   choose "testfc1" (Angela Claire Louise DUBOIS) or "elodie" on the FranceConnect page
  Provider:    {emulator.issuer} (local FranceConnect v2 emulator)
  TLS:         certificates from a throw-away CA: {pki.ca}
               (curl --cacert {pki.ca} ..., or accept the warning in the browser for both ports)
  Logs:        {workdir}
Ctrl-C stops everything.
""", flush=True)
        while not stop_now:
            for proc in (redis.proc, emulator.proc, php.proc, nginx.proc):
                if proc is not None and not proc.alive():
                    print(f"{proc.name} exited:\n{proc.log_tail()}", file=sys.stderr)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for svc in reversed(started):
            try:
                svc.stop()
            except Exception as exc:  # keep stopping the others
                print(f"stopping {svc!r}: {exc}", file=sys.stderr)
        print("stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
