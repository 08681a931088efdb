"""The login page as a qualifier checks it, in headless Chromium (Debian's `chromium`, over the
DevTools protocol: tests/support/cdp.py), behind nginx and Apache: the buttons' rendered size
(FranceConnect 209 x 56 CSS px, ProConnect 214 x 56), the hover state, the « Qu'est-ce que … ? »
link 8 px under the button opening a new window, nothing loaded from outside the site, framing
refused, text contrast of at least 4.5:1 in the light and dark themes, and a whole login and
logout through the page against the emulators. Screenshots of each variant are kept in the test's
temporary directory (docs/images/ has one of each)."""

import json
import sys
from pathlib import Path

import pytest

from e2e_rig.proconnect import pc_emulator  # noqa: F401 (fixture)

from .site import server, site  # noqa: F401 (fixtures)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))
from cdp import Chromium, trust  # noqa: E402

FC_BUTTON = "button.fr-connect:not(.fr-connect--pro)"
PC_BUTTON = "button.fr-connect--pro"

# The contrast ratio (WCAG 2) of every element that holds text, against the first opaque
# background behind it, from computed styles.
CONTRAST = """(() => {
  const rgb = s => { const m = s.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(',').map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = e => { for (let n = e; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor); if (c && c.a > 0) return c; }
    return rgb(getComputedStyle(document.documentElement).backgroundColor) || {r: 255, g: 255, b: 255}; };
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || e.getClientRects().length === 0) continue;
    const fg = rgb(getComputedStyle(e).color), bg = background(e);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    out.push({text: e.textContent.trim().slice(0, 40), ratio: (a + 0.05) / (b + 0.05)});
  }
  return out;
})()"""


@pytest.fixture
def chromium(tmp_path, env):
    home = tmp_path / "home"
    home.mkdir()
    trust(env.pki.ca, home)
    # A browser set to French, as the federations' qualifiers use.
    browser = Chromium(home, accept_lang="fr-FR,fr")
    yield browser
    browser.stop()


@pytest.fixture
def shots(tmp_path, server_kind):
    """Where this test's screenshots go (the pytest temporary directory)."""
    folder = tmp_path / f"screenshots-{server_kind}"
    folder.mkdir()
    return folder


def open_page(chromium, url, ready=".fr-connect"):
    chromium.open(url)
    chromium.wait_for(f"document.querySelector({json.dumps(ready)})", f"{ready} at {url}")


def test_the_buttons_have_the_official_size_and_the_link_sits_8px_under_them(chromium, server, shots):
    open_page(chromium, server.url("/usagers/"))
    fc, pc = chromium.rect(FC_BUTTON), chromium.rect(PC_BUTTON)
    assert (fc["width"], fc["height"]) == (209, 56), fc
    assert (pc["width"], pc["height"]) == (214, 56), pc
    for button in (FC_BUTTON, PC_BUTTON):
        # The label fits: nothing of « FranceConnect » / « ProConnect » is cut off.
        for span in (".fr-connect__login", ".fr-connect__brand"):
            right = chromium.evaluate(
                f"document.querySelector({json.dumps(button + ' ' + span)}).getBoundingClientRect().right")
            box = chromium.rect(button)
            assert right <= box["x"] + box["width"], f"{button} {span} overflows the button"
    for button in (FC_BUTTON, PC_BUTTON):
        link_sel = f".fr-connect-group:has({button}) p a"
        link = chromium.rect(link_sel)
        gap = link["y"] - (chromium.rect(button)["y"] + chromium.rect(button)["height"])
        assert gap == pytest.approx(8, abs=0.5), f"{button}: the link is {gap}px under the button"
        assert chromium.style(link_sel, "text-decoration-line") == "underline", "styled as a link"
    chromium.screenshot(shots / "both.png")


def test_hovering_the_button_changes_its_colour(chromium, server):
    open_page(chromium, server.url("/fc/"))
    chromium.mouse_away()
    idle = chromium.style(FC_BUTTON, "background-color")
    chromium.hover(FC_BUTTON)
    chromium.wait_for(
        f"getComputedStyle(document.querySelector({json.dumps(FC_BUTTON)})).backgroundColor !== {json.dumps(idle)}",
        "the hover colour")
    hovered = chromium.style(FC_BUTTON, "background-color")
    assert idle == "rgb(0, 0, 145)" and hovered == "rgb(18, 18, 255)", (idle, hovered)


def test_the_what_is_link_opens_a_new_window(chromium, server):
    open_page(chromium, server.url("/fc/"))
    link = ".fr-connect-group p a"
    assert chromium.evaluate(f"document.querySelector('{link}').target") == "_blank"
    assert chromium.evaluate(f"document.querySelector('{link}').rel") == "noopener"
    assert chromium.evaluate(f"document.querySelector('{link}').title").endswith(" - nouvelle fenêtre")
    before = chromium.page_targets()
    chromium.mouse_click(link)
    chromium.wait_for("true", "the click")
    for _ in range(50):
        after = chromium.page_targets()
        if len(after) > len(before):
            break
        chromium.wait_for("true", "a new window")
    assert len(after) == len(before) + 1, after
    assert any(u.startswith("https://franceconnect.gouv.fr") for u in after), after
    assert chromium.location().startswith(server.url("/fc/")), "the login page stays where it was"


def test_the_page_loads_nothing_from_outside_the_site(chromium, server):
    chromium.record_network()
    open_page(chromium, server.url("/usagers/"))
    urls = chromium.requested_urls()
    assert urls, "the Network domain recorded the page itself"
    outside = [u for u in urls if not (u.startswith(server.base + "/") or u.startswith("data:"))]
    assert outside == [], outside


def test_the_page_refuses_to_be_framed(chromium, server):
    chromium.open(server.url("/framing.html"))
    chromium.wait_for("document.querySelector('#public').contentDocument"
                      " && document.querySelector('#public').contentDocument.body"
                      " && document.querySelector('#public').contentDocument.body.innerText.includes('public page')",
                      "the framed public page (the control)")
    framed = chromium.evaluate(
        "(() => { const d = document.querySelector('#login').contentDocument;"
        " return !!(d && d.querySelector('.fr-connect')); })()")
    assert framed is False, "the login page rendered inside a frame"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_text_has_a_contrast_of_at_least_4_5(chromium, server, shots, theme):
    chromium.dark(theme == "dark")
    for path in ("/usagers/", "/agents/", "/sesame/callback?code=x&state=" + "0" * 64):
        chromium.open(server.url(path))
        chromium.wait_for("document.querySelector('h1')", path)
        ratios = chromium.evaluate(CONTRAST)
        assert ratios, path
        low = [r for r in ratios if r["ratio"] < 4.5]
        assert low == [], f"{theme} {path}: {low}"
    if theme == "dark":
        open_page(chromium, server.url("/usagers/"))
        chromium.screenshot(shots / "dark.png")


def test_screenshots_of_each_variant(chromium, server, shots):
    for name, path in (("franceconnect", "/fc/"), ("proconnect", "/agents/")):
        open_page(chromium, server.url(path))
        chromium.screenshot(shots / f"{name}.png")
    chromium.open(server.url("/sesame/callback?code=x&state=" + "0" * 64))
    chromium.wait_for("document.querySelector('code')", "the error page")
    chromium.screenshot(shots / "error.png")
    assert all((shots / f).stat().st_size > 1000 for f in ("franceconnect.png", "proconnect.png", "error.png"))


def test_login_and_logout_through_the_page(chromium, server, env):
    fc = env.emulator.issuer.split("/api/")[0]
    open_page(chromium, server.url("/fc/"))
    chromium.click(FC_BUTTON)
    chromium.wait_for_url(fc, "the emulator's login page")
    chromium.wait_for("document.querySelector('select[name=login]')", "the identity list")
    chromium.select("select[name=login]", "testfc1")
    chromium.click("button[value=login]")
    chromium.wait_for_url(server.url("/fc/"), "the protected page after the login")
    chromium.wait_for("document.body.innerText.includes('SESAME_PROVIDER')", "the PHP page")
    seen = json.loads(chromium.evaluate("document.body.innerText"))
    assert seen["SESAME_PROVIDER"] == "fc" and seen["SESAME_ACR"] == "eidas1"
    chromium.open(server.url("/logout"))
    chromium.wait_for(f"location.href.startsWith({json.dumps(server.base)})"
                      " && !location.href.includes('/logout')", "the landing page after the logout")
    open_page(chromium, server.url("/fc/"))
    assert chromium.rect(FC_BUTTON)["width"] == 209, "logged out: the page again"
