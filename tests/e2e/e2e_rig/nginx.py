"""Render nginx.conf for a test site, run `nginx -t`, start and stop nginx by PID."""

import os
import secrets
import shutil
import signal
import subprocess
from pathlib import Path

from .paths import E2E, REPO, nginx_binary, nginx_module
from .procs import free_port, install_module
from .running import RunningServer
from .services import new_client
from .site import SiteProviders

TEMPLATE = E2E / "conf" / "nginx.conf.tmpl"

# The site every behaviour test uses; tests change directives through NginxSite attributes.
STANDARD_LOCATIONS = """\
        location / { }
        location /public/ { }
        location /demarches/ {
            sesame fc;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /app/ {
            sesame fc;
            include sesame_proxy_params;
            proxy_pass http://127.0.0.1:{{ECHO_PORT}};
        }
        location /app-public/ {
            proxy_pass http://127.0.0.1:{{ECHO_PORT}};
        }
        location = /logout {
            sesame_logout fc;
        }
"""

# Without any sesame directive: proves the harness (nginx, php-fpm, echo app, TLS) on its own.
PLAIN_LOCATIONS = """\
        location / { }
        location /public/ { }
        location /demarches/ {
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /app/ {
            proxy_pass http://127.0.0.1:{{ECHO_PORT}};
        }
"""


class NginxSite(SiteProviders):
    """One nginx configuration: sesame http directives, providers, locations. Render, test, run."""

    def __init__(self, env, workdir, sesame=True, locations=None, port=None):
        self.env = env
        self.prefix = Path(workdir)
        self.port = port or free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        self.sesame = sesame
        self.locations = locations if locations is not None else (STANDARD_LOCATIONS if sesame else PLAIN_LOCATIONS)
        self.secret = secrets.token_bytes(48)
        self.client = new_client(self.base)
        # http-level directives (without the `sesame_` prefix); None = left out.
        self.http = {
            "redis": env.redis.url,
            "secret_file": "conf/sesame.secret",
            "redis_timeout": "500ms",
        }
        # Provider blocks: name -> directives, in order. Value None = left out.
        self.providers = {"fc": self.fc_provider(self.client)} if sesame else {}
        self.clients = [self.client] if sesame else []
        # Extra files written into the prefix by prepare(): relative path -> text.
        self.files = {}
        self.extra_http = ""
        # Main-context directives (e.g. another thread_pool).
        self.extra_main = ""
        # One worker, unless a test needs several (counts aggregated across workers).
        self.worker_processes = 1

    # ---- rendering -------------------------------------------------------------------------
    def sesame_http_block(self):
        lines = []
        for key, value in self.http.items():
            if value is not None:
                lines.append(f"    sesame_{key} {self._abs(value)};")
        for name, directives in self.providers.items():
            lines.append(f"    sesame_provider {name} {{")
            for key, value in directives.items():
                # A list: the directive once per item (a repeatable one, e.g. `data`).
                for one in value if isinstance(value, list) else [value]:
                    if one is not None:
                        lines.append(f"        {key} {self._abs(one)};")
            lines.append("    }")
        return "\n".join(lines)

    def render(self):
        text = TEMPLATE.read_text()
        load = "load_module modules/ngx_http_sesame_module.so;" if self.sesame else ""
        sesame_http = (self.sesame_http_block() if self.sesame else "") + "\n" + self.extra_http
        for key, value in {
            "LOAD_MODULE": load,
            "EXTRA_MAIN": self.extra_main,
            "WORKER_PROCESSES": self.worker_processes,
            "SESAME_HTTP": sesame_http,
            "LOCATIONS": self.locations,
            "PORT": self.port,
            "CERT": self.env.pki.cert,
            "KEY": self.env.pki.key,
            "PHP_PORT": self.env.php.port,
            "ECHO_PORT": self.env.echo.port,
        }.items():
            text = text.replace("{{" + key + "}}", str(value))
        return text

    def prepare(self, conf_text=None):
        """Write the prefix (conf, secrets, module, html) and return the path of nginx.conf."""
        for sub in ("conf", "logs", "html/public", "modules", "tmp"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        conf_dir = self.prefix / "conf"
        (conf_dir / "sesame.secret").write_bytes(self.secret)
        (conf_dir / "fc.client_secret").write_text(self.client["client_secret"] + "\n")
        (conf_dir / "fastcgi_backend").write_text(
            (E2E / "conf" / "fastcgi_backend").read_text().replace("{{BACKEND}}", str(self.env.php.root))
        )
        # The include files shipped with the module (SESAME_NGINX_CONF_DIR overrides nginx/conf).
        include_dir = Path(os.environ.get("SESAME_NGINX_CONF_DIR") or REPO / "nginx" / "conf")
        for name in ("sesame_fastcgi_params", "sesame_proxy_params"):
            src = include_dir / name
            if src.is_file():
                shutil.copyfile(src, conf_dir / name)
        for rel, text in self.files.items():
            (self.prefix / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.prefix / rel).write_text(text)
        (self.prefix / "html" / "index.html").write_text("home\n")
        (self.prefix / "html" / "public" / "index.html").write_text("public page\n")
        if self.sesame:
            install_module(nginx_module(), self.prefix / "modules" / "ngx_http_sesame_module.so")
        conf = conf_dir / "nginx.conf"
        conf.write_text(conf_text if conf_text is not None else self.render())
        return conf

    # ---- running ---------------------------------------------------------------------------
    def config_test(self, conf_text=None):
        """`nginx -t` on this site (or on `conf_text`): returns (returncode, stderr text)."""
        conf = self.prepare(conf_text)
        out = subprocess.run(
            [str(nginx_binary()), "-t", "-p", str(self.prefix), "-c", str(conf)],
            capture_output=True, timeout=60,
        )
        return out.returncode, out.stderr.decode("utf-8", "replace")

    def register_clients(self):
        for client in self.clients:
            self.env.emulator.add_client(client)

    def start(self):
        conf = self.prepare()
        self.register_clients()
        return Nginx(self, conf)


class Nginx(RunningServer):
    """A running nginx (master + one worker) for a site."""

    RELOAD_SIGNAL = signal.SIGHUP
    RELOADED = "start worker process"  # the master starts new workers on the new configuration

    def __init__(self, site, conf):
        super().__init__(site, "nginx", [str(nginx_binary()), "-p", str(site.prefix), "-c", str(conf)])


def config_test(env, workdir, conf_text):
    """`nginx -t` of a complete nginx.conf text in a fresh prefix: (returncode, stderr)."""
    return NginxSite(env, workdir).config_test(conf_text)
