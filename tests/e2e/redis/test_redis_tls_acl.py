"""Redis over TLS (test CA, with and without a client certificate), an ACL user with only the
rights Sesame needs, and a database index — each with a real redis-server and a full login."""

import pytest

from e2e_rig.browser import Browser
from e2e_rig.checks import assert_page, php_server
from e2e_rig.redis_topologies import RedisNode, make_client_cert

pytestmark = pytest.mark.only("nginx", reason="the core's Redis TLS and ACL client; one server is enough")

ACL_USER, ACL_PASSWORD = "sesame", "s3same-acl-pw"


@pytest.fixture(scope="module")
def tls_redis(module_tmp, pki):
    node = RedisNode(module_tmp / "redis-tls", tls=pki)
    yield node
    node.stop()


@pytest.fixture(scope="module")
def mtls_redis(module_tmp, pki):
    node = RedisNode(module_tmp / "redis-mtls", tls=pki, client_auth=True)
    yield node
    node.stop()


@pytest.fixture(scope="module")
def acl_redis(module_tmp):
    node = RedisNode(module_tmp / "redis-acl")
    # Least privilege: only sesame:* keys, only the commands Sesame and its CLI use.
    node.command("ACL", "SETUSER", ACL_USER, "on", f">{ACL_PASSWORD}", "resetkeys", "~sesame:*",
                 "resetchannels", "-@all", "+get", "+set", "+del", "+ping", "+scan", "+ttl",
                 "+select")
    node.command("ACL", "SETUSER", "default", "off")
    node.auth = (ACL_USER, ACL_PASSWORD)
    yield node
    node.stop()


def start_site(make_site, start_server, pki, **http):
    site = make_site()
    site.http["session_cache"] = "0"
    # These tests are about TLS and ACLs, not timeouts: a loaded 2-core CI machine has taken more
    # than the rig's 500 ms for a first TLS connect to Redis (a 503 in an otherwise good login).
    site.http["redis_timeout"] = "3s"
    site.http.update(http)
    server = start_server(site)
    return server, Browser(pki.ca, site_base=server.base)


def test_rediss_with_a_private_ca_stores_sessions(make_site, start_server, pki, tls_redis):
    server, browser = start_site(
        make_site, start_server, pki,
        redis=f"rediss://127.0.0.1:{tls_redis.port}/0", redis_ca_file=str(pki.ca))
    php_server(browser.login(server.url("/demarches/")).final)
    php_server(browser.get(server.url("/demarches/again")))
    assert [k for k in tls_redis.keys("sesame:*") if ":s:" in k]


def test_rediss_with_a_client_certificate_when_redis_requires_one(make_site, start_server, pki, mtls_redis):
    cert, key = make_client_cert(pki)
    server, browser = start_site(
        make_site, start_server, pki,
        redis=f"rediss://127.0.0.1:{mtls_redis.port}/0", redis_ca_file=str(pki.ca),
        redis_cert_file=str(cert), redis_key_file=str(key))
    php_server(browser.login(server.url("/demarches/")).final)
    assert [k for k in mtls_redis.keys("sesame:*") if ":s:" in k]


def test_rediss_without_the_client_certificate_is_refused_with_503(make_site, start_server, pki, mtls_redis):
    server, browser = start_site(
        make_site, start_server, pki,
        redis=f"rediss://127.0.0.1:{mtls_redis.port}/0", redis_ca_file=str(pki.ca))
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    assert_page(browser.get(login.callback_url), (503,))
    assert server.alive()


def test_acl_user_with_least_privilege_logs_in(make_site, start_server, pki, acl_redis):
    server, browser = start_site(
        make_site, start_server, pki,
        redis=f"redis://{ACL_USER}:{ACL_PASSWORD}@127.0.0.1:{acl_redis.port}/0")
    php_server(browser.login(server.url("/demarches/")).final)
    php_server(browser.get(server.url("/demarches/again")))
    assert [k for k in acl_redis.keys("sesame:*") if ":s:" in k]


def test_acl_wrong_password_gives_503_and_no_password_in_the_log(make_site, start_server, pki, acl_redis):
    server, browser = start_site(
        make_site, start_server, pki,
        redis=f"redis://{ACL_USER}:wrong-pw-123@127.0.0.1:{acl_redis.port}/0")
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    assert_page(browser.get(login.callback_url), (503,))
    log = server.log_tail(20000)
    assert "wrong-pw-123" not in log
    assert "127.0.0.1:" + str(acl_redis.port) in log


def test_database_index_of_the_url_is_used(make_site, start_server, pki, redis):
    server, browser = start_site(make_site, start_server, pki, redis=f"redis://127.0.0.1:{redis.port}/3")
    php_server(browser.login(server.url("/demarches/")).final)
    in_db3 = [k for k in redis.command("-n", "3", "--scan", "--pattern", "sesame:*").split("\n") if k]
    assert [k for k in in_db3 if ":s:" in k], in_db3
    in_db0 = set(redis.keys("sesame:*"))
    assert not in_db0.intersection(in_db3)
