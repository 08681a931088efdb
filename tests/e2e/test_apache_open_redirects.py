"""The nginx open-redirect tests against Apache httpd + mod_sesame, the whole site protected."""

import pytest

from e2e_rig.apache import WHOLE_SITE
from test_open_redirects import (  # noqa: F401
    TARGETS,
    test_absolute_url_request_target_with_foreign_host_stays_on_site,
    test_odd_request_target_never_redirects_off_site_after_login,
    test_ordinary_target_still_returns_to_itself_after_login,
    test_unprotected_location_is_served_without_login,
)


@pytest.fixture(scope="module")
def make_site(make_apache_site):
    return make_apache_site


@pytest.fixture(scope="module")
def nginx_site(make_site):
    return make_site(locations=WHOLE_SITE)
