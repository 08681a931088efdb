"""A generic OpenID provider (here the emulator, which sends no `email_verified`): `@domain`
rules (nginx `sesame_require email @domain`, Apache `SesameRequireClaim email @domain`) only
match an address the provider vouches for, while exact values still match."""

import pytest

from e2e_rig.checks import assert_page, php_server

LOCATIONS = {"nginx": """\
        location / { }
        location /gen/ {
            sesame gen;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /gen/domain/ {
            sesame gen;
            sesame_require email @yopmail.com;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /gen/exact/ {
            sesame gen;
            sesame_require email wossewodda-3728@yopmail.com;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
""", "apache": """\
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
"""}


def add_generic_provider(site):
    client = site.add_fc_provider("gen", "/sesame/gen/callback", "/sesame/gen/logged-out")
    site.providers["gen"].update({
        "preset": "generic", "acr_values": "eidas1", "id_token_alg": "ES256", "userinfo": "jwt",
        "token_auth": "client_secret_post", "pkce": "off",
        "scope": "openid given_name family_name email",
    })
    return client


@pytest.fixture(scope="module")
def site(make_site, server_kind):
    site = make_site(locations=LOCATIONS[server_kind])
    add_generic_provider(site)
    return site


def test_generic_provider_without_email_verified_never_matches_a_domain_rule(browser, server):
    offset = server.log_size()
    php_vars = php_server(browser.login(server.url("/gen/"), identity="testfc1").final)
    assert php_vars["SESAME_PROVIDER"] == "gen"
    assert php_vars["SESAME_CLAIM_EMAIL"] == "wossewodda-3728@yopmail.com"
    assert "SESAME_CLAIM_EMAIL_VERIFIED" not in php_vars
    refused = browser.get(server.url("/gen/domain/"))
    assert_page(refused, [403])
    assert "claim email does not hold any of the values required" in server.log_since(offset)
    assert php_server(browser.get(server.url("/gen/exact/")))["SESAME_PROVIDER"] == "gen"
