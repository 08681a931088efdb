"""Apache httpd with mod_sesame for the end-to-end tests: the same interface as `NginxSite` /
`Nginx` (base, port, url(), config_test(), start(), stop(), log_tail(), log_since()...), so the
behaviour tests written against nginx run unchanged against Apache.

Apache is started as root (it binds the port and reads the secret files, mode 0600, in the
parent) and serves from children running as www-data, as on a real server: the site lives in a
world-traversable temporary directory of its own, not under pytest's 0700 temp dir.
"""

import atexit
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from .paths import E2E, REPO, target_dir
from .procs import free_port, install_module
from .running import RunningServer
from .services import new_client
from .site import SiteProviders

APACHE_BIN = os.environ.get("SESAME_APACHE_BIN") or "/usr/sbin/apache2"
MODULES = Path(os.environ.get("SESAME_APACHE_MODULES") or "/usr/lib/apache2/modules")
RUN_AS = os.environ.get("SESAME_APACHE_USER") or "www-data"

# Core key -> Apache directive (apache/mod_sesame.c's tables).
GLOBAL_DIRECTIVES = {
    "redis": "SesameRedis",
    "secret_file": "SesameSecretFile",
    "redis_timeout": "SesameRedisTimeout",
    "redis_ca_file": "SesameRedisCAFile",
    "redis_cert_file": "SesameRedisCertFile",
    "redis_key_file": "SesameRedisKeyFile",
    "session_cache": "SesameSessionCache",
    "session_idle_timeout": "SesameSessionIdleTimeout",
    "session_lifetime": "SesameSessionLifetime",
    "provider_concurrency": "SesameProviderConcurrency",
    "support_contact": "SesameSupportContact",
    "audit_log": "SesameAuditLog",
}
PROVIDER_DIRECTIVES = {
    "preset": "Preset",
    "issuer": "Issuer",
    "discovery_url": "DiscoveryURL",
    "client_id": "ClientID",
    "client_secret_file": "ClientSecretFile",
    "redirect_uri": "RedirectURI",
    "post_logout_redirect_uri": "PostLogoutRedirectURI",
    "logout_redirect": "LogoutRedirect",
    "scope": "Scope",
    "acr_values": "AcrValues",
    "required_acr": "RequiredAcr",
    "id_token_alg": "IdTokenAlg",
    "userinfo": "Userinfo",
    "token_auth": "TokenAuth",
    "pkce": "PKCE",
    "ca_file": "CAFile",
    "remote_user_claim": "RemoteUserClaim",
    "http_timeout": "HttpTimeout",
    "metadata_ttl": "MetadataTTL",
    "leeway": "Leeway",
    "error_pages": "ErrorPages",
    "data": "Data",
    "encryption_key_file": "EncryptionKeyFile",
    "encryption_alg": "EncryptionAlg",
    "jwks_uri": "JwksURI",
    "client_signing_key_file": "ClientSigningKeyFile",
}

# How /demarches/ reaches PHP: php-fpm through proxy_fcgi (event MPM) or mod_php (prefork).
PHP_FPM = """\
    SetHandler "proxy:fcgi://127.0.0.1:{{PHP_PORT}}"
"""
MOD_PHP = """\
    SetHandler application/x-httpd-php
"""

# The site every behaviour test uses, as nginx's STANDARD_LOCATIONS.
STANDARD_LOCATIONS = """\
AliasMatch "^/demarches/" "{{PHP_DIR}}/index.php"
<Location /demarches/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /app/>
    AuthType Sesame
    SesameUse fc
    SesamePassHeaders On
    Require valid-user
    ProxyPass "http://127.0.0.1:{{ECHO_PORT}}/app/"
</Location>
<Location /app-public/>
    ProxyPass "http://127.0.0.1:{{ECHO_PORT}}/app-public/"
</Location>
<LocationMatch "^/logout$">
    SetHandler sesame-logout
    SesameLogout fc
</LocationMatch>
"""

TEMPLATE = """\
# Rendered by tests/e2e/e2e_rig/apache.py.
ServerRoot "{{PREFIX}}"
PidFile "{{PREFIX}}/run/httpd.pid"
DefaultRuntimeDir "{{PREFIX}}/run"
Mutex file:{{PREFIX}}/run default
ErrorLog "{{PREFIX}}/logs/error.log"
CustomLog "{{PREFIX}}/logs/access.log" "%P %m %U %>s"
LogLevel info
User {{USER}}
Group {{USER}}
Listen 127.0.0.1:{{PORT}}
ServerName 127.0.0.1
KeepAliveTimeout 60
{{LOAD_MODULES}}
{{MPM_TUNING}}
TypesConfig /etc/mime.types
DirectoryIndex index.html
# Odd request targets must reach the protected location (open-redirect tests), as on nginx.
AllowEncodedSlashes NoDecode
SSLEngine on
SSLCertificateFile "{{CERT}}"
SSLCertificateKeyFile "{{KEY}}"
DocumentRoot "{{PREFIX}}/html"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{{PREFIX}}/html">
    AllowOverride AuthConfig
    Require all granted
</Directory>
<Directory "{{PHP_DIR}}">
    Require all granted
</Directory>

{{SESAME}}

{{LOCATIONS}}
{{EXTRA}}
"""

COMMON_MODULES = [
    ("authn_core_module", "mod_authn_core.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("authz_user_module", "mod_authz_user.so"),
    ("alias_module", "mod_alias.so"),
    ("dir_module", "mod_dir.so"),
    ("mime_module", "mod_mime.so"),
    ("socache_shmcb_module", "mod_socache_shmcb.so"),
    ("ssl_module", "mod_ssl.so"),
    ("proxy_module", "mod_proxy.so"),
    ("proxy_http_module", "mod_proxy_http.so"),
    ("proxy_fcgi_module", "mod_proxy_fcgi.so"),
]

# Two children from the start and no idle-process reaping: a child stopped for being idle would
# close the keep-alive connections the test browsers reuse.
_THREADED = ("StartServers 2\nServerLimit 2\nThreadsPerChild 16\nMaxRequestWorkers 32\n"
             "MinSpareThreads 1\nMaxSpareThreads 32\n")
MPM_TUNING = {
    "event": _THREADED,
    "worker": _THREADED,
    "prefork": "StartServers 3\nMinSpareServers 1\nMaxSpareServers 8\nMaxRequestWorkers 8\n",
}
# One child with many threads: like the nginx rig's single worker, what one request caches
# (provider metadata) is there for the next.
SINGLE_PROCESS = ("StartServers 1\nServerLimit 1\nThreadsPerChild 32\nMaxRequestWorkers 32\n"
                  "MinSpareThreads 1\nMaxSpareThreads 32\n")

_TEMP_DIRS = []


@atexit.register
def _remove_temp_dirs():
    if os.environ.get("SESAME_KEEP_APACHE"):  # debugging: keep configs and logs
        return
    for d in _TEMP_DIRS:
        shutil.rmtree(d, ignore_errors=True)


def apache_module():
    """SESAME_APACHE_MODULE, else apache/.build/debug/mod_sesame.so (make apache)."""
    env = os.environ.get("SESAME_APACHE_MODULE")
    path = Path(env) if env else REPO / "apache" / ".build" / "debug" / "mod_sesame.so"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `make apache` (or set SESAME_APACHE_MODULE)")
    return path


def build_module():
    """Builds the module against the debug core (make -C apache) unless SESAME_APACHE_MODULE
    names one already built."""
    if os.environ.get("SESAME_APACHE_MODULE"):
        return apache_module()
    out = subprocess.run(
        ["make", "-s", "-C", str(REPO / "apache"), f"CARGO_TARGET_DIR={target_dir()}"],
        capture_output=True, text=True, timeout=300,
    )
    if out.returncode != 0:
        raise RuntimeError(f"make -C apache failed:\n{out.stdout}\n{out.stderr}")
    return apache_module()


class ApacheSite(SiteProviders):
    """One Apache configuration with mod_sesame: the same knobs as NginxSite (`http`,
    `providers`, `locations`, `files`, `secret`, `client`), plus the MPM and the PHP route."""

    def __init__(self, env, workdir=None, sesame=True, locations=None, port=None, mpm="event",
                 php="fpm", single_process=False):
        self.env = env
        base = Path(tempfile.mkdtemp(prefix="sesame-apache-"))
        _TEMP_DIRS.append(base)
        base.chmod(0o755)
        self.prefix = base
        self.port = port or free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        self.sesame = sesame
        self.mpm = mpm
        self.php = php
        self.single_process = single_process
        self.locations = locations if locations is not None else (STANDARD_LOCATIONS if sesame else "")
        self.secret = secrets.token_bytes(48)
        self.client = new_client(self.base)
        self.http = {
            "redis": env.redis.url,
            "secret_file": "conf/sesame.secret",
            "redis_timeout": "500ms",
        }
        self.providers = {"fc": self.fc_provider(self.client)} if sesame else {}
        self.clients = [self.client] if sesame else []
        self.files = {}
        self.extra = ""
        self.extra_modules = []

    def _provider_ca_file(self):
        return "conf/ca.pem"

    # ---- rendering -------------------------------------------------------------------------
    @staticmethod
    def _quote(value):
        return value if " " not in str(value) else '"' + str(value) + '"'

    def sesame_block(self, http=None, providers=None):
        http = self.http if http is None else http
        providers = self.providers if providers is None else providers
        lines = []
        for key, value in http.items():
            if value is not None:
                lines.append(f"{GLOBAL_DIRECTIVES.get(key, key)} {self._quote(self._abs(value))}")
        for name, directives in providers.items():
            lines.append(f"<SesameProvider {name}>")
            for key, value in directives.items():
                # A list: the directive once per item (a repeatable one, e.g. `data`).
                for one in value if isinstance(value, list) else [value]:
                    if one is not None:
                        # Values with spaces are several arguments, as on nginx (scope, acr_values).
                        lines.append(f"    {PROVIDER_DIRECTIVES.get(key, key)} {self._abs(one)}")
            lines.append("</SesameProvider>")
        return "\n".join(lines)

    def load_modules(self):
        mods = [("mpm_" + self.mpm + "_module", f"mod_mpm_{self.mpm}.so")] + COMMON_MODULES
        if self.php == "mod_php":
            mods.append(("php_module", "libphp8.2.so"))
        mods += self.extra_modules
        lines = [f'LoadModule {name} "{MODULES / so}"' for name, so in mods]
        if self.sesame:
            lines.append(f'LoadModule sesame_module "{self.prefix / "modules" / "mod_sesame.so"}"')
        return "\n".join(lines)

    def substitute(self, text):
        for key, value in {
            "PHP_HANDLER": PHP_FPM if self.php == "fpm" else MOD_PHP,
            "PHP_DIR": self.prefix / "php",
            "PHP_PORT": self.env.php.port,
            "ECHO_PORT": self.env.echo.port,
            "PREFIX": self.prefix,
            "PORT": self.port,
            "BASE": self.base,
        }.items():
            text = text.replace("{{" + key + "}}", str(value))
        return text

    def render(self):
        text = TEMPLATE
        for key, value in {
            "LOAD_MODULES": self.load_modules(),
            "MPM_TUNING": SINGLE_PROCESS if self.single_process and self.mpm != "prefork" else MPM_TUNING[self.mpm],
            "USER": RUN_AS,
            "CERT": self.env.pki.cert,
            "KEY": self.env.pki.key,
            "SESAME": self.sesame_block() if self.sesame else "",
            "LOCATIONS": self.locations,
            "EXTRA": self.extra,
        }.items():
            text = text.replace("{{" + key + "}}", str(value))
        return self.substitute(text)

    def prepare(self, conf_text=None):
        for sub in ("conf", "logs", "run", "html/public", "modules", "php"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
            (self.prefix / sub).chmod(0o755)
        conf_dir = self.prefix / "conf"
        conf_dir.chmod(0o700)  # secrets: read by the root parent only
        secret = conf_dir / "sesame.secret"
        secret.write_bytes(self.secret)
        secret.chmod(0o600)
        (conf_dir / "fc.client_secret").write_text(self.client["client_secret"] + "\n")
        shutil.copyfile(self.env.pki.ca, conf_dir / "ca.pem")
        for php in (E2E / "backend").glob("*.php"):
            shutil.copyfile(php, self.prefix / "php" / php.name)
        for rel, text in self.files.items():
            path = self.prefix / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.substitute(text))
            if not rel.startswith("conf/"):
                path.chmod(0o644)
        (self.prefix / "html" / "index.html").write_text("home\n")
        (self.prefix / "html" / "public" / "index.html").write_text("public page\n")
        for f in (self.prefix / "html").rglob("*"):
            f.chmod(0o755 if f.is_dir() else 0o644)
        for f in (self.prefix / "php").iterdir():
            f.chmod(0o644)
        if self.sesame:
            install_module(apache_module(), self.prefix / "modules" / "mod_sesame.so")
        conf = conf_dir / "apache.conf"
        conf.write_text(conf_text if conf_text is not None else self.render())
        return conf

    # ---- running ---------------------------------------------------------------------------
    def config_test(self, conf_text=None):
        """`apache2 -t` on this site (or on `conf_text`): returns (returncode, output text)."""
        conf = self.prepare(conf_text)
        out = subprocess.run([APACHE_BIN, "-t", "-f", str(conf)], capture_output=True, timeout=60)
        return out.returncode, (out.stdout + out.stderr).decode("utf-8", "replace")

    def register_clients(self):
        for client in self.clients:
            self.env.emulator.add_client(client)

    def start(self):
        conf = self.prepare()
        self.register_clients()
        return Apache(self, conf)


class Apache(RunningServer):
    """A running Apache (parent + children) for a site, in the foreground of its own session
    (prefork kills its whole process group on SIGTERM)."""

    RELOAD_SIGNAL = signal.SIGUSR1  # graceful restart: children finish their requests
    RELOADED = "resuming normal operations"

    def __init__(self, site, conf):
        super().__init__(site, "apache2", [APACHE_BIN, "-f", str(conf), "-DFOREGROUND"])

    def access_log(self):
        """[(pid, method, path, status)] of the requests served so far."""
        try:
            lines = (self.site.prefix / "logs" / "access.log").read_text(errors="replace").splitlines()
        except OSError:
            return []
        return [tuple(line.split(" ", 3)) for line in lines if line.count(" ") >= 3]
