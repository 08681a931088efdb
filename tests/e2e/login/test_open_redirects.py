"""No request target can make Sesame send the browser off-site after login (open redirects)."""

import pytest

from e2e_rig.browser import header_values, raw_request
from e2e_rig.checks import LOGIN, is_provider_authorize, same_site_location

# Here the whole site is protected, so odd targets land in a protected location.
WHOLE_SITE = {"nginx": """\
        location /public/ { }
        location / {
            sesame fc;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
""", "apache": """\
AliasMatch "^/(?!public/)" "{{PHP_DIR}}/index.php"
<Location />
    AuthType Sesame
    SesameUse fc
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /public/>
    AuthType None
    Require all granted
    SetHandler none
</Location>
"""}

TARGETS = [
    "//evil.example",
    "//evil.example/path",
    "/\\evil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%2f%2fevil.example",
    "/%5C%5Cevil.example",
    "///evil.example",
    "/\\/evil.example",
    "/%09/evil.example",
    "https://evil.example/",
    "http://evil.example/x",
]


@pytest.fixture(scope="module")
def site(make_site, server_kind):
    return make_site(locations=WHOLE_SITE[server_kind])


@pytest.mark.parametrize("target", TARGETS)
def test_odd_request_target_never_redirects_off_site_after_login(target, browser, server, emulator, pki):
    status, headers, body = raw_request(server.port, target, ca=pki.ca)
    # nginx accepts every one of these targets; they all land in the protected location.
    assert status in (302, 303), (status, body[:500])
    (location,) = header_values(headers, "Location")
    assert is_provider_authorize(location, emulator), location
    browser.store_set_cookies(header_values(headers, "Set-Cookie"))
    assert browser.cookie(LOGIN)
    callback_url = browser.authorize(location)
    callback = browser.get(callback_url)
    assert callback.status_code == 303, callback.text[:800]
    final = callback.headers["Location"]
    assert same_site_location(server, final), f"{target!r} led to Location {final!r}"
    assert not final.startswith("//") and not final.startswith("/\\"), final


def test_absolute_url_request_target_with_foreign_host_stays_on_site(browser, server, emulator, pki):
    status, headers, _ = raw_request(server.port, "https://evil.example/demarches/?a=1", ca=pki.ca)
    assert status in (302, 303)
    location = header_values(headers, "Location")[0]
    assert is_provider_authorize(location, emulator)
    browser.store_set_cookies(header_values(headers, "Set-Cookie"))
    callback = browser.get(browser.authorize(location))
    assert callback.status_code == 303
    assert same_site_location(server, callback.headers["Location"]), callback.headers["Location"]


def test_ordinary_target_still_returns_to_itself_after_login(browser, server, emulator, pki):
    # The control case: the checks above are not passing because every return goes to "/".
    status, headers, _ = raw_request(server.port, "/dossier/7?vue=pi%C3%A8ces", ca=pki.ca)
    assert status in (302, 303)
    browser.store_set_cookies(header_values(headers, "Set-Cookie"))
    callback = browser.get(browser.authorize(header_values(headers, "Location")[0]))
    assert callback.status_code == 303
    location = callback.headers["Location"]
    assert same_site_location(server, location)
    assert location.endswith("/dossier/7?vue=pi%C3%A8ces"), location


def test_unprotected_location_is_served_without_login(browser, server):
    resp = browser.get(server.url("/public/"))
    assert resp.status_code == 200
