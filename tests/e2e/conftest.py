"""Fixtures of the end-to-end rig (SPEC "Test rig").

Session scope: PKI, redis-server, the provider emulator, php-fpm, the echo app (cheap to share, and
tests leave them as they found them). Module scope: one nginx per test module, configured by the
module's `nginx_site` fixture (override it to change directives). Every process runs on a free
loopback port and is stopped by PID at teardown, also when a test or a fixture fails.
"""

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_rig.apache import ApacheSite, build_module  # noqa: E402
from e2e_rig.browser import Browser  # noqa: E402
from e2e_rig.nginx import NginxSite  # noqa: E402
from e2e_rig.services import EchoApp, Emulator, PhpFpm, Pki, Redis  # noqa: E402

_RUNNING_NGINX = []
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


@pytest.fixture(scope="module")
def make_site(env, module_tmp):
    """Factory: a fresh NginxSite in its own prefix under the module's temp dir."""
    counter = [0]

    def make(sesame=True, locations=None):
        counter[0] += 1
        return NginxSite(env, module_tmp / f"nginx{counter[0]}", sesame=sesame, locations=locations)

    return make


@pytest.fixture(scope="module")
def start_nginx():
    """Factory: start nginx for a site; everything started is stopped at module teardown."""
    started = []

    def start(site):
        server = site.start()
        started.append(server)
        _RUNNING_NGINX.append(server)
        return server

    yield start
    for server in started:
        _RUNNING_NGINX.remove(server)
        server.stop()


@pytest.fixture(scope="module")
def config_test(make_site):
    """`config_test(conf_text) -> (returncode, stderr)`: `nginx -t` of a whole nginx.conf text in a
    fresh prefix (module, secrets, include files in place, as for a real start)."""
    return lambda conf_text: make_site().config_test(conf_text)


@pytest.fixture(scope="session")
def apache_module():
    """apache/.build/debug/mod_sesame.so, (re)built with `make -C apache` if needed."""
    return build_module()


@pytest.fixture(scope="module")
def make_apache_site(env, apache_module):
    """Factory: an ApacheSite (same interface as NginxSite). A test module that overrides
    `make_site` with this runs the nginx behaviour tests it imports against Apache."""

    def make(sesame=True, locations=None, mpm="event", php="fpm", single_process=False):
        return ApacheSite(env, sesame=sesame, locations=locations, mpm=mpm, php=php,
                          single_process=single_process)

    return make


@pytest.fixture(scope="module")
def nginx_site(make_site):
    """The standard protected site; a test module overrides this fixture to change directives."""
    return make_site()


@pytest.fixture(scope="module")
def nginx(nginx_site, start_nginx):
    return start_nginx(nginx_site)


@pytest.fixture
def browser(pki, nginx):
    return Browser(pki.ca, site_base=nginx.base)


@pytest.fixture
def new_browser(pki, nginx):
    """Factory for extra independent browsers (each its own cookie jar = its own user agent)."""
    return lambda: Browser(pki.ca, site_base=nginx.base)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the end of each running nginx's error.log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in _RUNNING_NGINX:
            report.sections.append((f"nginx error.log ({server.base})", server.log_tail(4000)))
