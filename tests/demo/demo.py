#!/usr/bin/env python3
"""`make demo` (nginx) and `make demo SERVER=apache`: Sesame in front of a PHP page, against the
local FranceConnect and ProConnect emulators, on fixed loopback ports.

Starts redis-server, both emulators, php-fpm and the web server with the module, prints the URLs
and the test users, and stops everything on Ctrl-C (or SIGTERM).

Why https://localhost with a local CA rather than plain http://127.0.0.1: the federations accept
http redirect URIs in integration only (docs/federations.md §1.4), but the providers themselves are
HTTPS, and so is the emulator; a browser would warn on the emulator's page whatever the site's
scheme. One local CA, kept in build/demo/pki/ and reused by every run, signs both the site's and the
emulators' certificates (localhost, 127.0.0.1, ::1): trusted once, no warning on any page. The site
is `localhost` (the name the browser shows); the emulators are 127.0.0.1, the address Sesame's
outgoing requests reach without depending on how this machine resolves `localhost`.
"""

import argparse
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "tests" / "support"))

from cdp import trust_command  # noqa: E402  (the line the demo prints; its test runs it)
from e2e_rig.apache import ApacheSite  # noqa: E402
from e2e_rig.nginx import NginxSite  # noqa: E402
from e2e_rig.proconnect import add_pc_provider, pc_client  # noqa: E402
from e2e_rig.services import EchoApp, Emulator, PhpFpm, Pki, Redis, new_client  # noqa: E402

# The site's port; the FranceConnect emulator listens on the next one, ProConnect on the one after.
DEFAULT_PORT = 8443
SITE = HERE / "site"
DEMO_PAGE = SITE / "index.php"

NGINX_LOCATIONS = """\
        location / { }
        location /demarches/ {
            sesame fc;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /agents/ {
            sesame pc;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location = /logout { sesame_logout fc; }
        location = /agents/logout { sesame_logout pc; }
"""

APACHE_LOCATIONS = """\
AliasMatch "^/demarches/" "{{PHP_DIR}}/demo.php"
<Location /demarches/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
{{PHP_HANDLER}}</Location>
<LocationMatch "^/agents/(?!logout$)">
    AuthType Sesame
    SesameUse pc
    Require valid-user
    SetHandler "proxy:fcgi://127.0.0.1:{{PHP_PORT}}"
</LocationMatch>
AliasMatch "^/agents/(?!logout$)" "{{PHP_DIR}}/demo.php"
<LocationMatch "^/logout$">
    SetHandler sesame-logout
    SesameLogout fc
</LocationMatch>
<LocationMatch "^/agents/logout$">
    SetHandler sesame-logout
    SesameLogout pc
</LocationMatch>
"""


class DemoNginxSite(NginxSite):
    """The rig's nginx site on `localhost`, with the demo's locations; also on [::1] when this
    machine has IPv6 loopback (a browser may try `localhost` there first)."""

    def render(self):
        text = super().render()
        if ipv6_loopback():
            listen = f"        listen 127.0.0.1:{self.port} ssl;\n"
            text = text.replace(listen, listen + f"        listen [::1]:{self.port} ssl;\n")
        return text


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def on_localhost(site, env, pc_emulator):
    """Point the site's FranceConnect and ProConnect clients at https://localhost:PORT."""
    site.base = f"https://localhost:{site.port}"
    site.client = new_client(site.base)
    site.providers = {"fc": site.fc_provider(site.client)}
    site.providers["fc"]["logout_redirect"] = "/"
    site.clients = [site.client]
    client = add_pc_provider(site, pc_emulator, pc_client(site.base), logout_redirect="/")
    # Apache's children read the provider CA from the site's own conf/ (world-traversable prefix).
    site.providers["pc"]["ca_file"] = site._provider_ca_file()
    return client




def home_page(base):
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Sesame — démonstration</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }}
a.button {{ display: inline-block; padding: .7rem 1.2rem; margin: .3rem 0; border-radius: .3rem;
           background: #000091; color: #fff; text-decoration: none; }}
</style></head><body>
<h1>Sesame — démonstration</h1>
<p>Ce site est protégé par Sesame. Choisissez comment vous connecter :</p>
<p><a class="button" id="login-fc" href="/demarches/">Se connecter avec FranceConnect</a>
   (usagers : démarche PHP <code>/demarches/</code>)</p>
<p><a class="button" id="login-pc" href="/agents/">Se connecter avec ProConnect</a>
   (agents : page PHP <code>/agents/</code>)</p>
<p>Les fournisseurs d'identité sont des émulateurs locaux. Identités de test avec des accents :
« elodie » chez FranceConnect, « mfa@fia2.fr » chez ProConnect.</p>
<p><small>{base}/</small></p>
</body></html>
"""


def start(server, port, workdir, pki_dir):
    """Start every service; returns (started services in start order, printable summary)."""
    started = []
    try:
        pki = Pki(pki_dir)
        redis = Redis(workdir / "redis")
        started.append(redis)
        fc = Emulator(workdir / "fc-emulator", pki, port=port + 1)
        started.append(fc)
        pc = Emulator(workdir / "pc-emulator", pki, extra_args=["--federation", "proconnect"],
                      port=port + 2)
        started.append(pc)
        php = PhpFpm(workdir / "php-fpm")
        started.append(php)
        php.root = SITE  # nginx's fastcgi_backend runs {root}/index.php
        echo = EchoApp()  # the rig's templates name its port; the demo has no proxied app
        started.append(echo)
        env = SimpleNamespace(pki=pki, redis=redis, emulator=fc, php=php, echo=echo)
        if server == "apache":
            site = ApacheSite(env, port=port, locations=APACHE_LOCATIONS)
            site.files["php/demo.php"] = DEMO_PAGE.read_text(encoding="utf-8")
        else:
            site = DemoNginxSite(env, workdir / "nginx", port=port, locations=NGINX_LOCATIONS)
        # The home page is static HTML: say its charset in the header, as the PHP page does.
        if server == "apache":
            site.extra = "AddDefaultCharset UTF-8\n"
        else:
            site.extra_http = "    charset utf-8;\n"
        pc_reg = on_localhost(site, env, pc)
        web = site.start()
        started.append(web)
        pc.add_client(pc_reg)
        html_dir = site.prefix / "html"
        (html_dir / "index.html").write_text(home_page(site.base), encoding="utf-8")
        (html_dir / "index.html").chmod(0o644)
    except BaseException:
        stop(started)
        raise
    summary = f"""
Sesame demo is running ({'Apache httpd' if server == 'apache' else 'nginx'} + the module).
  Open:           {site.base}/
  FranceConnect:  {site.base}/demarches/   test users "testfc1", or "elodie" (accents)
  ProConnect:     {site.base}/agents/      test users "test@fia1.fr", or "mfa@fia2.fr" (accents)
  Log out:        the button on each page ({site.base}/logout, {site.base}/agents/logout)
  Emulators:      {fc.issuer} (FranceConnect v2), {pc.issuer} (ProConnect)
  Certificates:   one local CA for all three, {pki.ca}
                  trust it once, and no browser warning:
                    Chromium/Chrome: {trust_command(pki.ca)}
                    Firefox:         Settings > Certificates > View Certificates > Authorities > Import
                    curl, system:    cp {pki.ca} /usr/local/share/ca-certificates/sesame-demo.crt && update-ca-certificates
  Logs:           {site.prefix / 'logs'} (the web server), {workdir} (the others)
Ctrl-C stops everything.
"""
    return started, summary


def stop(started):
    for svc in reversed(started):
        try:
            svc.stop()
        except Exception as exc:  # keep stopping the others
            print(f"stopping {svc!r}: {exc}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=("nginx", "apache"), default="nginx")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SESAME_DEMO_PORT") or DEFAULT_PORT),
                        help="the site's HTTPS port; the emulators take the next two "
                             f"(default: $SESAME_DEMO_PORT, else {DEFAULT_PORT})")
    parser.add_argument("--workdir", help="configs and logs (default: a new temp dir)")
    parser.add_argument("--pki", default=str(REPO / "build" / "demo" / "pki"),
                        help="the local CA and certificates, reused when present (default: %(default)s)")
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="sesame-demo-"))
    stop_now = []
    signal.signal(signal.SIGTERM, lambda *_: stop_now.append(1))
    # Ctrl-C even when started in the background of a script (where SIGINT starts out ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = []
    try:
        started, summary = start(args.server, args.port, workdir, Path(args.pki))
        print(summary, flush=True)
        while not stop_now:
            for svc in started:
                proc = getattr(svc, "proc", None)
                if proc is not None and not proc.alive():
                    print(f"{proc.name} exited:\n{proc.log_tail()}", file=sys.stderr)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop(started)
        print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
