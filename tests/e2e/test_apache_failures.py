"""The nginx failure tests (Redis down then back, provider down or slow, session expiry) and the
open-redirect tests, run unchanged against Apache httpd + mod_sesame (event MPM, php-fpm)."""

import functools

import pytest

from test_failures import (  # noqa: F401
    nginx_site,
    test_callback_with_redis_down_fails_cleanly,
    test_login_works_again_once_the_provider_is_back,
    test_logins_beyond_the_provider_concurrency_get_a_busy_page_at_once_and_can_retry,
    test_provider_down_at_callback_gives_error_page_within_http_timeout,
    test_provider_down_before_discovery_gives_error_page_then_a_few_seconds_without_asking_it,
    test_provider_slow_at_token_gives_error_page_within_http_timeout,
    test_redis_down_gives_503_within_timeout_and_unprotected_still_200,
    test_session_in_redis_expires_after_the_idle_timeout,
    test_session_removed_from_redis_means_login_again,
)


@pytest.fixture(scope="module")
def make_site(make_apache_site):
    # One child, as nginx's one worker: these tests count on provider metadata fetched by an
    # earlier request being cached for the next (test_apache_mpm covers several children).
    return functools.partial(make_apache_site, single_process=True)
