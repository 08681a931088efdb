"""test_own_cookies against Apache httpd + mod_sesame: Sesame's cookies never reach PHP (php-fpm
through proxy_fcgi, and mod_php) nor the proxied app, protected or not."""

import functools

import pytest

from e2e_rig.apache import STANDARD_LOCATIONS
from test_own_cookies import (  # noqa: F401
    test_cookie_header_with_only_sesames_cookies_is_not_forwarded,
    test_php_sees_its_own_cookies_and_never_sesames,
    test_proxied_app_sees_its_own_cookies_and_never_sesames,
    test_session_still_opens_the_protected_location_after_its_cookie_was_hidden,
)

LOCATIONS = STANDARD_LOCATIONS + """\
AliasMatch "^/php-public/" "{{PHP_DIR}}/index.php"
<Location /php-public/>
{{PHP_HANDLER}}</Location>
"""

COMBINATIONS = {"event+php-fpm": ("event", "fpm"), "prefork+mod_php": ("prefork", "mod_php")}


@pytest.fixture(scope="module", params=list(COMBINATIONS))
def make_site(request, make_apache_site):
    mpm, php = COMBINATIONS[request.param]
    return functools.partial(make_apache_site, mpm=mpm, php=php)


@pytest.fixture(scope="module")
def nginx_site(make_site):
    return make_site(locations=LOCATIONS)
