"""`nginx -t` refuses bad Sesame configurations with a message that says what to fix."""

import pytest

pytestmark = pytest.mark.only("nginx", reason="nginx.conf directives and the lines of `nginx -t`; Apache's are in test_apache_config")


def _fc(site):
    return site.providers["fc"]


def no_client_id(site):
    _fc(site)["client_id"] = None


def unknown_preset(site):
    _fc(site)["preset"] = "franceconnect-staging"


def http_redirect_uri_in_production(site):
    _fc(site)["preset"] = "franceconnect-production"
    _fc(site)["redirect_uri"] = f"http://127.0.0.1:{site.port}/sesame/callback"


def unreadable_secret_file(site):
    site.http["secret_file"] = str(site.prefix / "conf" / "missing.secret")


def unreadable_client_secret_file(site):
    _fc(site)["client_secret_file"] = str(site.prefix / "conf" / "missing.client_secret")


def short_secret_file(site):
    site.secret = b"too short"


def unknown_provider_in_location(site):
    site.locations = """\
        location /app/ {
            sesame nosuch;
        }
"""


def unknown_provider_in_logout(site):
    site.locations = """\
        location = /logout {
            sesame_logout nosuch;
        }
"""


def pkce_with_franceconnect(site):
    _fc(site)["pkce"] = "on"


def acr_eidas2_with_franceconnect(site):
    _fc(site)["acr_values"] = "eidas2"


def no_post_logout_redirect_uri_with_franceconnect(site):
    _fc(site)["post_logout_redirect_uri"] = None


def scope_without_openid(site):
    _fc(site)["scope"] = "given_name family_name"


def no_redis(site):
    site.http["redis"] = None


def bad_redis_url(site):
    site.http["redis"] = "http://127.0.0.1:6379"


def bad_duration(site):
    site.http["redis_timeout"] = "soon"


def unknown_provider_key(site):
    _fc(site)["client_secret"] = "inline-secret"


def relative_redirect_uri(site):
    _fc(site)["redirect_uri"] = "/sesame/callback"


def duplicate_provider_key(site):
    # Renders `client_id X;` followed by `client_id again;` in the same block.
    _fc(site)["client_id"] = _fc(site)["client_id"] + ";\n        client_id again"


def idle_timeout_too_short(site):
    site.http["session_idle_timeout"] = "0s"


def idle_timeout_longer_than_lifetime(site):
    site.http["session_idle_timeout"] = "2h"
    site.http["session_lifetime"] = "1h"


def session_cache_at_half_the_idle_timeout(site):
    # The cache lifetime is how late a logout reaches other workers: 15 min of a 30 min idle
    # timeout is refused.
    site.http["session_cache"] = "15m"
    site.http["session_idle_timeout"] = "30m"


def redis_url_with_insecure_fragment(site):
    site.http["redis"] = "rediss://127.0.0.1:6380/0#insecure"


def provider_without_name_block_issuer_for_generic(site):
    _fc(site)["preset"] = "generic"
    _fc(site)["issuer"] = None


# (mutation, words the [emerg] message must contain — the directive and what is wrong, whether
# the error is found while reading that directive, so nginx can point at its file:line)
CASES = [
    (no_client_id, ["client_id"], False),
    (unknown_preset, ["franceconnect-staging", "preset"], True),
    (http_redirect_uri_in_production, ["redirect_uri", "https"], False),
    (unreadable_secret_file, ["secret_file", "missing.secret"], False),
    (unreadable_client_secret_file, ["client_secret_file", "missing.client_secret"], False),
    (short_secret_file, ["secret_file", "32"], False),
    (unknown_provider_in_location, ["nosuch"], False),
    (unknown_provider_in_logout, ["nosuch"], False),
    (pkce_with_franceconnect, ["pkce"], False),
    (acr_eidas2_with_franceconnect, ["acr_values"], False),
    (no_post_logout_redirect_uri_with_franceconnect, ["post_logout_redirect_uri"], False),
    (scope_without_openid, ["scope", "openid"], False),
    (no_redis, ["redis"], False),
    (bad_redis_url, ["redis"], True),
    (bad_duration, ["redis_timeout"], True),
    (unknown_provider_key, ["client_secret"], True),
    (relative_redirect_uri, ["redirect_uri"], False),
    (duplicate_provider_key, ["client_id"], True),
    (idle_timeout_too_short, ["session_idle_timeout", "1s"], True),
    (idle_timeout_longer_than_lifetime, ["session_idle_timeout", "session_lifetime"], False),
    (provider_without_name_block_issuer_for_generic, ["issuer"], False),
    (session_cache_at_half_the_idle_timeout,
     ["session_cache 15m", "half of sesame_session_idle_timeout (30m)", "logout"], False),
    (redis_url_with_insecure_fragment, ["redis", "fragment", "#insecure"], True),
]


def test_standard_config_passes_nginx_t(make_site):
    rc, err = make_site().config_test()
    assert rc == 0, err
    assert "test is successful" in err


@pytest.mark.parametrize("mutate, words, at_line", CASES, ids=[m.__name__ for m, _, _ in CASES])
def test_bad_config_fails_nginx_t_with_a_precise_message(mutate, words, at_line, make_site):
    site = make_site()
    mutate(site)
    rc, err = site.config_test()
    assert rc != 0, f"nginx -t accepted the configuration:\n{site.render()}"
    emerg = [line for line in err.splitlines() if "[emerg]" in line]
    assert emerg, err
    for word in words:
        assert word in emerg[0], f"{word!r} missing from: {emerg[0]}"
    if at_line:
        assert "nginx.conf:" in emerg[0], f"the message should point at the configuration line: {emerg[0]}"


def test_location_using_sesame_without_any_http_configuration_fails(config_test, make_site):
    site = make_site()
    site.http = {}
    site.providers = {}
    rc, err = config_test(site.render())
    assert rc != 0, site.render()
    emerg = [line for line in err.splitlines() if "[emerg]" in line]
    assert emerg and "fc" in emerg[0], err


def test_module_loaded_without_any_sesame_directive_passes(config_test, make_site):
    site = make_site()
    site.http = {}
    site.providers = {}
    site.locations = "        location / { }\n"
    rc, err = config_test(site.render())
    assert rc == 0, err
