"""The Debian packages of `make deb`, installed on this machine with apt, log a user in through
Debian's own nginx (/usr/sbin/nginx, the module loaded from /etc/nginx/modules-enabled/) and
Debian's own Apache (/usr/sbin/apache2, mod_sesame enabled with a2enmod), against the provider
emulator; then `apt-get purge` leaves none of their files behind.

Both servers run with private configurations on free loopback ports; the system's nginx and
apache2 services are neither started nor reloaded (the packages' scripts go through invoke-rc.d
and dpkg triggers, which do nothing for a service that is not running). Runs as root on Debian
only, and never over packages of the same names that were installed before it."""

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from e2e_rig.apache import COMMON_MODULES, MODULES  # noqa: E402
from e2e_rig.browser import Browser  # noqa: E402
from e2e_rig.checks import php_server  # noqa: E402
from e2e_rig.procs import Proc, free_port, port_open, wait_until  # noqa: E402
from e2e_rig.services import Emulator, PhpFpm, Pki, Redis, new_client  # noqa: E402

PACKAGES = ["sesame", "libnginx-mod-http-sesame", "libapache2-mod-sesame"]
DEB_DIR = Path(os.environ.get("SESAME_DEB_DIR") or REPO / "build" / "deb")
NGINX_BIN = "/usr/sbin/nginx"
APACHE_BIN = "/usr/sbin/apache2"
NGINX_ENABLED = Path("/etc/nginx/modules-enabled/50-mod-http-sesame.conf")
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
# apt waits for another apt or dpkg run on the machine instead of failing at once.
APT = ["apt-get", "-o", "DPkg::Lock::Timeout=300"]
# Two runs of this file on one machine (two checkouts) would purge each other's packages.
LOCK = Path("/run/lock/sesame-debian-packages-test.lock")


def dpkg_state(package):
    """The last word of dpkg's status: "installed", "config-files" (removed, not purged),
    "not-installed"; None when dpkg never heard of the package."""
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    words = out.stdout.split() if out.returncode == 0 else []
    return words[-1] if words else None


def installed(package):
    return dpkg_state(package) == "installed"


def on_the_machine(package):
    """Installed, or removed with its configuration still there."""
    return dpkg_state(package) not in (None, "not-installed")


def _why_not_here():
    if not Path("/etc/debian_version").is_file() or not shutil.which("apt-get"):
        return "needs Debian with apt-get"
    if os.geteuid() != 0:
        return "installs and purges Debian packages: run as root (CI does)"
    already = [p for p in PACKAGES if on_the_machine(p)]
    if already:
        return f"{', '.join(already)} already installed here; the test would purge it (apt-get purge it first)"
    return None


WHY_NOT_HERE = _why_not_here()
pytestmark = pytest.mark.skipif(WHY_NOT_HERE is not None, reason=str(WHY_NOT_HERE))


def run(argv, **kw):
    out = subprocess.run(argv, capture_output=True, text=True, **kw)
    assert out.returncode == 0, f"{' '.join(map(str, argv))} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def purge():
    run([*APT, "purge", "-y", *PACKAGES], env=APT_ENV, timeout=600)


# ---- fixtures: the packages, the services -----------------------------------------------------
@pytest.fixture(scope="module")
def machine_lock():
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="module")
def debs(machine_lock):
    """`make deb` (incremental: cargo rebuilds nothing that is fresh), then the three packages."""
    run(["make", "-s", "-C", str(REPO), "deb"], timeout=3000)
    found = {p: sorted(DEB_DIR.glob(f"{p}_*.deb")) for p in PACKAGES}
    assert all(len(v) == 1 for v in found.values()), f"make deb should leave one .deb per package: {found}"
    return [v[0] for v in found.values()]


@pytest.fixture(scope="module")
def package_files(debs):
    """Installs the three packages with apt; yields every path dpkg says each one owns. Purges
    them at the end, also when a test failed before the purge test."""
    if any(on_the_machine(p) for p in PACKAGES):
        pytest.skip("another run installed the packages meanwhile")
    run([*APT, "install", "-y", *[f"./{d.name}" for d in debs]], cwd=DEB_DIR, env=APT_ENV, timeout=600)
    try:
        yield {p: [line for line in run(["dpkg", "-L", p]).splitlines() if line.startswith("/") and line != "/."] for p in PACKAGES}
    finally:
        if any(on_the_machine(p) for p in PACKAGES):
            purge()


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("debian-packages")
    pki = Pki(workdir / "pki")
    redis = Redis(workdir / "redis")
    emulator = Emulator(workdir / "emulator", pki)
    php = PhpFpm(workdir / "php-fpm")
    yield pki, redis, emulator, php
    php.stop()
    emulator.stop()
    redis.stop()


def site_dir():
    """A world-traversable directory (Apache's children run as www-data), removed at the end."""
    path = Path(tempfile.mkdtemp(prefix="sesame-deb-"))
    path.chmod(0o755)
    return path


def provider(emulator, base, conf, spell):
    """The FranceConnect client of a site, registered with the emulator; directives in the
    server's spelling (`spell(core_key)`)."""
    client = new_client(base)
    emulator.add_client(client)
    (conf / "fc.secret").write_text(client["client_secret"] + "\n")
    shutil.copyfile(emulator.pki.ca, conf / "ca.pem")
    return "\n".join(f"        {spell(key)} {value}" for key, value in [
        ("preset", "franceconnect-integration"),
        ("issuer", emulator.issuer),
        ("ca_file", conf / "ca.pem"),
        ("client_id", client["client_id"]),
        ("client_secret_file", conf / "fc.secret"),
        ("redirect_uri", client["redirect_uris"][0]),
        ("post_logout_redirect_uri", client["post_logout_redirect_uris"][0]),
        ("http_timeout", "5s"),
    ])


# ---- the two servers, configured as an administrator would with the packages ----------------
NGINX_CONF = """\
# Debian's prefix (/usr/share/nginx): `modules/` in the modules-enabled file is /usr/lib/nginx/modules.
include /etc/nginx/modules-enabled/*.conf;
daemon off;
user root;
worker_processes 1;
error_log {dir}/error.log info;
pid {dir}/nginx.pid;
thread_pool default threads=4;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;

    sesame_redis {redis};
    sesame_secret_file /etc/sesame/secret;
    sesame_provider fc {{
{provider};
    }}

    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location /demarches/ {{
            sesame fc;
            # Sesame's parameters after Debian's: fastcgi_params sends nginx's own (empty)
            # REMOTE_USER, and PHP keeps the last value of a parameter sent twice.
            include /etc/nginx/fastcgi_params;
            include /etc/nginx/sesame_fastcgi_params;
            fastcgi_param SCRIPT_FILENAME {php_dir}/index.php;
            fastcgi_pass 127.0.0.1:{php_port};
        }}
        location = /logout {{ sesame_logout fc; }}
        location / {{ root {dir}/html; }}
    }}
}}
"""

APACHE_CONF = """\
ServerRoot "{dir}"
PidFile "{dir}/run/httpd.pid"
DefaultRuntimeDir "{dir}/run"
Mutex file:{dir}/run default
ErrorLog "{dir}/error.log"
LogLevel info
User www-data
Group www-data
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
{load_modules}
TypesConfig /etc/mime.types
# What `a2enmod sesame` enabled, as /etc/apache2/apache2.conf includes it.
Include /etc/apache2/mods-enabled/sesame.load
Include /etc/apache2/mods-enabled/sesame.conf
SSLEngine on
SSLCertificateFile "{cert}"
SSLCertificateKeyFile "{key}"
DocumentRoot "{dir}/html"
DirectoryIndex index.html
<Directory "{dir}/html">
    Require all granted
</Directory>

SesameRedis {redis}
SesameSecretFile /etc/sesame/secret
<SesameProvider fc>
{provider}
</SesameProvider>

AliasMatch "^/demarches/" "{php_dir}/index.php"
<Directory "{php_dir}">
    Require all granted
</Directory>
<Location /demarches/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
    SetHandler "proxy:fcgi://127.0.0.1:{php_port}"
</Location>
<LocationMatch "^/logout$">
    SetHandler sesame-logout
    SesameLogout fc
</LocationMatch>
"""

APACHE_SPELLING = {
    "preset": "Preset", "issuer": "Issuer", "ca_file": "CAFile", "client_id": "ClientID",
    "client_secret_file": "ClientSecretFile", "redirect_uri": "RedirectURI",
    "post_logout_redirect_uri": "PostLogoutRedirectURI", "http_timeout": "HttpTimeout",
}


def start_server(name, argv, workdir, port):
    proc = Proc(name, argv, workdir / "stderr.log")
    try:
        wait_until(lambda: port_open(port), 20, f"{name} on port {port}", proc)
    except Exception as exc:
        proc.stop()
        logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in workdir.glob("*.log"))
        raise RuntimeError(f"{exc}\n{logs}") from exc
    return proc


def php_dir(workdir):
    target = workdir / "php"
    target.mkdir()
    for php in (REPO / "tests" / "e2e" / "backend").glob("*.php"):
        shutil.copyfile(php, target / php.name)
        (target / php.name).chmod(0o644)
    target.chmod(0o755)
    return target


@pytest.fixture(scope="module")
def debian_nginx(package_files, services):
    pki, redis, emulator, php = services
    workdir = site_dir()
    (workdir / "tmp").mkdir()
    (workdir / "html").mkdir()
    (workdir / "html" / "index.html").write_text("home\n")
    conf = workdir / "conf"
    conf.mkdir(mode=0o700)
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    text = NGINX_CONF.format(
        dir=workdir, redis=redis.url, port=port, cert=pki.cert, key=pki.key,
        php_dir=php_dir(workdir), php_port=php.port,
        provider=provider(emulator, base, conf, lambda key: key).replace("\n", ";\n"),
    )
    (conf / "nginx.conf").write_text(text)
    argv = [NGINX_BIN, "-c", str(conf / "nginx.conf")]
    run([*argv, "-t"])
    server = SimpleNamespace(base=base, conf=conf / "nginx.conf", proc=start_server("debian-nginx", argv, workdir, port))
    yield server
    server.proc.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def debian_apache(package_files, services):
    pki, redis, emulator, php = services
    workdir = site_dir()
    for sub in ("run", "html"):
        (workdir / sub).mkdir(mode=0o755)
    (workdir / "html" / "index.html").write_text("home\n")
    (workdir / "html" / "index.html").chmod(0o644)
    conf = workdir / "conf"
    conf.mkdir(mode=0o700)  # client secret and CA: read by the root parent at startup
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    modules = [("mpm_event_module", "mod_mpm_event.so")] + COMMON_MODULES
    text = APACHE_CONF.format(
        dir=workdir, redis=redis.url, port=port, cert=pki.cert, key=pki.key,
        php_dir=php_dir(workdir), php_port=php.port,
        load_modules="\n".join(f'LoadModule {name} "{MODULES / so}"' for name, so in modules),
        provider=provider(emulator, base, conf, APACHE_SPELLING.get),
    )
    (conf / "apache.conf").write_text(text)
    run([APACHE_BIN, "-t", "-f", str(conf / "apache.conf")])
    argv = [APACHE_BIN, "-f", str(conf / "apache.conf"), "-DFOREGROUND"]
    server = SimpleNamespace(base=base, conf=conf / "apache.conf", proc=start_server("debian-apache2", argv, workdir, port))
    yield server
    server.proc.stop()
    shutil.rmtree(workdir, ignore_errors=True)


# ---- what the packages install ----------------------------------------------------------------
def test_packages_install_the_files_debian_conventions_expect(package_files):
    files = {p: set(v) for p, v in package_files.items()}
    assert {"/usr/bin/sesame", "/etc/nginx/sesame_fastcgi_params", "/etc/nginx/sesame_proxy_params",
            "/etc/nginx/sesame_fastcgi_params_oidc"} <= files["sesame"]
    assert {"/usr/lib/nginx/modules/ngx_http_sesame_module.so",
            "/usr/share/nginx/modules-available/mod-http-sesame.conf"} <= files["libnginx-mod-http-sesame"]
    assert {"/usr/lib/apache2/modules/mod_sesame.so", "/etc/apache2/mods-available/sesame.load",
            "/etc/apache2/mods-available/sesame.conf"} <= files["libapache2-mod-sesame"]
    # The module loads through the modules-enabled link, as every Debian nginx module does.
    assert NGINX_ENABLED.is_symlink()
    assert os.readlink(NGINX_ENABLED) == "/usr/share/nginx/modules-available/mod-http-sesame.conf"
    assert NGINX_ENABLED.read_text() == "load_module modules/ngx_http_sesame_module.so;\n"
    # The params files are conffiles: an administrator's edits survive upgrades.
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "sesame"])
    for name in ("sesame_fastcgi_params", "sesame_proxy_params", "sesame_fastcgi_params_oidc"):
        assert f"/etc/nginx/{name} " in conffiles, conffiles
    # Release builds, stripped: no debug sections left in what the servers load.
    for binary in ("/usr/bin/sesame", "/usr/lib/nginx/modules/ngx_http_sesame_module.so",
                   "/usr/lib/apache2/modules/mod_sesame.so"):
        sections = run(["objdump", "-h", binary])
        assert ".debug_info" not in sections, f"{binary} is not stripped"


def test_every_package_names_the_crates_it_links_with_their_licence_files(package_files):
    """The binaries link Rust crates statically: each package's copyright file names them (one
    DEP-5 paragraph each, with a licence every paragraph of which is defined), and the sesame
    package keeps each crate's own licence and notice files."""
    lock = (REPO / "Cargo.lock").read_text()
    locked = set(re.findall(r'name = "([^"]+)"\nversion = "([^"]+)"', lock))
    crates_dir = Path("/usr/share/doc/sesame/crates")
    for package in PACKAGES:
        text = Path(f"/usr/share/doc/{package}/copyright").read_text()
        named = re.findall(r"^Files: crates/(\S+)/\*$", text, re.M)
        # What every server process runs: the TLS, JOSE and Redis code, and their licences.
        for crate in ("ring", "openssl", "josekit", "redis", "ureq", "serde_json", "rustls"):
            assert any(n.startswith(crate + "-") and n[len(crate) + 1:][:1].isdigit() for n in named), \
                f"{package}: no paragraph for {crate}"
        defined = set(re.findall(r"^License: (\S+)\n ", text, re.M))
        for expression in re.findall(r"^Files: crates/\S+\nCopyright:.*?\nLicense: (.+)$", text, re.M | re.S):
            for name in re.split(r"[\s()]+", expression.split("\n")[0]):
                if name and name not in ("or", "and", "with") and not name.startswith(("other", "/usr")):
                    assert name in defined, f"{package}: licence {name} has no paragraph"
        for entry in named:
            name, version = entry.rsplit("-", 1)
            assert (name, version) in locked, f"{entry} is not in Cargo.lock"
    sesame = Path("/usr/share/doc/sesame/copyright").read_text()
    named = set(re.findall(r"^Files: crates/(\S+)/\*$", sesame, re.M))
    shipped = {p.name for p in crates_dir.iterdir()}
    assert shipped == named, named ^ shipped
    for entry in shipped:
        assert any((crates_dir / entry).iterdir()), f"{entry}: no licence file"
    mit = (crates_dir / next(n for n in shipped if n.startswith("serde_json-"))).iterdir()
    assert any("MIT" in f.name.upper() for f in mit)


def test_lintian_finds_nothing_left_unexplained(debs):
    """make deb fails on a lintian error; a warning must be fixed or explained in an override
    file (packaging/debian/*.lintian-overrides), not left in the build's output."""
    if shutil.which("lintian") is None:
        pytest.skip("lintian is not installed (tools/setup.sh deb installs it)")
    found = [line for line in (DEB_DIR / "lintian.log").read_text().splitlines()
             if line[:2] in ("E:", "W:")]
    assert not found, "\n".join(found)


def test_the_packages_depend_on_the_exact_server_abis(debs):
    depends = {d.name.split("_")[0]: run(["dpkg-deb", "-f", str(d), "Depends"]) for d in debs}
    abi = Path("/usr/share/nginx/src/debian/libnginx-mod.abisubstvars").read_text()
    nginx_abi = next(line.split("=", 1)[1].strip() for line in abi.splitlines() if line.startswith("nginx:abi="))
    assert nginx_abi in depends["libnginx-mod-http-sesame"]
    assert "apache2-api-" in depends["libapache2-mod-sesame"]
    version = run(["dpkg-deb", "-f", str(debs[0]), "Version"]).strip()
    assert f"sesame (= {version})" in depends["libnginx-mod-http-sesame"]


def test_the_install_made_a_root_only_secret(package_files):
    st = os.stat("/etc/sesame")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o700)
    secret = Path("/etc/sesame/secret")
    assert secret.stat().st_mode & 0o777 == 0o600
    assert len(secret.read_text().strip()) == 64


def test_a2enmod_enables_the_module(package_files):
    assert run(["a2query", "-m", "sesame"]).startswith("sesame (enabled")
    run(["a2dismod", "-q", "sesame"])
    assert not Path("/etc/apache2/mods-enabled/sesame.load").exists()
    run(["a2enmod", "-q", "sesame"])
    assert Path("/etc/apache2/mods-enabled/sesame.load").resolve() == Path("/etc/apache2/mods-available/sesame.load")
    assert Path("/etc/apache2/mods-enabled/sesame.conf").exists()


# ---- logging in through Debian's servers ------------------------------------------------------
def login_and_logout(base, pki, emulator):
    browser = Browser(pki.ca, site_base=base)
    login = browser.login(base + "/demarches/", identity="elodie")
    server = php_server(login.final)
    assert server["SESAME_CLAIM_GIVEN_NAME"] == "Élodie"
    assert server["SESAME_CLAIM_FAMILY_NAME"] == "Ñúñez-Œuvray"
    assert server["SESAME_PROVIDER"] == "fc"
    assert server["SESAME_ACR"] == "eidas1"
    assert server["REMOTE_USER"] == server["SESAME_CLAIM_SUB"]

    out = browser.get(base + "/logout")
    assert out.status_code == 303, out.text[:800]
    assert out.headers["Location"].startswith(emulator.issuer + "/session/end?")
    back = browser.follow(browser.get(out.headers["Location"]))
    assert (back.status_code, back.text) == (200, "home\n"), back.text[:800]
    # Logged out: the protected page sends the browser to the provider again.
    assert browser.start(base + "/demarches/").startswith(emulator.issuer + "/authorize?")


def with_error_log(server, check):
    try:
        check()
    except Exception as exc:
        log = server.conf.parent.parent / "error.log"
        tail = log.read_text(errors="replace")[-4000:] if log.is_file() else "(no error.log)"
        raise AssertionError(f"{exc}\n--- {log}:\n{tail}") from exc


def test_login_through_debian_nginx(debian_nginx, services):
    pki, _, emulator, _ = services
    with_error_log(debian_nginx, lambda: login_and_logout(debian_nginx.base, pki, emulator))


def test_login_through_debian_apache(debian_apache, services):
    pki, _, emulator, _ = services
    with_error_log(debian_apache, lambda: login_and_logout(debian_apache.base, pki, emulator))


def test_the_sesame_command_checks_the_configuration_the_server_runs(debian_nginx):
    run(["/usr/bin/sesame", "config", "check", "-c", str(debian_nginx.conf)])


# ---- and gone again ---------------------------------------------------------------------------
def test_remove_keeps_the_configuration_and_purge_leaves_no_file_behind(package_files, debian_nginx, debian_apache):
    # The servers stop first: they hold the modules open.
    debian_nginx.proc.stop()
    debian_apache.proc.stop()
    # Removed, not purged: the configuration stays (the secret, the edited params files), the
    # modules are disabled.
    run([*APT, "remove", "-y", *PACKAGES], env=APT_ENV, timeout=600)
    assert Path("/etc/sesame/secret").is_file()
    assert Path("/etc/nginx/sesame_fastcgi_params").is_file()
    assert not NGINX_ENABLED.exists() and Path(f"{NGINX_ENABLED}.removed").is_symlink()
    assert not os.path.lexists("/etc/apache2/mods-enabled/sesame.load")
    purge()
    assert not any(on_the_machine(p) for p in PACKAGES)
    left = []
    for package, paths in package_files.items():
        for path in paths:
            if not os.path.lexists(path):
                continue
            # A directory other packages also own (/etc/nginx, /usr/lib/nginx/modules...) stays.
            owners = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True)
            if not (os.path.isdir(path) and owners.returncode == 0):
                left.append(f"{path} ({package})")
    assert not left, f"left after apt-get purge: {left}"
    assert not os.path.lexists("/etc/sesame"), "purge must remove /etc/sesame and the secret made at install"
    for path in (NGINX_ENABLED, Path(f"{NGINX_ENABLED}.removed"), Path("/etc/apache2/mods-enabled/sesame.load"),
                 Path("/etc/apache2/mods-enabled/sesame.conf")):
        assert not os.path.lexists(path), f"{path} left after purge"
