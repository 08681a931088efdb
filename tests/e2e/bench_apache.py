"""Throughput of Apache + mod_sesame with `ab` (not part of `make test`: the file name does not
match test_*.py). Run: python3 -m pytest -q -s tests/e2e/bench_apache.py
(SESAME_APACHE_MODULE=$PWD/apache/.build/release/mod_sesame.so for the release core)."""

import re
import subprocess

import pytest
from e2e_rig import apache
from e2e_rig.browser import Browser
from e2e_rig.checks import SESSION

# An unprotected section next to the standard site's.
OPEN = """\
<Location /open/>
    AuthType None
</Location>
"""

BENCH = """
<Location /public/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
</Location>
"""


@pytest.fixture(scope="module")
def make_site(make_apache_site):
    return make_apache_site


@pytest.fixture(scope="module")
def site(make_site):
    return make_site(locations=apache.STANDARD_LOCATIONS + OPEN)


def ab(url, cookie=None):
    cmd = ["ab", "-q", "-k", "-n", "4000", "-c", "8"]
    if cookie: cmd += ["-C", cookie]
    out = subprocess.run(cmd + [url], capture_output=True, text=True).stdout
    rps = re.search(r"Requests per second:\s+([\d.]+)", out).group(1)
    mean = re.search(r"Time per request:\s+([\d.]+) \[ms\] \(mean, across", out).group(1)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    return {"req/s": rps, "ms/req": mean, "non-2xx": non2xx.group(1) if non2xx else "0"}


def test_bench(server, pki, make_site, start_server):
    b = Browser(pki.ca, server.base)
    b.login(server.url("/demarches/"), identity="testfc1")
    cookie = f"{SESSION}={b.cookie(SESSION)}"
    print("\nunprotected static /public/ (apache, module loaded):", ab(server.url("/public/index.html")))
    site = make_site(locations=BENCH)
    site.secret = server.site.secret
    site.client = server.site.client
    prot = start_server(site)
    print("protected static, cached session:", ab(prot.url("/public/index.html"), cookie))
    site2 = make_site(locations=BENCH)
    site2.http["session_cache"] = "0"
    site2.secret = server.site.secret
    prot2 = start_server(site2)
    print("protected static, session read from Redis each request:", ab(prot2.url("/public/index.html"), cookie))
