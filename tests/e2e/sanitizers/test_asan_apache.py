"""The Apache module under AddressSanitizer: mod_sesame.so built by clang with
-fsanitize=address (`make -C apache asan`), loaded by Debian's apache2 with the ASan runtime
preloaded, serves a whole login through the emulator, the logged-in requests, a logout and
hostile requests (forged and oversized cookies, spoofed identity headers, garbage callbacks),
under the event and prefork MPMs; no child reports an invalid access (ASan writes a report file
per process that hits one). With php-fpm only: mod_php loads its extensions with RTLD_DEEPBIND,
which the ASan runtime refuses (google/sanitizers#611), so mod_php cannot run under it."""

import os
import re
import shutil
import stat
import subprocess
import time

import pytest

import e2e_rig.apache as apache_rig
from e2e_rig.checks import SESSION, php_server
from e2e_rig.paths import REPO, target_dir

pytestmark = pytest.mark.only("apache", reason="the Apache module's C code under AddressSanitizer")

APACHE_VARIANTS = {
    "event": {"mpm": "event", "php": "fpm"},
    "prefork": {"mpm": "prefork", "php": "fpm"},
}


def _make(*args):
    out = subprocess.run(["make", "-s", "-C", str(REPO / "apache"), *args,
                          f"CARGO_TARGET_DIR={target_dir()}"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.strip()


@pytest.fixture(scope="module")
def asan_reports(tmp_path_factory):
    """Builds the ASan module and a wrapper that starts apache2 with the runtime preloaded; the
    rig uses both for this module. Yields the folder ASan writes its reports into."""
    assert shutil.which("clang-14"), "clang-14 is not installed (tools/setup.sh asan installs it)"
    _make("asan")
    runtime = _make("asan-runtime")
    assert os.path.isfile(runtime), f"ASan runtime {runtime!r} missing (libclang-rt-14-dev)"
    work = tmp_path_factory.mktemp("asan")
    work.chmod(0o755)
    reports = work / "reports"
    reports.mkdir()
    reports.chmod(0o1777)  # the children run as www-data
    wrapper = work / "apache2"
    # detect_leaks=0: httpd frees its pools at exit by design, not an error of the module.
    wrapper.write_text(
        "#!/bin/sh\n"
        f"LD_PRELOAD={runtime} ASAN_OPTIONS=detect_leaks=0:log_path={reports}/asan "
        f"exec {apache_rig.APACHE_BIN} \"$@\"\n"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(apache_rig, "APACHE_BIN", str(wrapper))
        mp.setenv("SESAME_APACHE_MODULE", str(REPO / "apache" / ".build" / "asan" / "mod_sesame.so"))
        yield reports


@pytest.fixture(scope="module")
def server(asan_reports, site, start_server):
    return start_server(site)


def no_reports(reports, server):
    found = sorted(reports.iterdir())
    text = "\n".join(p.read_text(errors="replace")[-4000:] for p in found)
    assert not found, f"AddressSanitizer reports:\n{text}"
    assert "AddressSanitizer" not in server.log_tail(100000)


def test_the_running_apache_has_the_sanitizer(asan_reports, server):
    def maps(pid):
        try:
            with open(f"/proc/{pid}/maps") as f:
                return f.read()
        except OSError:  # a child that just exited
            return None

    parent = maps(server.proc.pid)
    assert parent and "libclang_rt.asan" in parent, "ASan runtime not loaded by apache2"
    # Apache loads its modules twice at start (it reads the configuration again after the
    # first pass): read the parent's map until the module is there again.
    deadline = time.monotonic() + 10
    while "mod_sesame.so" not in parent and time.monotonic() < deadline:
        time.sleep(0.2)
        parent = maps(server.proc.pid) or ""
    assert "mod_sesame.so" in parent, "the parent apache2 has not loaded mod_sesame.so"
    children = [m for m in map(maps, server.worker_pids()) if m is not None]
    assert all("libclang_rt.asan" in m for m in children), "a child without the ASan runtime"
    symbols = subprocess.run(["nm", "-D", str(REPO / "apache/.build/asan/mod_sesame.so")],
                             capture_output=True, text=True).stdout
    assert "__asan_report_load" in symbols, "the module is not instrumented"


def test_login_logged_in_requests_and_logout_raise_no_report(asan_reports, browser, server):
    login = browser.login(server.url("/demarches/accueil"), identity="testfc1")
    claims = php_server(login.final)
    assert claims["SESAME_CLAIM_GIVEN_NAME"] == "Angela Claire Louise"
    for i in range(20):
        page = browser.get(server.url(f"/demarches/page{i}?q={'x' * i}"))
        assert php_server(page)["REMOTE_USER"] == claims["REMOTE_USER"]
    out = browser.get(server.url("/logout"))
    assert out.status_code == 303, out.text[:500]
    assert browser.cookie(SESSION) is None
    no_reports(asan_reports, server)


def test_hostile_requests_raise_no_report(asan_reports, browser, server):
    base = server.url("")
    hostile = [
        ("/demarches/", {"Cookie": "__Host-sesame=" + "A" * 6000}),
        ("/demarches/", {"Cookie": "; ;;=;__Host-sesame=a.b;__Host-sesame-login=%%%; x=" + "\u00e9" * 50}),
        ("/demarches/", {"X-Sesame-Claim-Given-Name": "Mallory", "Remote-User": "admin",
                         "OIDC-Claim-Sub": "x", "X_Sesame_User": "y"}),
        ("/sesame/callback?code=" + "c" * 5000 + "&state=s&state=t&iss=%00", {}),
        ("/sesame/callback?error=access_denied&error_description=" + "%0d%0a" * 200, {}),
        ("/sesame/logged-out?state=" + "z" * 3000, {"Cookie": "__Host-sesame-logout=" + "B" * 3000}),
        ("/demarches/%2F%2Fevil.example/..%5c", {"Sec-Fetch-Site": "cross-site", "Accept": "text/html"}),
    ]
    for path, headers in hostile:
        r = browser.session.get(base + path, headers=headers, allow_redirects=False, timeout=30)
        assert r.status_code < 600
        assert server.alive()
    no_reports(asan_reports, server)
    assert not re.search(r"child pid \d+ exit signal", server.log_tail(100000)), server.log_tail()
