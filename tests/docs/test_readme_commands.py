"""The README's shell blocks are run, so the README cannot drift from what works.

Every ```sh block of README.md is preceded by a marker line:
- `<!-- readme-test: run -->`: each command of the block is run from the checkout's root and must
  succeed. `make demo ...` starts a long-running demo: it must print its URLs, serve the home page
  and send the protected page to the emulator, then stop on SIGTERM (the Ctrl-C of a script).
  `make test` is the command this suite runs under (CI's `.ci/run`): it is checked, not re-run.
- `<!-- readme-test: skip: WHY -->`: not run, for the reason given (placeholders, or commands that
  install into the system).
A shell block without a marker fails the test."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
sys.path.insert(0, str(ROOT / "tests" / "demo"))

from running import RunningDemo, free_port_run  # noqa: E402

SHELL_FENCE = re.compile(r"^```(sh|bash|shell|console)\s*$")
MARKER = re.compile(r"^<!-- readme-test: (run|skip: .+) -->$")


def shell_blocks():
    """(line number, marker or None, [commands]) for each shell block of the README."""
    lines = README.read_text(encoding="utf-8").splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if SHELL_FENCE.match(lines[i]):
            prev = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            marker = MARKER.match(prev)
            body = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            blocks.append((i, marker.group(1) if marker else None, commands(body)))
        i += 1
    return blocks


def commands(body):
    """The commands of a block: continuation lines joined, trailing `# comments` dropped."""
    out, pending = [], ""
    for line in body:
        line = pending + line
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        line = re.sub(r"\s+#\s.*$", "", line).strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def run_blocks():
    return [cmd for _, marker, cmds in shell_blocks() if marker == "run" for cmd in cmds]


def test_every_shell_block_says_whether_it_is_run():
    unmarked = [line for line, marker, _ in shell_blocks() if marker is None]
    assert not unmarked, ("README shell blocks without a `<!-- readme-test: run -->` or "
                          f"`<!-- readme-test: skip: WHY -->` line before them, at lines {unmarked}")
    assert run_blocks(), "no README block is marked to be run"


def test_the_first_screen_gives_the_two_commands():
    text = README.read_text(encoding="utf-8")
    first = text[: text.index("\n## A FranceConnect integration")]
    assert "## Two commands" in first and "## Install on a server" in first
    assert {"make demo", "make test"} <= set(run_blocks())


def demo_answers(cmd):
    """`make demo ...` as a person types it, on free ports: the home page, then the protected
    page's redirect to the emulator; stopped by SIGTERM."""
    port = free_port_run()
    env = dict(os.environ, SESAME_DEMO_PORT=str(port))
    demo = RunningDemo(["bash", "-c", cmd], cwd=ROOT, env=env, timeout=600)
    try:
        assert demo.url == f"https://localhost:{port}"
        http = requests.Session()
        http.trust_env = False
        http.verify = str(ROOT / "build" / "demo" / "pki" / "ca.pem")
        # The same server by address (its certificate names both): a machine without `localhost`
        # in /etc/hosts (a bare chroot) resolves nothing, where browsers resolve it themselves.
        site = f"https://127.0.0.1:{port}"
        home = http.get(site + "/", timeout=10)
        assert home.status_code == 200 and "Se connecter avec FranceConnect" in home.text
        login = http.get(site + "/demarches/", allow_redirects=False, timeout=10,
                         headers={"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"})
        assert login.status_code in (302, 303)
        assert login.headers["Location"].startswith(f"https://127.0.0.1:{port + 1}/api/v2/authorize?")
    finally:
        assert demo.stop(), demo.output()[-3000:]


@pytest.mark.parametrize("cmd", run_blocks())
def test_readme_command_works(cmd):
    if cmd == "make test":
        ci = (ROOT / ".ci" / "run").read_text()
        assert re.search(r"^(exec )?make test$", ci, re.M), ".ci/run does not run `make test`"
        dry = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True,
                             timeout=60)
        assert dry.returncode == 0, dry.stderr
        return
    if re.match(r"^(\w+=\S+ )*make demo\b", cmd):
        demo_answers(cmd)
        return
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", cmd], cwd=ROOT, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, f"{cmd}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
