"""A scripted browser: cookie jar, no automatic redirects, every hop recorded; raw TLS requests."""

import html
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urljoin, urlsplit

import requests


NAVIGATION = {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}


@dataclass
class Hop:
    method: str
    url: str
    status: int
    location: str
    set_cookies: list
    elapsed: float


@dataclass
class Login:
    """What a login did: every hop, the authorize and callback URLs, the final response."""

    hops: list = field(default_factory=list)
    authorize_url: str = ""
    callback_url: str = ""
    callback: requests.Response = None
    final: requests.Response = None

    def callback_params(self):
        return {k: v[0] for k, v in parse_qs(urlsplit(self.callback_url).query).items()}

    def authorize_params(self):
        return {k: v[0] for k, v in parse_qs(urlsplit(self.authorize_url).query).items()}


def set_cookie_headers(resp):
    """Every Set-Cookie header of a response, unmerged."""
    try:
        return list(resp.raw.headers.getlist("Set-Cookie"))
    except AttributeError:
        value = resp.headers.get("Set-Cookie")
        return [value] if value else []


def parse_set_cookie(header):
    """('name', 'value', {attr_lower: value_or_True}) of one Set-Cookie header."""
    parts = [p.strip() for p in header.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, sep, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if sep else True
    return name.strip(), value.strip(), attrs


class LoginForm:
    """The emulator's login page: form action and hidden fields."""

    def __init__(self, page_html, page_url):
        m = re.search(r'<form[^>]*action="([^"]+)"', page_html)
        if not m:
            raise AssertionError(f"no login form at {page_url}:\n{page_html[:2000]}")
        self.action = urljoin(page_url, html.unescape(m.group(1)))
        self.hidden = {}
        for tag in re.findall(r"<input[^>]*>", page_html):
            if 'type="hidden"' in tag:
                name = re.search(r'name="([^"]*)"', tag)
                value = re.search(r'value="([^"]*)"', tag)
                if name:
                    self.hidden[html.unescape(name.group(1))] = html.unescape(value.group(1) if value else "")
        self.logins = [html.unescape(v) for v in re.findall(r'<option[^>]*value="([^"]*)"', page_html)]


class Browser:
    """requests.Session that verifies against the test CA, never follows redirects by itself."""

    def __init__(self, ca, site_base=None):
        self.session = requests.Session()
        self.session.trust_env = False  # see Emulator.http: env CA bundles would override `verify`
        self.session.verify = str(ca)
        # A current browser's Fetch Metadata for a page the user opens (typed URL, bookmark).
        # Tests of scripts' requests and of other sites' links override them per request
        # (a header set to None is not sent).
        self.session.headers.update(NAVIGATION)
        self.site_base = site_base
        self.hops = []

    # ---- single requests --------------------------------------------------------------------
    def request(self, method, url, **kw):
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 15)
        t0 = time.monotonic()
        resp = self.session.request(method, url, **kw)
        resp.elapsed_s = time.monotonic() - t0
        self.hops.append(Hop(method, url, resp.status_code, resp.headers.get("Location", ""),
                             set_cookie_headers(resp), resp.elapsed_s))
        return resp

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, **kw):
        return self.request("POST", url, **kw)

    def follow(self, resp, limit=10):
        """Follow redirects (GET) until a non-redirect response."""
        while resp.status_code in (301, 302, 303, 307, 308) and limit > 0:
            resp = self.get(urljoin(resp.url, resp.headers["Location"]))
            limit -= 1
        return resp

    # ---- cookies ----------------------------------------------------------------------------
    def cookies(self):
        return {c.name: c.value for c in self.session.cookies}

    def cookie(self, name):
        for c in self.session.cookies:
            if c.name == name:
                return c.value
        return None

    def set_cookie(self, name, value, secure=True):
        host = urlsplit(self.site_base).hostname if self.site_base else "127.0.0.1"
        for c in list(self.session.cookies):
            if c.name == name:
                self.session.cookies.clear(c.domain, c.path, c.name)
        self.session.cookies.set(name, value, domain=host, path="/", secure=secure)

    def drop_cookie(self, name):
        for c in list(self.session.cookies):
            if c.name == name:
                self.session.cookies.clear(c.domain, c.path, c.name)

    def store_set_cookies(self, headers):
        """Store cookies from raw Set-Cookie headers (for responses read outside requests)."""
        for h in headers:
            name, value, attrs = parse_set_cookie(h)
            max_age = attrs.get("max-age")
            if value == "" or (isinstance(max_age, str) and max_age.strip() == "0"):
                self.drop_cookie(name)
            else:
                self.set_cookie(name, value, secure="secure" in attrs)

    # ---- the login dance --------------------------------------------------------------------
    def start(self, url):
        """GET a protected URL; expect a redirect to the provider's authorize endpoint."""
        resp = self.get(url)
        if resp.status_code not in (302, 303):
            raise AssertionError(f"GET {url}: expected a redirect to the provider, got {resp.status_code}\n{resp.text[:1000]}")
        return resp.headers["Location"]

    def authorize(self, authorize_url, identity="testfc1", action="login"):
        """At the provider: show the login page, submit it; return the redirect_uri URL it sends back."""
        resp = self.get(authorize_url)
        if resp.status_code in (302, 303):
            # The provider's SSO session answered without a login page.
            return urljoin(authorize_url, resp.headers["Location"])
        if resp.status_code != 200:
            raise AssertionError(f"authorize answered {resp.status_code}:\n{resp.text[:2000]}")
        form = LoginForm(resp.text, resp.url)
        data = dict(form.hidden)
        data["login"] = identity
        data["action"] = action
        resp = self.post(form.action, data=data)
        if resp.status_code not in (302, 303):
            raise AssertionError(f"login form post answered {resp.status_code}:\n{resp.text[:2000]}")
        return urljoin(form.action, resp.headers["Location"])

    def login(self, start_url, identity="testfc1", action="login", stop_before_callback=False):
        """protected URL -> authorize -> login form -> callback -> final page, every hop recorded."""
        first = len(self.hops)
        result = Login()
        result.authorize_url = self.start(start_url)
        result.callback_url = self.authorize(result.authorize_url, identity, action)
        if not stop_before_callback:
            result.callback = self.get(result.callback_url)
            result.final = result.callback
            if result.callback.status_code in (302, 303):
                target = urljoin(result.callback_url, result.callback.headers["Location"])
                if self.site_base is None or target.startswith(self.site_base + "/"):
                    result.final = self.get(target)
        result.hops = self.hops[first:]
        return result


def raw_request(port, target, headers=(), method="GET", host="127.0.0.1", ca=None, timeout=10):
    """Send exactly `METHOD target HTTP/1.1` over TLS (targets requests would normalise).

    Returns (status, [(name, value)], body bytes)."""
    ctx = ssl.create_default_context(cafile=str(ca)) if ca else ssl._create_unverified_context()
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            tls.sendall(data)
            chunks = []
            while True:
                try:
                    chunk = tls.recv(65536)
                except (ssl.SSLError, ConnectionResetError):
                    break
                if not chunk:
                    break
                chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    head_lines = head.decode("latin-1").split("\r\n")
    status = int(head_lines[0].split()[1])
    hdrs = []
    for line in head_lines[1:]:
        k, _, v = line.partition(":")
        hdrs.append((k.strip(), v.strip()))
    return status, hdrs, body


def header_values(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]
