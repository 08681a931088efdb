"""`sesame_pass_access_token` / `SesamePassAccessToken` at configuration time: a value other than
on / off fails `nginx -t` / `apache2 -t` with the file and line; a shared-hosting customer's
`.htaccess` cannot turn the hand-off on (the token opens APIs with the site's own client)."""

import pytest

BAD = {"nginx": """\
        location /demarches/ {
            sesame fc;
            sesame_pass_access_token maybe;
        }
""", "apache": """\
<Location /demarches/>
    AuthType Sesame
    SesameUse fc
    SesamePassAccessToken Maybe
    Require valid-user
</Location>
"""}


def test_a_value_other_than_on_or_off_fails_the_config_test(make_site, server_kind):
    rc, out = make_site(locations=BAD[server_kind]).config_test()
    assert rc != 0, out
    name = {"nginx": "sesame_pass_access_token", "apache": "SesamePassAccessToken"}[server_kind]
    assert f'{name} "maybe" is not valid (expected on or off)'.lower() in out.lower(), out
    assert {"nginx": "nginx.conf:", "apache": "apache.conf:"}[server_kind] in out, out


@pytest.mark.only("apache", reason=".htaccess is Apache's")
def test_htaccess_cannot_turn_the_hand_off_on(make_site, start_server, new_browser):
    site = make_site()
    site.files.update({
        "html/custom/.htaccess": "AuthType Sesame\nSesameUse fc\nSesamePassAccessToken On\n"
                                 "Require valid-user\n",
        "html/custom/index.html": "never served\n",
    })
    server = start_server(site)
    offset = server.log_size()
    # Refused when the file is read, for every request under it: no session is needed.
    assert new_browser().get(server.url("/custom/")).status_code == 500
    logged = server.log_since(offset)
    assert "SesamePassAccessToken not allowed here" in logged, logged[-2000:]
