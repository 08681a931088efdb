"""Headless Chromium (Debian's `chromium`) driven over the Chrome DevTools Protocol: start it with
its own profile and HOME, open pages, read and click through the DOM, stop it by PID. Used by the
demo test (tests/demo/) and the login page's browser tests (tests/e2e/loginpage/).

One page, `Runtime.evaluate` for every read and click, and polling for where the page went
(navigation events are not needed for that and race with redirects); the events Chromium sends
meanwhile are kept (`events`), so that a test can read the Network domain's requests; real mouse
input for hover, screenshots, emulated dark theme."""

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import websocket

CHROMIUM = os.environ.get("SESAME_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


class BrowserError(AssertionError):
    pass


def trust_command(ca, home="$HOME"):
    """What makes Chromium on Linux trust a CA (libnss3-tools): certutil into $HOME/.pki/nssdb."""
    return (f"mkdir -p {home}/.pki/nssdb && "
            f"certutil -d sql:{home}/.pki/nssdb -A -t C,, -n sesame-demo -i {ca}")


def trust(ca, home):
    """Run `trust_command` for the browser whose HOME is `home`."""
    subprocess.run(["sh", "-c", trust_command(ca, home=str(home))], check=True,
                   capture_output=True, timeout=30)


class Chromium:
    """One headless Chromium with a fresh profile under `home` (HOME too: Chromium on Linux reads
    the user's trusted CAs from $HOME/.pki/nssdb)."""

    def __init__(self, home, timeout=30, accept_lang=None):
        self.home = Path(home)
        self.profile = self.home / "profile"
        self.profile.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        self._ids = itertools.count(1)
        # Events received while waiting for a command's answer, in order.
        self.events = []
        argv = [
            CHROMIUM, "--headless=new", "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}",
            # Root in CI: Chromium's sandbox needs user namespaces it cannot have there.
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--password-store=basic",
        ] + ([f"--accept-lang={accept_lang}"] if accept_lang else []) + ["about:blank"]
        env = dict(os.environ, HOME=str(self.home))
        self.log = open(self.home / "chromium.log", "wb")
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, start_new_session=True)
        try:
            self.ws = websocket.create_connection(self._page_socket(), timeout=timeout,
                                                  suppress_origin=True)
        except Exception:
            self.stop()
            raise

    def _page_socket(self):
        """The first page target's websocket, from the port Chromium wrote into its profile."""
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrowserError(f"chromium exited ({self.proc.returncode}):\n{self.log_tail()}")
            if active.is_file():
                lines = active.read_text().split("\n")
                if len(lines) >= 2 and lines[0].isdigit():
                    port = int(lines[0])
                    browser = websocket.create_connection(
                        f"ws://127.0.0.1:{port}{lines[1].strip()}", timeout=self.timeout,
                        suppress_origin=True)
                    try:
                        targets = self._call(browser, "Target.getTargets")["targetInfos"]
                    finally:
                        browser.close()
                    pages = [t for t in targets if t["type"] == "page"]
                    if pages:
                        return f"ws://127.0.0.1:{port}/devtools/page/{pages[0]['targetId']}"
            time.sleep(0.1)
        raise BrowserError(f"chromium gave no DevTools page within {self.timeout}s\n{self.log_tail()}")

    def _call(self, ws, method, **params):
        msg_id = next(self._ids)
        ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def call(self, method, **params):
        return self._call(self.ws, method, **params)

    # ---- what a test does ----------------------------------------------------------------------
    def open(self, url):
        self.call("Page.navigate", url=url)

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (None while the page is changing)."""
        try:
            result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        except BrowserError:
            return None
        if "exceptionDetails" in result:
            return None
        return result.get("result", {}).get("value")

    def wait_for(self, expression, what, timeout=None):
        """Poll until `expression` is truthy in a fully loaded page (an element counts)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        guarded = f"document.readyState === 'complete' && !!({expression})"
        while time.monotonic() < deadline:
            value = self.evaluate(guarded)
            if value:
                return value
            time.sleep(0.1)
        raise BrowserError(f"timed out waiting for {what}; the page is {self.location()!r}:\n"
                           f"{(self.evaluate('document.body && document.body.innerText') or '')[:1500]}")

    def wait_for_url(self, prefix, what=None):
        return self.wait_for(f"location.href.startsWith({json.dumps(prefix)})", what or prefix)

    def location(self):
        return self.evaluate("location.href")

    def text(self, selector):
        return self.evaluate(f"(document.querySelector({json.dumps(selector)}) || {{}}).textContent")

    def click(self, selector):
        found = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return false; e.click(); return true; })()")
        if not found:
            raise BrowserError(f"nothing to click at {selector!r} on {self.location()!r}")

    def select(self, selector, value):
        ok = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            f" if (!e) return false; e.value = {json.dumps(value)}; return e.value === {json.dumps(value)}; }})()")
        if not ok:
            raise BrowserError(f"cannot choose {value!r} in {selector!r} on {self.location()!r}")

    # ---- what a qualifier checks --------------------------------------------------------------
    def record_network(self):
        """Start recording the page's requests (`requested_urls`)."""
        self.call("Network.enable")

    def requested_urls(self):
        """Every URL the page requested since `record_network` (Network.requestWillBeSent)."""
        self.evaluate("1")  # drain the events sent so far
        return [e["params"]["request"]["url"] for e in self.events
                if e["method"] == "Network.requestWillBeSent"]

    def rect(self, selector):
        """{x, y, width, height} of an element's border box in CSS pixels, or None."""
        return self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            " const r = e.getBoundingClientRect();"
            " return {x: r.x, y: r.y, width: r.width, height: r.height}; })()")

    def style(self, selector, prop, pseudo=None):
        """An element's computed style property (`pseudo`: '::before'...)."""
        pseudo_arg = json.dumps(pseudo) if pseudo else "null"
        return self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            f" return getComputedStyle(e, {pseudo_arg}).getPropertyValue({json.dumps(prop)}); }})()")

    def hover(self, selector):
        """Move the real mouse pointer onto the middle of an element."""
        r = self.rect(selector)
        if not r:
            raise BrowserError(f"nothing to hover at {selector!r} on {self.location()!r}")
        self.call("Input.dispatchMouseEvent", type="mouseMoved",
                  x=r["x"] + r["width"] / 2, y=r["y"] + r["height"] / 2)

    def mouse_click(self, selector):
        """A real click (mouse pressed and released) in the middle of an element: a user gesture,
        unlike `click` (a link opening a new window is a blocked pop-up without one)."""
        self.hover(selector)
        r = self.rect(selector)
        x, y = r["x"] + r["width"] / 2, r["y"] + r["height"] / 2
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def mouse_away(self):
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=1, y=1)

    def dark(self, on=True):
        """Emulate `prefers-color-scheme: dark` (or light)."""
        self.call("Emulation.setEmulatedMedia", features=[
            {"name": "prefers-color-scheme", "value": "dark" if on else "light"}])

    def screenshot(self, path):
        """A PNG of the whole page (beyond the viewport), written to `path`."""
        size = self.evaluate("({w: document.documentElement.scrollWidth,"
                             " h: document.documentElement.scrollHeight})") or {"w": 800, "h": 600}
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": size["w"], "height": size["h"], "scale": 1})["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)

    def page_targets(self):
        """The URLs of every open page (tab or window) of this browser."""
        return [t["url"] for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page"]

    def log_tail(self, limit=3000):
        try:
            return (self.home / "chromium.log").read_bytes()[-limit:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        try:
            if getattr(self, "ws", None) is not None:
                self.ws.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            # Its own session: the whole group is this Chromium's (zygote, renderers, GPU).
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        self.log.close()
