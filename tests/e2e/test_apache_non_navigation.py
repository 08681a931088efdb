"""test_non_navigation's tests against Apache httpd + mod_sesame: scripts' requests without a
session get a 401 with JSON, SesameUnauthAction login|401|pass, the logout confirmation asked
when another site links to the logout, pending logins other sites' navigations cannot evict."""

import pytest

from test_non_navigation import (  # noqa: F401
    test_logout_link_from_another_site_asks_first_and_the_button_logs_out,
    test_logout_link_of_this_site_logs_out_at_once,
    test_logout_link_without_any_origin_information_asks_first,
    test_logout_post_from_another_site_is_not_taken,
    test_other_sites_navigations_cannot_evict_a_login_in_progress,
    test_page_navigation_without_session_still_redirects_to_provider,
    test_script_login_url_starts_a_login_that_comes_back_to_it,
    test_script_request_with_a_session_reaches_the_backend,
    test_script_request_without_session_gets_401_json_and_no_login_cookie,
    test_unauth_action_401_never_starts_a_login,
    test_unauth_action_login_is_the_default_behaviour,
    test_unauth_action_pass_serves_visitors_without_identity,
    test_unauth_action_pass_shows_who_is_connected_when_a_session_exists,
    test_unknown_unauth_action_fails_the_config_test,
)

LOCATIONS = """\
AliasMatch "^/(demarches|explicit|api|optional)/" "{{PHP_DIR}}/index.php"
<Location /demarches/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /explicit/>
    AuthType Sesame
    SesameUse fc
    SesameUnauthAction login
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /api/>
    AuthType Sesame
    SesameUse fc
    SesameUnauthAction 401
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /optional/>
    AuthType Sesame
    SesameUse fc
    SesameUnauthAction pass
    Require valid-user
{{PHP_HANDLER}}</Location>
<LocationMatch "^/logout$">
    SetHandler sesame-logout
    SesameLogout fc
</LocationMatch>
"""

BAD_ACTION = LOCATIONS.replace("SesameUnauthAction 401", "SesameUnauthAction redirect")


@pytest.fixture(scope="module")
def make_site(make_apache_site):
    def make(locations=None, **kw):
        # The nginx tests name nginx's location blocks; Apache gets the same paths.
        import test_non_navigation as nav
        translated = {None: LOCATIONS, nav.LOCATIONS: LOCATIONS, nav.BAD_ACTION: BAD_ACTION}
        return make_apache_site(locations=translated.get(locations, locations), **kw)
    return make


@pytest.fixture(scope="module")
def nginx_site(make_site):
    return make_site(locations=LOCATIONS)
