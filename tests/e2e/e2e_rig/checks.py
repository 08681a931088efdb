"""Assertions shared by the behaviour tests (cookie names and page rules from SPEC)."""

import json
import re
from urllib.parse import urljoin, urlsplit

from .browser import parse_set_cookie, set_cookie_headers

SESSION = "__Host-sesame"
LOGIN = "__Host-sesame-login"
LOGOUT = "__Host-sesame-logout"


def set_cookies(resp):
    """{name: (value, attrs)} of the Set-Cookie headers of a response."""
    out = {}
    for header in set_cookie_headers(resp):
        name, value, attrs = parse_set_cookie(header)
        out[name] = (value, attrs)
    return out


def sets_live_cookie(resp, name):
    """True when the response sets `name` to a non-empty value that is not an expiry."""
    cookie = set_cookies(resp).get(name)
    if cookie is None:
        return False
    value, attrs = cookie
    return value != "" and str(attrs.get("max-age", "1")) != "0"


def php_server(resp):
    """The $_SERVER the PHP backend printed."""
    assert resp.status_code == 200, f"backend not reached: {resp.status_code}\n{resp.text[:1500]}"
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.text[:1500]
    return resp.json()


def is_provider_authorize(location, emulator):
    return location.startswith(emulator.issuer + "/authorize?")


def assert_redirects_to_provider(resp, emulator):
    assert resp.status_code in (302, 303), f"expected a login redirect, got {resp.status_code}\n{resp.text[:800]}"
    loc = resp.headers["Location"]
    assert is_provider_authorize(loc, emulator), loc


def assert_page(resp, statuses):
    """A Sesame page: expected status, HTML, never cached."""
    assert resp.status_code in statuses, f"status {resp.status_code} not in {statuses}\n{resp.text[:1500]}"
    assert "no-store" in resp.headers.get("Cache-Control", ""), resp.headers
    assert resp.headers.get("Content-Type", "").startswith("text/html"), resp.headers


def assert_login_refused(resp, browser, nginx, emulator, statuses=range(400, 600)):
    """The callback did not log the user in: an error page, no session cookie, login still needed."""
    assert_page(resp, statuses)
    assert not sets_live_cookie(resp, SESSION), set_cookie_headers(resp)
    assert browser.cookie(SESSION) is None
    again = browser.get(nginx.url("/demarches/after-refusal"))
    assert_redirects_to_provider(again, emulator)


def same_site_location(nginx, location):
    """True when a Location stays on the nginx site (relative path or https://127.0.0.1:P/...)."""
    path = location[len(nginx.base):] if location.startswith(nginx.base + "/") else location
    if path.startswith("//") or path.startswith("/\\") or any(ord(c) < 0x20 for c in path):
        return False  # browsers read these as another host
    target = urljoin(nginx.base + "/base/", location)
    parts = urlsplit(target)
    return parts.scheme == "https" and parts.netloc == urlsplit(nginx.base).netloc


def redis_keys_and_values(redis):
    out = {}
    for key in redis.keys("*"):
        kind = redis.command("TYPE", key).strip()
        out[key] = redis.command("GET", key) if kind == "string" else kind
    return out


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, indent=1)[:3000]


def assert_reference_logged(resp, nginx, offset):
    """The page's reference id (SPEC "Pages") appears in what nginx logged since `offset`."""
    logged = nginx.log_since(offset)
    candidates = set(re.findall(r"\b[0-9a-f]{8,32}\b", resp.text))
    assert candidates, f"no reference id on the page:\n{resp.text[:1500]}"
    assert any(c in logged for c in candidates), f"none of {sorted(candidates)} in the log:\n{logged[-3000:]}"
