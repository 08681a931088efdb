"""Instant revocation over every Redis form the sessions use: the revocation thread of each of the
4 nginx workers subscribes with the store's own settings — TLS with a client certificate and a
least-privilege ACL user (the README's, channel permission included), the master the Sentinels
name (also after a failover), a node of a 3-master Cluster (PUBLISH sent to one node reaches the
subscribers of every node) — and a `sesame sessions kill` is refused by every worker within a
second with a 5-minute session cache.

Reproduce the figures: python3 -m pytest -s tests/e2e/revocation/test_revocation_topologies.py
"""

import time

import pytest

from e2e_rig.redis_topologies import Cluster, RedisNode, SentinelSet, make_client_cert, run_cli, wait_for

from .test_instant_revocation import CACHE, login, poll_until_refused_everywhere, several_workers, warm

pytestmark = pytest.mark.only("nginx", reason="the core's Redis client, the same for both servers; one is enough")

ACL_USER, ACL_PASSWORD = "sesame", "revoke-acl-pw-7"
# README "Redis in production": the least-privilege user, channel permission included.
README_ACL = ["resetkeys", "~sesame:*", "resetchannels", "&sesame:*", "-@all", "+get", "+set", "+del",
              "+ping", "+scan", "+ttl", "+select", "+publish", "+subscribe"]


def start(make_site, start_server, url, **http):
    site = make_site()
    site.http["redis"] = url
    site.http["session_cache"] = CACHE
    # A first TLS connect on a loaded 2-core machine has taken more than the rig's 500 ms.
    site.http["redis_timeout"] = "3s"
    site.http.update(http)
    return site, start_server(several_workers(site, "nginx"))


def kill_and_poll(pki, site, server, nodes, cli_args, what):
    _, cookie, sub = login(pki, server)
    warmed = warm(pki, server, site, "nginx", nodes, cookie)
    rc, out, err = run_cli("sessions", "kill", *cli_args, "--secret-file",
                           str(site.prefix / "conf" / "sesame.secret"), "--sub", sub)
    killed_at = time.monotonic()
    assert rc == 0, err
    assert "drops them at once" in err, err
    poll_until_refused_everywhere(pki, server, site, "nginx", cookie, killed_at, what, warmed)
    assert "revocation feed: no subscription" not in server.log_since(0)


def test_tls_with_a_client_certificate_and_the_readme_acl_user(pki, make_site, start_server, module_tmp):
    node = RedisNode(module_tmp / "redis-mtls", tls=pki, client_auth=True)
    try:
        node.command("ACL", "SETUSER", ACL_USER, "on", f">{ACL_PASSWORD}", *README_ACL)
        node.command("ACL", "SETUSER", "default", "off")
        node.auth = (ACL_USER, ACL_PASSWORD)
        cert, key = make_client_cert(pki)
        url = f"rediss://{ACL_USER}:{ACL_PASSWORD}@127.0.0.1:{node.port}/0"
        tls = {"redis_ca_file": str(pki.ca), "redis_cert_file": str(cert), "redis_key_file": str(key)}
        site, server = start(make_site, start_server, url, **tls)
        cli = ["--redis", url, "--redis-ca-file", str(pki.ca), "--redis-cert-file", str(cert),
               "--redis-key-file", str(key), "--redis-timeout", "3s"]
        kill_and_poll(pki, site, server, [node], cli, "kill over TLS as an ACL user")
    finally:
        node.stop()


def test_sentinel_master_before_and_after_a_failover(pki, make_site, start_server, module_tmp):
    topo = SentinelSet(module_tmp / "sentinel")
    try:
        site, server = start(make_site, start_server, topo.url)
        cli = ["--redis", topo.url, "--redis-timeout", "3s"]
        kill_and_poll(pki, site, server, [topo.master], cli, "kill through the Sentinels' master")
        topo.master.kill()
        wait_for(lambda: topo.master_port_per_sentinels() == topo.replica.port, 30,
                 "the sentinels promoting the replica", interval=0.2)
        # The feeds lost the dead master and find the promoted one through the Sentinels.
        wait_for(lambda: server.log_since(0).count("revocation feed subscribed again") >= 4, 20,
                 "every worker's feed on the new master", interval=0.2)
        _, cookie, sub = login(pki, server)
        warmed = warm(pki, server, site, "nginx", [topo.replica], cookie)
        rc, _, err = run_cli("sessions", "kill", *cli, "--secret-file",
                             str(site.prefix / "conf" / "sesame.secret"), "--sub", sub)
        killed_at = time.monotonic()
        assert rc == 0, err
        poll_until_refused_everywhere(pki, server, site, "nginx", cookie, killed_at, "kill after a failover",
                                      warmed)
    finally:
        topo.stop()


def numsub(node):
    """Subscribers of the site's revocation channel connected to `node`."""
    keys = [k for k in node.command("PUBSUB", "CHANNELS", "sesame:*").split()]
    return sum(int(node.command("PUBSUB", "NUMSUB", k).split()[1]) for k in keys)


def test_cluster_publish_reaches_the_subscribers_of_every_node(pki, make_site, start_server, module_tmp):
    topo = Cluster(module_tmp / "cluster")
    try:
        site, server = start(make_site, start_server, topo.url)
        # The feeds subscribe to the first seed that answers; the CLI publishes through the
        # cluster client, on whichever node it picks: list the seeds the other way round.
        reversed_url = "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in reversed(topo.nodes))
        wait_for(lambda: numsub(topo.nodes[0]) == 4, 10, "the 4 feeds on the first seed")
        assert [numsub(n) for n in topo.nodes[1:]] == [0, 0], "subscribers on one node only"
        kill_and_poll(pki, site, server, topo.nodes, ["--redis", reversed_url, "--redis-timeout", "3s"],
                      "kill on a Redis Cluster")
    finally:
        topo.stop()
