"""The login page site, on both servers: FranceConnect for citizens at /usagers/ (its page also
offers ProConnect's /agents/ and the site's own login), ProConnect for agents at /agents/ (a
title and an eligibility text), FranceConnect alone at /fc/, a location without the page (/direct/), one with an operator's
template (/gabarit/), and the logout endpoints."""

import pytest

from e2e_rig.proconnect import make_pc_site, start_pc_site

SUPPORT = "support@example.org, 01 23 45 67 89"
OWN_LOGIN = "Se connecter avec un identifiant"
TEMPLATE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>{style}</head>
<body><main><h1>Gabarit de l'opérateur</h1><p>{sentence}</p>{button}{own_login}</main></body></html>
"""

FRAMING = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>framing</title></head><body>
<iframe id="login" src="/usagers/" width="600" height="400"></iframe>
<iframe id="public" src="/public/index.html" width="600" height="100"></iframe>
</body></html>
"""

NGINX = """\
        location / { }
        location /usagers/ {
            sesame fc;
            sesame_login_page on;
            sesame_login_page_offer pc /agents/;
            sesame_login_page_own_login /compte/ "%(own)s";
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /agents/ {
            sesame pc;
            sesame_login_page on;
            sesame_login_page_title "Espace agents";
            sesame_login_page_eligibility "Réservé aux agents de l'État et des collectivités.";
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /fc/ {
            sesame fc;
            sesame_login_page on;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /direct/ {
            sesame fc;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location /gabarit/ {
            sesame fc;
            sesame_login_page {{PREFIX}}/conf/login.html;
            include sesame_fastcgi_params;
            include fastcgi_backend;
            fastcgi_pass 127.0.0.1:{{PHP_PORT}};
        }
        location = /logout { sesame_logout fc; }
        location = /agents/logout { sesame_logout pc; }
""" % {"own": OWN_LOGIN}

APACHE = """\
AliasMatch "^/(usagers|agents|fc|direct|gabarit)/" "{{PHP_DIR}}/index.php"
<Location /usagers/>
    AuthType Sesame
    SesameUse fc
    SesameLoginPage on
    SesameLoginPageOffer pc /agents/
    SesameLoginPageOwnLogin /compte/ "%(own)s"
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /agents/>
    AuthType Sesame
    SesameUse pc
    SesameLoginPage on
    SesameLoginPageTitle "Espace agents"
    SesameLoginPageEligibility "Réservé aux agents de l'État et des collectivités."
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /fc/>
    AuthType Sesame
    SesameUse fc
    SesameLoginPage on
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /direct/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
{{PHP_HANDLER}}</Location>
<Location /gabarit/>
    AuthType Sesame
    SesameUse fc
    SesameLoginPage {{PREFIX}}/conf/login.html
    Require valid-user
{{PHP_HANDLER}}</Location>
<LocationMatch "^/logout$">
    AuthType None
    Require all granted
    SetHandler sesame-logout
    SesameLogout fc
</LocationMatch>
<LocationMatch "^/agents/logout$">
    AuthType None
    Require all granted
    SetHandler sesame-logout
    SesameLogout pc
</LocationMatch>
""" % {"own": OWN_LOGIN}

LOCATIONS = {"nginx": NGINX, "apache": APACHE}


def make_login_page_site(make_site, server_kind, pc_emulator):
    site = make_pc_site(make_site, pc_emulator, locations=LOCATIONS[server_kind])
    if server_kind == "nginx":  # Apache's rig fills {{PREFIX}} itself
        site.locations = site.locations.replace("{{PREFIX}}", str(site.prefix))
    site.http["support_contact"] = SUPPORT
    site.files["conf/login.html"] = TEMPLATE
    # A page of another kind that frames the login page (same origin: the test can look inside).
    site.files["html/framing.html"] = FRAMING
    return site


@pytest.fixture(scope="module")
def site(make_site, server_kind, pc_emulator):
    return make_login_page_site(make_site, server_kind, pc_emulator)


@pytest.fixture(scope="module")
def server(site, pc_emulator, start_server):
    return start_pc_site(site, pc_emulator, start_server)
