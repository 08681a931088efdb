"""`nginx -t` / `apache2 -t` refuse a login page that cannot work, with the core's message and
the configuration line: a template file that cannot be read or lacks `{button}`, a block without
the page, an offer of a provider that does not exist, a page on a provider without an official
button."""

import re

import pytest

from e2e_rig.proconnect import make_pc_site, pc_emulator  # noqa: F401 (fixture)

NGINX = """\
        location / { }
        location /usagers/ {
            sesame fc;
%s
        }
"""
APACHE = """\
<Location /usagers/>
    AuthType Sesame
    SesameUse fc
%s
    Require valid-user
</Location>
"""

# (what the location writes, in each server's words; words the message must hold)
CASES = {
    "unreadable_template": (("sesame_login_page /nonexistent/login.html;",
                             "SesameLoginPage /nonexistent/login.html"),
                            ["/nonexistent/login.html", "cannot read the template"]),
    "template_without_button": (("sesame_login_page {{TEMPLATE}};", "SesameLoginPage {{TEMPLATE}}"),
                                ["no {button} placeholder"]),
    "title_without_page": (('sesame_login_page_title "Connexion";', 'SesameLoginPageTitle "Connexion"'),
                           ["no effect without"]),
    "offer_of_an_unknown_provider": (("sesame_login_page on; sesame_login_page_offer nosuch /agents/;",
                                      "SesameLoginPage on\n    SesameLoginPageOffer nosuch /agents/"),
                                     ["nosuch"]),
    "offer_of_the_same_federation": (("sesame_login_page on; sesame_login_page_offer fc /autre/;",
                                      "SesameLoginPage on\n    SesameLoginPageOffer fc /autre/"),
                                     ["already offers FranceConnect"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_login_page_that_cannot_work_fails_the_config_test(case, make_site, server_kind, pc_emulator):
    (nginx_text, apache_text), words = CASES[case]
    text = nginx_text if server_kind == "nginx" else apache_text
    indent = "            " if server_kind == "nginx" else "    "
    locations = (NGINX if server_kind == "nginx" else APACHE) % (indent + text)
    site = make_pc_site(make_site, pc_emulator, locations=locations)
    template = site.prefix / "conf" / "no-button.html"
    site.files["conf/no-button.html"] = "<p>{login_url}</p>\n"
    site.locations = site.locations.replace("{{TEMPLATE}}", str(template))
    rc, out = site.config_test()
    assert rc != 0, f"the configuration test accepted:\n{site.locations}"
    for word in words:
        assert word in out, f"{word!r} missing from: {out}"
    # The message names the file and line, and the directives in the server's own spelling.
    if server_kind == "nginx":
        assert re.search(r"nginx\.conf:\d+", out), out
    else:
        assert re.search(r"apache\.conf:\d+", out), out
        assert "sesame_" not in out.replace("mod_sesame", ""), f"nginx syntax told to an Apache operator: {out}"


def test_the_site_of_the_login_page_tests_passes_the_config_test(make_site, server_kind, pc_emulator):
    from .site import make_login_page_site
    rc, out = make_login_page_site(make_site, server_kind, pc_emulator).config_test()
    assert rc == 0, out
