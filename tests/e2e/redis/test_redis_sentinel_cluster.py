"""Sentinel failover (1 master + 1 replica + 3 Sentinels: the master is killed, sessions go on
through the promoted replica without reloading nginx) and a 3-master Redis Cluster (sessions
spread over the slots of all three masters)."""

import time

import pytest

from e2e_rig.browser import Browser
from e2e_rig.checks import assert_page, php_server
from e2e_rig.redis_topologies import Cluster, SentinelSet, run_cli, wait_for

pytestmark = pytest.mark.only("nginx", reason="the core's Redis topologies; one server is enough")

SENTINEL_PASSWORD = "sentinel-pw-42"


@pytest.fixture(scope="module")
def sentinels(module_tmp):
    topo = SentinelSet(module_tmp / "sentinel")
    yield topo
    topo.stop()


@pytest.fixture(scope="module")
def secured_sentinels(module_tmp):
    topo = SentinelSet(module_tmp / "sentinel-auth", password=SENTINEL_PASSWORD)
    yield topo
    topo.stop()


@pytest.fixture(scope="module")
def cluster(module_tmp):
    topo = Cluster(module_tmp / "cluster")
    yield topo
    topo.stop()


def start_site(make_site, start_server, pki, url):
    site = make_site()
    site.http["redis"] = url
    site.http["session_cache"] = "0"  # every protected request goes to Redis
    server = start_server(site)
    return site, server


def test_sentinel_failover_sessions_go_on_via_the_promoted_replica(make_site, start_server, pki, sentinels):
    _, server = start_site(make_site, start_server, pki, sentinels.url)
    browsers = [Browser(pki.ca, site_base=server.base) for _ in range(3)]
    for b in browsers:
        php_server(b.login(server.url("/demarches/")).final)
    sessions = [k for k in sentinels.master.keys("sesame:*") if ":s:" in k]
    assert len(sessions) == 3
    # Replication is asynchronous: the replica must hold the sessions before the master dies.
    wait_for(lambda: set(sessions) <= set(sentinels.replica.keys("sesame:*")), 5, "replication")
    pids = server.worker_pids()
    old_master = sentinels.master.port

    sentinels.master.kill()
    t0 = time.monotonic()
    wait_for(lambda: sentinels.master_port_per_sentinels() == sentinels.replica.port, 30,
             "the sentinels promoting the replica", interval=0.2)

    # The same browsers stay logged in (no new login), on the same nginx workers (no reload).
    def logged_in():
        return browsers[0].get(server.url("/demarches/")).status_code == 200
    wait_for(logged_in, 10, "sessions served by the promoted replica", interval=0.2)
    for b in browsers:
        server_vars = php_server(b.get(server.url("/demarches/after-failover")))
        assert server_vars["SESAME_CLAIM_FAMILY_NAME"] == "DUBOIS"
    assert sentinels.replica.info_field("replication", "role") == "master"
    assert server.worker_pids() == pids
    # New sessions are written to the new master.
    fresh = Browser(pki.ca, site_base=server.base)
    php_server(fresh.login(server.url("/demarches/")).final)
    assert len([k for k in sentinels.replica.keys("sesame:*") if ":s:" in k]) == 4
    print(f"\nsentinel failover: master {old_master} killed, replica {sentinels.replica.port} "
          f"serving sessions after {time.monotonic() - t0:.1f}s")


def test_sentinels_requiring_a_password_are_asked_with_the_url_credentials(
        make_site, start_server, pki, secured_sentinels):
    _, server = start_site(make_site, start_server, pki,
                           f"{secured_sentinels.url}?sentinel_password={SENTINEL_PASSWORD}")
    browser = Browser(pki.ca, site_base=server.base)
    php_server(browser.login(server.url("/demarches/")).final)
    assert [k for k in secured_sentinels.master.keys("sesame:*") if ":s:" in k]

    _, without = start_site(make_site, start_server, pki, secured_sentinels.url)
    browser = Browser(pki.ca, site_base=without.base)
    login = browser.login(without.url("/demarches/"), stop_before_callback=True)
    assert_page(browser.get(login.callback_url), (503,))
    log = without.log_tail(20000)
    assert "sentinel 127.0.0.1:" in log and SENTINEL_PASSWORD not in log


def test_cluster_spreads_sessions_over_the_three_masters(make_site, start_server, pki, cluster):
    site, server = start_site(make_site, start_server, pki, cluster.url)
    browsers = []
    per_node = [0, 0, 0]
    # Keys are random: log in until every master holds at least one session (a handful suffices).
    for _ in range(40):
        b = Browser(pki.ca, site_base=server.base)
        php_server(b.login(server.url("/demarches/")).final)
        browsers.append(b)
        per_node = [len([k for k in n.keys("sesame:*") if ":s:" in k]) for n in cluster.nodes]
        if len(browsers) >= 6 and all(per_node):
            break
    assert all(per_node), per_node
    assert sum(per_node) == len(browsers)
    # Every session, wherever its slot lives, is read back through the cluster client.
    for b in browsers:
        php_server(b.get(server.url("/demarches/again")))
    # The CLI scans every master.
    rc, out, err = run_cli("sessions", "list", "--json", "--redis", cluster.url,
                           "--secret-file", site.prefix / "conf" / "sesame.secret")
    assert rc == 0, err
    assert len([line for line in out.splitlines() if line.strip()]) == len(browsers), out
    print(f"\ncluster: sessions per master {per_node}")
