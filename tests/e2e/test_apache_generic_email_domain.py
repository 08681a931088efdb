"""test_generic_email_domain behind Apache: `SesameRequireClaim email @domain` with a generic
provider that sends no `email_verified`."""

import pytest

from test_generic_email_domain import (  # noqa: F401 (the nginx behaviour test, run on Apache)
    add_generic_provider,
    test_generic_provider_without_email_verified_never_matches_a_domain_rule,
)

LOCATIONS = """\
AliasMatch "^/gen/" "{{PHP_DIR}}/index.php"
<Location /gen/>
    AuthType Sesame
    SesameUse gen
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /gen/domain/>
    SesameRequireClaim email @yopmail.com
</Location>
<Location /gen/exact/>
    SesameRequireClaim email wossewodda-3728@yopmail.com
</Location>
"""


@pytest.fixture(scope="module")
def make_site(make_apache_site):
    return make_apache_site


@pytest.fixture(scope="module")
def nginx_site(make_site):
    site = make_site(locations=LOCATIONS)
    add_generic_provider(site)
    return site
