"""Sentinel over TLS: master, replica and 3 Sentinels all listening with TLS only
(`rediss+sentinel://...?sentinel_tls=on`): the Sentinels' certificates are checked against
`sesame_redis_ca_file` (Apache `SesameRedisCAFile`), a failover goes on over TLS, and a wrong
CA is refused with a line that says which Sentinel and what to fix — on both servers."""

import time

import pytest

from e2e_rig.browser import Browser
from e2e_rig.checks import assert_page, php_server
from e2e_rig.redis_topologies import SentinelSet, wait_for
from e2e_rig.services import Pki


@pytest.fixture(scope="module")
def tls_sentinels(module_tmp, pki, server_kind):
    # One set per server: the failover test kills its master.
    topo = SentinelSet(module_tmp / f"sentinel-tls-{server_kind}", tls=pki)
    yield topo
    topo.stop()


def start_site(make_site, start_server, url, ca):
    site = make_site()
    site.http["redis"] = url
    site.http["redis_ca_file"] = str(ca)
    site.http["session_cache"] = "0"  # every protected request goes to Redis
    # A first TLS handshake on a loaded 2-core machine can take longer than the rig's 500 ms.
    site.http["redis_timeout"] = "3s"
    return start_server(site)


def test_a_wrong_ca_for_the_sentinels_is_refused_with_a_clear_line(make_site, start_server, pki,
                                                                     module_tmp, tls_sentinels):
    other = Pki(module_tmp / "other-pki")
    server = start_site(make_site, start_server, tls_sentinels.url, other.ca)
    browser = Browser(pki.ca, site_base=server.base)
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    assert_page(browser.get(login.callback_url), (503,))
    log = server.log_tail(20000)
    first = tls_sentinels.sentinels[0].port
    assert f"sentinel 127.0.0.1:{first}:" in log, log[-3000:]
    directive = "SesameRedisCAFile" if type(server).__name__ == "Apache" else "sesame_redis_ca_file"
    assert f"not signed by the CA of {directive}" in log, log[-3000:]
    assert not [k for k in tls_sentinels.master.keys("sesame:*") if ":s:" in k]


def test_plain_text_sentinel_queries_do_not_reach_tls_only_sentinels(make_site, start_server, pki,
                                                                     tls_sentinels):
    plain = tls_sentinels.url.replace("?sentinel_tls=on", "")
    server = start_site(make_site, start_server, plain, pki.ca)
    browser = Browser(pki.ca, site_base=server.base)
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    assert_page(browser.get(login.callback_url), (503,))
    assert f"sentinel 127.0.0.1:{tls_sentinels.sentinels[0].port}:" in server.log_tail(20000)


def test_failover_over_tls_sessions_go_on_via_the_promoted_replica(make_site, start_server, pki,
                                                                     tls_sentinels):
    server = start_site(make_site, start_server, tls_sentinels.url, pki.ca)
    browsers = [Browser(pki.ca, site_base=server.base) for _ in range(2)]
    for b in browsers:
        php_server(b.login(server.url("/demarches/")).final)
    sessions = [k for k in tls_sentinels.master.keys("sesame:*") if ":s:" in k]
    assert len(sessions) == 2
    wait_for(lambda: set(sessions) <= set(tls_sentinels.replica.keys("sesame:*")), 5,
             "replication over TLS")
    pids = server.worker_pids()

    tls_sentinels.master.kill()
    t0 = time.monotonic()
    wait_for(lambda: tls_sentinels.master_port_per_sentinels() == tls_sentinels.replica.port, 30,
             "the sentinels promoting the replica", interval=0.2)

    def logged_in():
        return browsers[0].get(server.url("/demarches/")).status_code == 200
    wait_for(logged_in, 15, "sessions served by the promoted replica over TLS", interval=0.2)
    for b in browsers:
        server_vars = php_server(b.get(server.url("/demarches/after-failover")))
        assert server_vars["SESAME_CLAIM_FAMILY_NAME"] == "DUBOIS"
    assert tls_sentinels.replica.info_field("replication", "role") == "master"
    assert server.worker_pids() == pids
    fresh = Browser(pki.ca, site_base=server.base)
    php_server(fresh.login(server.url("/demarches/")).final)
    assert len([k for k in tls_sentinels.replica.keys("sesame:*") if ":s:" in k]) == 3
    print(f"\nsentinel failover over TLS: replica {tls_sentinels.replica.port} serving sessions "
          f"after {time.monotonic() - t0:.1f}s")
