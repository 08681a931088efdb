"""The `sesame` operator CLI against a real nginx + Redis: sessions list (filters), sessions kill
(one session, every session of a user: re-login forced on nginx), config check (same message as
nginx -t), keygen (0600 secret accepted by the configuration)."""

import json
import os
import stat

import pytest

from e2e_rig.browser import Browser
from e2e_rig.checks import assert_redirects_to_provider, php_server
from e2e_rig.redis_topologies import RedisNode, run_cli

pytestmark = pytest.mark.only("nginx", reason="the Redis store and the sesame command are the core's; one server is enough")


@pytest.fixture(scope="module")
def own_redis(module_tmp):
    node = RedisNode(module_tmp / "redis")
    yield node
    node.stop()


@pytest.fixture(scope="module")
def site(make_site, own_redis):
    site = make_site()
    site.http["redis"] = f"redis://127.0.0.1:{own_redis.port}/0"
    site.http["session_cache"] = "0"
    return site


@pytest.fixture
def conf(site, server):
    return str(site.prefix / "conf" / "nginx.conf")


def listed(conf, *filters):
    rc, out, err = run_cli("sessions", "list", "-c", conf, "--json", *filters)
    assert rc == 0, err
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def login(pki, server, identity="testfc1"):
    b = Browser(pki.ca, site_base=server.base)
    php_vars = php_server(b.login(server.url("/demarches/"), identity=identity).final)
    return b, php_vars


def test_sessions_list_shows_a_logged_in_user_filtered_by_sub_and_email(pki, server, conf, own_redis):
    own_redis.command("FLUSHALL")
    _, user = login(pki, server)
    _, other = login(pki, server, identity="elodie")
    sub, email = user["SESAME_CLAIM_SUB"], user["SESAME_CLAIM_EMAIL"]
    everyone = listed(conf)
    assert {s["sub"] for s in everyone} == {sub, other["SESAME_CLAIM_SUB"]}
    [by_sub] = listed(conf, "--sub", sub)
    assert by_sub["email"] == email and by_sub["provider"] == "fc" and by_sub["acr"] == "eidas1"
    [by_email] = listed(conf, "--email", email.upper())
    assert by_email["id"] == by_sub["id"]
    assert listed(conf, "--provider", "fc", "--sub", "nobody") == []
    # The table form, for people.
    rc, out, err = run_cli("sessions", "list", "-c", conf, "--sub", sub)
    assert rc == 0 and sub in out and email in out and "session(s)" in err
    # The session id (the cookie's secret) is never shown: only its hash, the Redis key suffix.
    assert any(k.endswith(":s:" + by_sub["id"]) for k in own_redis.keys("*"))


def test_sessions_kill_of_a_user_forces_login_again_on_nginx(pki, server, conf, own_redis, emulator):
    own_redis.command("FLUSHALL")
    first, user = login(pki, server)
    second, _ = login(pki, server)  # the same user on another device
    bystander, _ = login(pki, server, identity="elodie")
    rc, out, err = run_cli("sessions", "kill", "-c", conf, "--sub", user["SESAME_CLAIM_SUB"])
    assert rc == 0, err
    assert out.count("killed ") == 2, out
    for b in (first, second):
        assert_redirects_to_provider(b.get(server.url("/demarches/")), emulator)
    php_server(bystander.get(server.url("/demarches/")))


def test_sessions_kill_one_session_by_id_prefix(pki, server, conf, own_redis, emulator):
    own_redis.command("FLUSHALL")
    first, user = login(pki, server)
    second, _ = login(pki, server)
    ids = [s["id"] for s in listed(conf, "--sub", user["SESAME_CLAIM_SUB"])]
    assert len(ids) == 2
    rc, out, err = run_cli("sessions", "kill", "-c", conf, ids[0][:12])
    assert rc == 0, err
    remaining = [s["id"] for s in listed(conf)]
    assert remaining == [ids[1]]
    outcomes = sorted(b.get(server.url("/demarches/")).status_code for b in (first, second))
    assert outcomes[0] == 200 and outcomes[1] in (302, 303)


def test_sessions_kill_refuses_to_run_without_a_filter(conf):
    rc, _, err = run_cli("sessions", "kill", "-c", conf)
    assert rc != 0 and "needs an ID prefix or a filter" in err


def test_cli_prints_escape_sequences_and_bidi_overrides_it_was_given_as_visible_escapes(conf):
    # A terminal title change + screen clear, and a right-to-left override, in the argument the
    # error message quotes back.
    hostile = "\x1b]0;pwned\x07\x1b[2J\u202eabcdef"
    rc, _, err = run_cli("sessions", "kill", "-c", conf, hostile)
    assert rc != 0 and "is not a session ID prefix" in err, err
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err, repr(err)
    assert "\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{202e}abcdef" in err, err


def test_config_check_accepts_the_running_configuration(conf):
    rc, out, _ = run_cli("config", "check", "-c", conf)
    assert rc == 0, out
    assert "is valid (1 provider(s), 3 location(s)" in out


@pytest.mark.parametrize("change", ["bad_timeout", "short_secret", "unknown_provider"])
def test_config_check_reports_a_bad_config_with_the_same_message_as_nginx_t(make_site, change):
    site = make_site()
    if change == "bad_timeout":
        site.http["redis_timeout"] = "soon"
    elif change == "short_secret":
        site.secret = b"too short"
    else:
        site.locations = "        location /x/ { sesame nope; }\n"
    rc, nginx_err = site.config_test()
    assert rc != 0
    [nginx_line] = [line for line in nginx_err.splitlines() if "[emerg]" in line]
    expected = nginx_line.split("[emerg] ", 1)[1]
    rc, out, _ = run_cli("config", "check", "-c", site.prefix / "conf" / "nginx.conf")
    assert rc == 1
    assert f"sesame: [emerg] {expected}" in out.splitlines(), (expected, out)


# Location configurations `nginx -t` refuses; `sesame config check` must refuse each one with the
# same message and line (it once accepted a FranceConnect location asking eidas2).
REFUSED_LOCATIONS = {
    "franceconnect_location_asking_eidas2": "        location /x/ {\n            sesame fc;\n            sesame_acr eidas2;\n        }\n",
    "option_without_provider": "        location /x/ {\n            sesame_acr eidas1;\n        }\n",
    "nested_option_refused_by_the_inherited_provider": (
        "        location /x/ {\n            sesame fc;\n"
        "            location /x/y/ {\n                sesame_prompt none;\n            }\n        }\n"
    ),
    "single_valued_option_given_two_values": "        location /x/ {\n            sesame fc;\n            sesame_prompt login none;\n        }\n",
    "option_written_twice": "        location /x/ {\n            sesame fc;\n            sesame_acr eidas1;\n            sesame_acr eidas1;\n        }\n",
    "option_next_to_a_logout": "        location /x/ {\n            sesame_logout fc;\n            sesame_unauth_action pass;\n        }\n",
    "option_under_sesame_off": "        location /x/ {\n            sesame off;\n            sesame_max_auth_age 30m;\n        }\n",
    "too_short_maximum_age_in_a_nested_location": (
        "        location /x/ {\n            sesame fc;\n"
        "            location /x/y/ {\n                sesame_max_auth_age 30s;\n            }\n        }\n"
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED_LOCATIONS))
def test_config_check_refuses_every_location_nginx_t_refuses_with_its_message(make_site, name):
    site = make_site()
    site.locations = REFUSED_LOCATIONS[name]
    rc, nginx_err = site.config_test()
    assert rc != 0, f"nginx -t accepted:\n{site.render()}"
    [nginx_line] = [line for line in nginx_err.splitlines() if "[emerg]" in line]
    expected = nginx_line.split("[emerg] ", 1)[1]
    rc, out, _ = run_cli("config", "check", "-c", site.prefix / "conf" / "nginx.conf")
    assert rc == 1, f"sesame config check accepted what nginx -t refuses ({expected}):\n{out}"
    assert f"sesame: [emerg] {expected}" in out.splitlines(), (expected, out)


def test_config_check_accepts_nested_locations_nginx_t_accepts(make_site):
    site = make_site()
    site.locations = (
        "        location /x/ {\n            sesame fc;\n            sesame_acr eidas1;\n"
        "            sesame_require email @fia1.fr;\n"
        "            location /x/y/ {\n                sesame_require sub x;\n                sesame_prompt login;\n            }\n"
        "            location /x/z/ {\n                sesame off;\n            }\n        }\n"
    )
    rc, nginx_err = site.config_test()
    assert rc == 0, nginx_err
    rc, out, _ = run_cli("config", "check", "-c", site.prefix / "conf" / "nginx.conf")
    assert rc == 0, out
    assert "2 location(s)" in out, out


def test_keygen_writes_a_0600_secret_the_configuration_accepts(make_site, tmp_path):
    path = tmp_path / "sesame.secret"
    rc, _, err = run_cli("keygen", path)
    assert rc == 0, err
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o600, oct(mode)
    data = path.read_bytes().strip()
    assert len(data) >= 32 and len(data) == 64
    # Never overwritten by accident: a new secret logs everybody out.
    rc, _, err = run_cli("keygen", path)
    assert rc != 0 and "already exists" in err
    assert path.read_bytes().strip() == data
    # Accepted as sesame_secret_file.
    site = make_site()
    site.http["secret_file"] = str(path)
    site.prepare()
    rc, out, _ = run_cli("config", "check", "-c", site.prefix / "conf" / "nginx.conf")
    assert rc == 0, out


def test_every_command_has_help():
    for argv in (["--help"], ["sessions", "list", "--help"], ["sessions", "kill", "--help"],
                 ["config", "check", "--help"], ["doctor", "--help"], ["keygen", "--help"]):
        rc, out, err = run_cli(*argv)
        assert rc == 0 and "Usage" in out, (argv, out, err)
    rc, _, err = run_cli("frobnicate")
    assert rc == 2 and "unknown command" in err
