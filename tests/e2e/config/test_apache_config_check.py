"""`sesame config check -a` reads an Apache configuration as apache2 does (Include and
IncludeOptional with wildcards relative to ServerRoot, <IfModule>, <IfDefine>, <VirtualHost>,
directory sections) and refuses what `apache2 -t` refuses with the module loaded, with the same
message, file and line: each broken configuration below goes through both, and the lines
apache2 prints must be the ones the command prints."""

import secrets
import subprocess

import pytest

from e2e_rig.apache import APACHE_BIN
from e2e_rig.redis_topologies import run_cli
from e2e_rig.procs import free_port
from e2e_rig.services import new_client
from .test_apache_config import APACHE_CASES, _site_with_a_second_vhost

pytestmark = pytest.mark.only("apache", reason="Apache's configuration reader; nginx's is test_redis_cli's config check")


def apache_error_lines(out):
    """The lines of `apache2 -t` that say what is wrong (the message and where)."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("apache2: Syntax error on line"):  # while reading the files
            return [line]
        if "Syntax error on line" in line:
            return [line[line.index("AH00526"):] if "AH00526" in line else line, lines[i + 1]]
        if "mod_sesame: " in line and "use the same secret" not in line:
            return [line[line.index("mod_sesame: "):], "AH00014: Configuration check failed"]
    return []


def check_both(site):
    rc_apache, apache_out = site.config_test()
    conf = site.prefix / "conf" / "apache.conf"
    rc, out, err = run_cli("config", "check", "-a", conf)
    return rc_apache, apache_out, rc, out, err


def assert_same_refusal(site):
    rc_apache, apache_out, rc, out, err = check_both(site)
    assert rc_apache != 0, f"apache2 -t accepted it:\n{apache_out}"
    expected = apache_error_lines(apache_out)
    assert expected, apache_out
    assert rc == 1, f"sesame config check accepted what apache2 -t refuses:\n{apache_out}\n{out}{err}"
    got = out.splitlines()
    assert expected[0] in got, f"\napache2 -t: {expected}\nsesame:     {got}"
    start = got.index(expected[0])
    assert got[start:start + len(expected)] == expected, f"\napache2 -t: {expected}\nsesame:     {got}"
    print(f"\n{expected}")


def assert_both_accept(site):
    rc_apache, apache_out, rc, out, err = check_both(site)
    assert rc_apache == 0 and "Syntax OK" in apache_out, apache_out
    assert rc == 0, out + err
    assert "is valid" in out


def test_the_rig_configuration_is_valid_for_both(make_site):
    assert_both_accept(make_site())


@pytest.mark.parametrize("mutate, words, at_line", APACHE_CASES, ids=[m.__name__ for m, _, _ in APACHE_CASES])
def test_a_broken_sesame_configuration_is_refused_with_apache_t_s_lines(mutate, words, at_line, make_site):
    site = make_site()
    mutate(site)
    assert_same_refusal(site)


# Apache's own reading: includes, conditions, sections, servers.

def value_in_an_included_file(site):
    site.http["redis_timeout"] = None
    site.files["conf/sites/10-a.conf"] = "# fine\nSesameSessionCache 2s\n"
    site.files["conf/sites/20-b.conf"] = "# the mistake is here\n\nSesameRedisTimeout soon\n"
    site.extra = "Include conf/sites/*.conf\n"


def value_in_a_wildcard_directory(site):
    site.http["redis_timeout"] = None
    site.files["conf/vhosts/one/sesame.conf"] = "SesameRedisTimeout soon\n"
    site.extra = "IncludeOptional conf/vhosts/*/sesame.conf\n"


def include_of_a_wildcard_matching_nothing(site):
    site.extra = "Include conf/nothing-here/*.conf\n"


def include_of_a_missing_file(site):
    site.extra = "Include conf/missing.conf\n"


def value_under_a_true_ifmodule(site):
    site.extra = "<IfModule !nosuch_module>\n  SesameSessionCache soon\n</IfModule>\n"


def value_under_a_defined_ifdefine(site):
    site.extra = "Define SESAME_CHECK\n<IfDefine SESAME_CHECK>\n  SesameSessionCache soon\n</IfDefine>\n"


def global_in_a_location(site):
    site.extra = "<Location /x/>\n    SesameSessionCache 2s\n</Location>\n"


def global_in_an_else_section(site):
    site.extra = '<If "-T %{HTTPS}">\n</If>\n<Else>\n    SesameSessionCache 2s\n</Else>\n'


def provider_section_in_a_location(site):
    site.extra = "<Location /x/>\n<SesameProvider other>\n  ClientID x\n</SesameProvider>\n</Location>\n"


def use_at_server_level(site):
    site.extra = "SesameUse fc\n"


def misspelled_sesame_directive(site):
    site.extra = "SesameRedisTimout 2s\n"


def logout_with_a_bad_second_word(site):
    site.extra = "<Location /bye>\n  SesameLogout fc everywhere\n</Location>\n"


def option_the_federation_refuses(site):
    site.extra = "<Location /strong/>\n  AuthType Sesame\n  SesameUse fc\n  SesamePrompt maybe\n  Require valid-user\n</Location>\n"


def duplicate_option_in_a_section(site):
    site.extra = "<Location /x/>\n  SesameUse fc\n  SesamePrompt login\n  SesamePrompt login\n</Location>\n"


def use_of_an_unknown_provider_in_a_directory(site):
    site.extra = f'<Directory "{site.prefix}/html/public">\n  AuthType Sesame\n  SesameUse nope\n  Require valid-user\n</Directory>\n'


def unclosed_section(site):
    site.extra = "<Location /x/>\n  SesameUse fc\n"


def unclosed_section_in_an_included_file(site):
    site.files["conf/sites/a.conf"] = "# a\n<Location /y/>\n  SesameUse fc\n"
    site.extra = "Include conf/sites/*.conf\n"


def include_of_a_wildcard_matching_nothing_in_a_directory(site):
    site.files["conf/sites/a.txt"] = "# not a .conf\n"
    site.extra = "Include conf/sites/*.conf\n"


def option_in_a_virtual_host_outside_any_section(site):
    site.extra = "<VirtualHost 127.0.0.1:1>\n  SesamePrompt login\n</VirtualHost>\n"


def vhost_with_a_provider_missing_its_client_id(site):
    port = free_port()
    client = new_client(f"https://127.0.0.1:{port}")
    site.files["conf/b.client_secret"] = client["client_secret"] + "\n"
    provider = site.fc_provider(client, secret_file="conf/b.client_secret")
    provider["client_id"] = None
    block = site.sesame_block(http={"secret_file": "conf/sesame.secret"}, providers={"fc": provider})
    site.extra = (f"Listen 127.0.0.1:{port}\n<VirtualHost 127.0.0.1:{port}>\n  ServerName b.example\n"
                  f"{block}\n</VirtualHost>\n")


REFUSED = [
    value_in_an_included_file, value_in_a_wildcard_directory, include_of_a_wildcard_matching_nothing,
    include_of_a_missing_file, value_under_a_true_ifmodule, value_under_a_defined_ifdefine,
    global_in_a_location, global_in_an_else_section, provider_section_in_a_location,
    use_at_server_level,
    misspelled_sesame_directive, logout_with_a_bad_second_word, option_the_federation_refuses,
    duplicate_option_in_a_section, use_of_an_unknown_provider_in_a_directory, unclosed_section,
    unclosed_section_in_an_included_file, include_of_a_wildcard_matching_nothing_in_a_directory,
    option_in_a_virtual_host_outside_any_section, vhost_with_a_provider_missing_its_client_id,
]


@pytest.mark.parametrize("mutate", REFUSED, ids=[m.__name__ for m in REFUSED])
def test_apache_s_own_reading_is_followed(mutate, make_site):
    site = make_site()
    mutate(site)
    assert_same_refusal(site)


def test_a_false_ifmodule_ifdefine_or_optional_include_hides_what_it_holds(make_site):
    site = make_site()
    site.extra = (
        "<IfModule nosuch_module>\n  SesameSessionCache soon\n</IfModule>\n"
        "<IfDefine NOT_DEFINED>\n  SesameSessionCache soon\n</IfDefine>\n"
        "<IfModule sesame_module>\n  <IfModule mod_ssl.c>\n    SesameSessionCache 2s\n  </IfModule>\n</IfModule>\n"
        "IncludeOptional conf/absent/*.conf\n"
        "IncludeOptional conf/absent.conf\n"
    )
    assert_both_accept(site)


def test_the_files_read_are_those_apache_lists_with_dump_includes(make_site):
    site = make_site()
    site.files["conf/sites/a.conf"] = "SesameSessionCache 2s\n"
    site.files["conf/sites/b.conf"] = "Include conf/sites/inner/*.conf\n"
    site.files["conf/sites/inner/c.conf"] = "# nothing\n"
    # A directory: every file in it and its subdirectories (c.conf twice, as Apache reads it).
    site.extra = "Include conf/sites/\n"
    conf = site.prepare()
    dump = subprocess.run([APACHE_BIN, "-t", "-D", "DUMP_INCLUDES", "-f", str(conf)],
                          capture_output=True, text=True, timeout=60)
    listed = [line for line in dump.stdout.splitlines() if line.strip().startswith("(")]
    assert len(listed) == 5, dump.stdout
    rc, out, err = run_cli("config", "check", "-a", conf)
    assert rc == 0, out + err
    assert f"{len(listed)} file(s) read" in out, (dump.stdout, out)


def test_sesame_directives_without_the_module_loaded_are_invalid_commands(make_site):
    site = make_site(sesame=False)
    site.extra = "SesameRedisTimeout 2s\n"
    assert_same_refusal(site)


def test_two_servers_sharing_one_secret_get_apache_t_s_warning(make_site, env):
    secret = secrets.token_hex(32)
    site = _site_with_a_second_vhost(make_site, env, secret=secret)
    site.secret = secret.encode()  # the main server's own file, the same bytes
    rc_apache, apache_out, rc, out, err = check_both(site)
    assert rc_apache == 0, apache_out
    [warning] = [line[line.index("mod_sesame: "):] for line in apache_out.splitlines()
                 if "use the same secret" in line]
    assert rc == 0, out + err
    assert warning in out.splitlines(), f"\napache2 -t: {warning}\nsesame:     {out}"
    # Their own secrets: no warning from either.
    other = _site_with_a_second_vhost(make_site, env, secret=secrets.token_hex(32))
    rc_apache, apache_out, rc, out, err = check_both(other)
    assert rc_apache == 0 and rc == 0, apache_out + out + err
    assert "use the same secret" not in apache_out + out
