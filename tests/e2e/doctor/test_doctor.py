"""`sesame doctor` against real parts: the emulator over HTTPS (its CA, its clock in the Date
header), a real redis-server with ACL users, the site's secret file. Each failure an operator
meets is provoked, and the line that reports it is checked for what to do."""

import os

import pytest

from e2e_rig.redis_topologies import RedisNode, run_cli
from e2e_rig.services import Pki


def is_apache(site):
    return type(site).__name__ == "ApacheSite"


def spelled(site, nginx, apache):
    """A directive in the spelling of the site's server (the messages use it)."""
    return apache if is_apache(site) else nginx

ACL_USER, ACL_PASSWORD = "sesame", "doctor-acl-pw-7"
SESAME_COMMANDS = ["+get", "+set", "+del", "+scan", "+ttl", "+getdel", "+publish", "+subscribe"]


@pytest.fixture(scope="module")
def acl_redis(module_tmp):
    node = RedisNode(module_tmp / "redis-acl")
    yield node
    node.stop()


def acl_user(node, name, commands):
    node.command("ACL", "SETUSER", name, "reset", "on", f">{ACL_PASSWORD}", "~sesame:*",
                 "&sesame:*", "-@all", *commands)
    return f"redis://{name}:{ACL_PASSWORD}@127.0.0.1:{node.port}/0"


@pytest.fixture
def site(make_site, acl_redis):
    site = make_site()
    site.http["redis"] = acl_user(acl_redis, ACL_USER, SESAME_COMMANDS)
    return site


def doctor(site, secret_mode=0o600):
    conf = site.prepare()
    # The nginx rig writes its files with the default umask; a deployment keeps its secret private.
    os.chmod(site.prefix / "conf" / "sesame.secret", secret_mode)
    rc, out, err = run_cli("doctor", "-a" if is_apache(site) else "-c", conf, timeout=60)
    print(out)
    lines = {}
    for line in out.splitlines():
        tag, rest = line.split(maxsplit=1)
        check, _, message = rest.partition(": ")
        if check.startswith("provider "):  # `provider fc: discovery: ...`
            what, _, message = message.partition(": ")
            check = f"{check}: {what}"
        lines[check] = (tag, message)
    return rc, lines, out, err


def test_a_healthy_deployment_passes_every_check(site):
    rc, lines, out, err = doctor(site)
    assert rc == 0, out + err
    for check in ("config", "secret", "redis", "provider fc: discovery", "provider fc: redirect_uri"):
        assert lines[check][0] == "ok", out
    assert f'as user "{ACL_USER}"' in lines["redis"][1]
    assert ACL_PASSWORD not in out + err
    assert "skew" in lines["provider fc: discovery"][1]


def test_a_secret_readable_by_others_fails_with_the_chmod_to_run(site):
    rc, lines, out, _ = doctor(site, secret_mode=0o644)
    assert rc == 1
    tag, message = lines["secret"]
    assert tag == "FAIL" and "mode 0644" in message and "chmod 600" in message, out
    assert spelled(site, "sesame_secret_file", "SesameSecretFile") in message, out


def test_a_wrong_provider_ca_is_explained(site, module_tmp):
    other = Pki(module_tmp / "doctor-other-ca")
    site.providers["fc"]["ca_file"] = str(other.ca)
    rc, lines, out, _ = doctor(site)
    assert rc == 1
    tag, message = lines["provider fc: discovery"]
    assert tag == "FAIL", out
    ca_file = spelled(site, "ca_file", "CAFile")
    assert "unreachable" in message and f'not signed by a CA of {ca_file} "{other.ca}"' in message, out
    # The other checks still ran.
    assert lines["redis"][0] == "ok", out


def test_a_provider_clock_far_off_fails_and_a_small_skew_warns(site, emulator):
    emulator.control(clock_offset=120)
    rc, lines, out, _ = doctor(site)
    assert rc == 1
    tag, message = lines["provider fc: discovery"]
    assert tag == "FAIL" and "ahead of this machine's" in message, out
    assert spelled(site, "leeway", "Leeway") in message, out
    assert "NTP" in message

    emulator.control(clock_offset=-12)
    rc, lines, out, _ = doctor(site)
    assert rc == 0, out  # a warning does not fail the run
    tag, message = lines["provider fc: discovery"]
    assert tag == "WARN" and "behind this machine's" in message, out
    seconds = int(message.split("clock is ", 1)[1].split("s ", 1)[0])
    assert 10 <= seconds <= 14, message


def test_an_acl_user_without_a_command_sesame_needs_fails_with_the_acl_to_grant(site, acl_redis):
    site.http["redis"] = acl_user(acl_redis, "no-get", [c for c in SESAME_COMMANDS if c != "+get"])
    rc, lines, out, _ = doctor(site)
    assert rc == 1
    tag, message = lines["redis"]
    assert tag == "FAIL" and 'the ACL user "no-get"' in message and "may not run GET" in message, out
    assert "ACL SETUSER no-get +get" in message, out


def test_an_acl_user_without_an_optional_command_only_warns(site, acl_redis):
    site.http["redis"] = acl_user(acl_redis, "no-getdel", [c for c in SESAME_COMMANDS if c != "+getdel"])
    rc, _, out, _ = doctor(site)
    assert rc == 0, out
    [line] = [line for line in out.splitlines() if line.startswith("WARN redis:")]
    assert "GETDEL" in line and spelled(site, "sesame_pass_access_token", "SesamePassAccessToken") in line, out


def test_an_acl_user_without_the_revocation_channel_warns_what_to_grant(site, acl_redis):
    """Instant revocation publishes and subscribes on the site's channel: without it logouts
    still work, but every request reads Redis; doctor says so and what to grant."""
    site.http["redis"] = acl_user(acl_redis, "no-pubsub", [c for c in SESAME_COMMANDS
                                                          if c not in ("+publish", "+subscribe")])
    rc, _, out, _ = doctor(site)
    assert rc == 0, out
    warned = [line for line in out.splitlines() if line.startswith("WARN redis:")]
    assert len(warned) == 2, out
    assert "PUBLISH" in warned[0] and "SUBSCRIBE" in warned[1], out
    assert all("instant revocation" in w for w in warned), out
    assert "ACL SETUSER no-pubsub +publish" in warned[0], out


def test_redis_unreachable_or_refusing_the_password_fails(site, acl_redis):
    site.http["redis"] = f"redis://{ACL_USER}:wrong-pw-99@127.0.0.1:{acl_redis.port}/0"
    rc, lines, out, err = doctor(site)
    assert rc == 1
    tag, message = lines["redis"]
    assert tag == "FAIL" and "authentication failed" in message and "user and password" in message, out
    assert "wrong-pw-99" not in out + err


def test_an_http_redirect_uri_fails(site):
    site.providers["fc"]["redirect_uri"] = site.base.replace("https://", "http://") + "/callback"
    rc, lines, out, _ = doctor(site)
    assert rc == 1
    tag, message = lines["provider fc: redirect_uri"]
    assert tag == "FAIL" and "is not https" in message, out


def test_a_redirect_uri_host_no_server_is_named_warns(site):
    site.providers["fc"]["redirect_uri"] = "https://elsewhere.example.fr/callback"
    rc, lines, out, _ = doctor(site)
    tag, message = lines["provider fc: redirect_uri"]
    served = spelled(site, "localhost", "127.0.0.1")  # the rigs' server_name / ServerName
    assert tag == "WARN" and '"elsewhere.example.fr"' in message and served in message, out


def test_a_configuration_that_does_not_build_is_the_only_line(site):
    site.http["redis_timeout"] = "soon"
    rc, lines, out, _ = doctor(site)
    assert rc == 1
    assert list(lines) == ["config"] and lines["config"][0] == "FAIL", out
    directive = spelled(site, "sesame_redis_timeout", "SesameRedisTimeout")
    assert f'{directive} "soon" is not a duration' in lines["config"][1], out
