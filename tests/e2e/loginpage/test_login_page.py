"""`sesame_login_page`: a navigation without a session gets the page with the federation's
official button instead of the redirect; only the button's POST starts the login; the page,
the error pages and every other Sesame page refuse to be framed. On nginx and Apache."""

import html
import re
from urllib.parse import urljoin

import pytest

from e2e_rig.checks import php_server
from e2e_rig.proconnect import pc_emulator, query  # noqa: F401 (fixture)

from .site import OWN_LOGIN, SUPPORT, server, site  # noqa: F401 (fixtures)

LOGIN_COOKIE = "__Host-sesame-login"


def form_actions(page_html):
    return [html.unescape(a) for a in re.findall(r'<form method="post" action="([^"]+)"', page_html)]


def redis_keys(env):
    return env.redis.command("DBSIZE").strip()


def assert_refuses_framing(resp):
    csp = resp.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, resp.headers
    assert resp.headers.get("X-Frame-Options") == "DENY", resp.headers


def test_a_navigation_without_session_gets_the_page_and_nothing_is_created(browser, server, env):
    keys_before = redis_keys(env)
    resp = browser.get(server.url("/usagers/dossier.php?id=7"))
    assert resp.status_code == 200, resp.text[:500]
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "Set-Cookie" not in resp.headers, "fetching the page creates no login state"
    assert browser.cookie(LOGIN_COOKIE) is None
    assert redis_keys(env) == keys_before, "fetching the page writes nothing to Redis"
    page = resp.text
    assert "FranceConnect est la solution proposée par l’État pour sécuriser et simplifier la connexion à vos services en ligne." in page
    assert '<span class="fr-connect__brand">FranceConnect</span>' in page
    assert 'title="Qu’est-ce que FranceConnect ? - nouvelle fenêtre"' in page
    assert 'target="_blank" rel="noopener"' in page
    # The button comes back to the page's own URL, query kept, with the page's token.
    own = form_actions(page)[0]
    assert own.startswith("/usagers/dossier.php?id=7&sesame_login="), own
    assert_refuses_framing(resp)
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "private, no-cache"


def test_the_page_revalidates_with_its_etag_and_speaks_english_when_asked(browser, server):
    first = browser.get(server.url("/usagers/"))
    etag = first.headers["ETag"]
    again = browser.get(server.url("/usagers/"), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers.get("ETag") == etag
    english = browser.get(server.url("/usagers/"), headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.status_code == 200
    assert '<html lang="en">' in english.text and "Sign in with" in english.text
    assert english.headers["ETag"] != etag


def test_scripts_still_get_their_401_and_a_location_without_the_page_still_redirects(browser, server):
    xhr = browser.get(server.url("/usagers/"), headers={"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty",
                                                        "Accept": "application/json"})
    assert xhr.status_code == 401
    direct = browser.get(server.url("/direct/"))
    assert direct.status_code == 303 and "/authorize?" in direct.headers["Location"]


def test_the_button_starts_the_login_and_comes_back_to_the_page(browser, server):
    page = browser.get(server.url("/usagers/dossier.php?id=7")).text
    resp = browser.post(server.url(form_actions(page)[0]), headers={"Sec-Fetch-Site": "same-origin"})
    assert resp.status_code == 303, resp.text[:500]
    authorize = resp.headers["Location"]
    assert "/authorize?" in authorize and query(authorize)["acr_values"] == "eidas1"
    assert browser.cookie(LOGIN_COOKIE), "the POST creates the login state"
    callback = browser.authorize(authorize, identity="testfc1")
    back = browser.get(callback)
    assert back.status_code in (302, 303)
    assert back.headers["Location"].endswith("/usagers/dossier.php?id=7")
    final = browser.get(urljoin(callback, back.headers["Location"]))
    vars_ = php_server(final)
    assert vars_["SESAME_PROVIDER"] == "fc" and vars_["SESAME_GIVEN_NAME"]
    # Logged in: the page is gone, the application answers.
    assert browser.get(server.url("/usagers/")).status_code == 200
    assert "fr-connect" not in browser.get(server.url("/usagers/")).text


def test_a_forged_token_or_another_sites_post_starts_nothing(browser, server, env):
    page = browser.get(server.url("/usagers/")).text
    action = form_actions(page)[0]
    keys_before = redis_keys(env)
    forged = browser.post(server.url(action[:-3] + "AAA"), headers={"Sec-Fetch-Site": "same-origin"})
    assert forged.status_code != 303 and browser.cookie(LOGIN_COOKIE) is None
    # The token is bound to its URL: another page's token does not start this one's login.
    other = browser.post(server.url("/usagers/autre?" + action.split("?", 1)[1]),
                         headers={"Sec-Fetch-Site": "same-origin"})
    assert other.status_code != 303 and browser.cookie(LOGIN_COOKIE) is None
    cross = browser.post(server.url(action), headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
    assert cross.status_code != 303 and browser.cookie(LOGIN_COOKIE) is None
    assert redis_keys(env) == keys_before


def test_one_page_offers_franceconnect_first_then_proconnect_then_the_own_login(browser, server, pc_emulator):
    page = browser.get(server.url("/usagers/")).text
    fc = page.index('<span class="fr-connect__brand">FranceConnect</span>')
    first_or = page.index('class="sesame-or"')
    pc = page.index('<span class="fr-connect__brand">ProConnect</span>')
    own = page.index(f'<a href="/compte/">{OWN_LOGIN}</a>')
    assert fc < first_or < pc < page.index('class="sesame-or"', pc) < own
    actions = form_actions(page)
    assert actions[1].startswith("/agents/?sesame_login="), actions
    resp = browser.post(server.url(actions[1]), headers={"Sec-Fetch-Site": "same-origin"})
    assert resp.status_code == 303 and resp.headers["Location"].startswith(pc_emulator.issuer + "/authorize?")


def test_the_proconnect_page_has_its_button_title_and_eligibility(browser, server):
    resp = browser.get(server.url("/agents/"))
    page = resp.text
    assert resp.status_code == 200
    assert "<h1>Espace agents</h1>" in page
    assert page.index("Réservé aux agents de l&#39;État") < page.index("fr-connect--pro\"")
    assert 'href="https://www.proconnect.gouv.fr/"' in page
    assert 'title="Qu’est-ce que ProConnect ? - nouvelle fenêtre"' in page


def test_an_operator_template_replaces_the_page(browser, server):
    resp = browser.get(server.url("/gabarit/"))
    assert resp.status_code == 200
    assert "Gabarit de l&#39;opérateur" in resp.text or "Gabarit de l'opérateur" in resp.text
    assert 'class="fr-connect"' in resp.text and "{button}" not in resp.text
    assert_refuses_framing(resp)


def test_error_pages_refuse_framing_and_give_the_support_contact(browser, server):
    resp = browser.get(server.url("/sesame/callback?code=x&state=" + "0" * 64))
    assert resp.status_code >= 400
    assert_refuses_framing(resp)
    assert html.escape(SUPPORT, quote=True) in resp.text or SUPPORT in resp.text
    assert re.search(r"<code>[0-9a-f]{12}</code>", resp.text), resp.text
    assert resp.headers["Cache-Control"] == "no-store"
