"""Fixtures of the end-to-end rig (SPEC "Test rig").

Session scope: PKI, redis-server, the provider emulator, php-fpm, the echo app (cheap to share, and
tests leave them as they found them). Module scope: one web server per test module and server
kind, configured by the module's `site` fixture (override it to change directives). Every process
runs on a free loopback port and is stopped by PID at teardown, also when a test or a fixture fails.

One interface for both servers: a test that uses `server` (or `site`, `browser`, `make_site`...)
runs once on nginx and once on Apache httpd (`test_x[nginx]`, `test_x[apache]`), unless it is
marked `@pytest.mark.only("nginx", reason="...")` (or "apache"); the reason is required. A
module's `site` fixture reads `server_kind` to write each server's own configuration.
"""

import functools
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_rig.apache import ApacheSite, build_module  # noqa: E402
from e2e_rig.browser import Browser  # noqa: E402
from e2e_rig.nginx import NginxSite  # noqa: E402
from e2e_rig.services import EchoApp, Emulator, PhpFpm, Pki, Redis  # noqa: E402

SERVER_KINDS = ("nginx", "apache")
_RUNNING_SERVERS = []
_EMULATOR = []


@pytest.fixture(scope="session")
def e2e_tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def pki(e2e_tmp):
    return Pki(e2e_tmp / "pki")


@pytest.fixture(scope="session")
def redis(e2e_tmp):
    server = Redis(e2e_tmp / "redis")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def emulator(e2e_tmp, pki):
    emu = Emulator(e2e_tmp / "emulator", pki)
    _EMULATOR.append(emu)
    yield emu
    _EMULATOR.remove(emu)
    emu.stop()


@pytest.fixture(scope="session")
def php(e2e_tmp):
    fpm = PhpFpm(e2e_tmp / "php-fpm")
    yield fpm
    fpm.stop()


@pytest.fixture(scope="session")
def echo_app():
    app = EchoApp()
    yield app
    app.stop()


@pytest.fixture(scope="session")
def env(pki, redis, emulator, php, echo_app):
    """All shared services, as one object handed to NginxSite."""
    return SimpleNamespace(pki=pki, redis=redis, emulator=emulator, php=php, echo=echo_app)


@pytest.fixture(autouse=True)
def _emulator_back_to_normal():
    """Whatever a test asked of the emulator (delays, down, misbehave) ends with the test."""
    yield
    for emu in list(_EMULATOR):
        emu.restore()


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory, request):
    return tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])


def _only_kinds(definition):
    marker = definition.get_closest_marker("only")
    if marker is None:
        return SERVER_KINDS
    kinds = marker.args
    reason = marker.kwargs.get("reason", "")
    if not kinds or any(kind not in SERVER_KINDS for kind in kinds):
        raise pytest.UsageError(f"{definition.nodeid}: pytest.mark.only takes server kinds out of {SERVER_KINDS}, got {kinds}")
    if not isinstance(reason, str) or not reason.strip():
        raise pytest.UsageError(f"{definition.nodeid}: pytest.mark.only({', '.join(map(repr, kinds))}) needs reason=\"why\"")
    return kinds


def pytest_generate_tests(metafunc):
    """Every test that needs a server runs on each kind its `only` marker leaves (both by default),
    module-scoped: one server of each kind per module, the tests grouped by kind. A module's
    `APACHE_VARIANTS = {"name": {make_site options}}` runs its Apache tests once per variant
    (`test_x[apache-name]`), e.g. under prefork with mod_php as well as event with php-fpm."""
    if "server_variant" not in metafunc.fixturenames:
        return
    variants = getattr(metafunc.module, "APACHE_VARIANTS", None)
    params = []
    for kind in _only_kinds(metafunc.definition):
        if kind == "apache" and variants:
            params += [pytest.param(("apache", options), id=f"apache-{name}") for name, options in variants.items()]
        else:
            params.append(pytest.param((kind, {}), id=kind))
    metafunc.parametrize("server_variant", params, indirect=True, scope="module")


@pytest.fixture(scope="module")
def server_variant(request):
    """(kind, make_site options) this module's tests run on now; see pytest_generate_tests."""
    return request.param


@pytest.fixture(scope="module")
def server_kind(server_variant):
    """"nginx" or "apache": which server this module's tests run on now."""
    return server_variant[0]


@pytest.fixture(scope="module")
def make_site(server_variant, request):
    """Factory: a fresh site of the current server kind (`make_nginx_site` or `make_apache_site`,
    one interface). `locations` is that server's own text; the Apache options (mpm, php,
    single_process) mean nothing to nginx, whose rig runs one worker."""
    kind, options = server_variant
    make = request.getfixturevalue(f"make_{kind}_site")
    return functools.partial(make, **options) if options else make


@pytest.fixture(scope="module")
def make_nginx_site(env, module_tmp):
    """Factory: a fresh NginxSite in its own prefix under the module's temp dir."""
    counter = [0]

    def make(sesame=True, locations=None, mpm=None, php=None, single_process=None):
        counter[0] += 1
        return NginxSite(env, module_tmp / f"nginx{counter[0]}", sesame=sesame, locations=locations)

    return make


@pytest.fixture(scope="module")
def start_server():
    """Factory: start the server of a site; everything started is stopped at module teardown."""
    started = []

    def start(site):
        server = site.start()
        started.append(server)
        _RUNNING_SERVERS.append(server)
        return server

    yield start
    for server in started:
        _RUNNING_SERVERS.remove(server)
        server.stop()


@pytest.fixture(scope="module")
def config_test(make_site):
    """`config_test(conf_text) -> (returncode, output)`: `nginx -t` / `apache2 -t` of a whole
    configuration text of the current server kind in a fresh prefix (module, secrets, include
    files in place, as for a real start)."""
    return lambda conf_text: make_site().config_test(conf_text)


@pytest.fixture(scope="session")
def apache_module():
    """apache/.build/debug/mod_sesame.so, (re)built with `make -C apache` if needed."""
    return build_module()


@pytest.fixture(scope="module")
def make_apache_site(env, apache_module):
    """Factory: an ApacheSite (same interface as NginxSite) in a world-traversable temp dir of
    its own; `mpm` ("event", "worker", "prefork"), `php` ("fpm", "mod_php") and
    `single_process` (one child, as nginx's one worker) choose how it runs."""

    def make(sesame=True, locations=None, mpm="event", php="fpm", single_process=False):
        return ApacheSite(env, sesame=sesame, locations=locations, mpm=mpm, php=php,
                          single_process=single_process)

    return make


@pytest.fixture(scope="module")
def site(make_site):
    """The standard protected site; a test module overrides this fixture to change directives
    (reading `server_kind` when nginx and Apache need different words)."""
    return make_site()


@pytest.fixture(scope="module")
def server(site, start_server):
    """The running server of `site`: base, port, url(path), log_tail(), log_size(),
    log_since(offset), alive(), worker_pids(), reload() (after changing `site`), stop()."""
    return start_server(site)


@pytest.fixture
def browser(pki, server):
    return Browser(pki.ca, site_base=server.base)


@pytest.fixture
def new_browser(pki, server):
    """Factory for extra independent browsers (each its own cookie jar = its own user agent)."""
    return lambda: Browser(pki.ca, site_base=server.base)


def _renamed(old, new):
    @pytest.fixture(scope="module", name=old)
    def fixture():
        pytest.fail(f"the `{old}` fixture is now `{new}`, and runs on nginx and Apache "
                    "(tests/e2e/README.md); rename it, or mark the test pytest.mark.only(\"nginx\", reason=...)")
    return fixture


# Names of the nginx-only rig, told where they went (a test written against them fails at once).
nginx = _renamed("nginx", "server")
nginx_site = _renamed("nginx_site", "site")
start_nginx = _renamed("start_nginx", "start_server")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the end of each running server's error log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in _RUNNING_SERVERS:
            report.sections.append((f"{type(server).__name__} error log ({server.base})", server.log_tail(4000)))
