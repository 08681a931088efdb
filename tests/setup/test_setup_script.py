"""tools/setup.sh, the one place that installs what the make targets need: run twice, the second
run installs nothing and says nothing; without root, a missing package gives one message with the
exact apt-get line and a non-zero exit; CI runs `make test` and nothing else."""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / "tools" / "setup.sh"
ABSENT = "sesame-no-such-package"


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=900, **kw)


def test_second_set_up_installs_nothing_and_is_quiet():
    first = run([str(SETUP), "test"])
    assert first.returncode == 0, first.stdout + first.stderr

    check = run([str(SETUP), "--check", "test"])
    assert (check.returncode, check.stdout, check.stderr) == (0, "", "")

    started = time.monotonic()
    second = run([str(SETUP), "test"])
    elapsed = time.monotonic() - started
    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")
    # A set-up machine pays one dpkg-query and a hash of the requirements: well under a second
    # on an idle machine; the bound leaves room for a loaded CI runner.
    assert elapsed < 10, f"a set-up that installs nothing took {elapsed:.1f}s"


@pytest.fixture
def setup_with_absent_package():
    """A copy of the script whose list has one more group, `absent`, naming a package Debian
    does not have (a world-readable directory: the script also runs as nobody)."""
    root = Path(tempfile.mkdtemp(prefix="sesame-setup-"))
    try:
        root.chmod(0o755)
        (root / "tools").mkdir(mode=0o755)
        text = SETUP.read_text()
        marker = "PACKAGE_GROUPS=(\n"
        assert marker in text
        copy = root / "tools" / "setup.sh"
        copy.write_text(text.replace(marker, marker + f'    "absent: {ABSENT}"\n', 1))
        copy.chmod(0o755)
        yield copy
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_check_names_what_is_missing_and_installs_nothing(setup_with_absent_package):
    out = run([str(setup_with_absent_package), "--check", "absent"])
    assert (out.returncode, out.stdout) == (1, f"apt: {ABSENT}\n"), out.stderr


def test_without_root_a_missing_package_gives_the_apt_get_line(setup_with_absent_package):
    argv = [str(setup_with_absent_package), "absent"]
    if os.getuid() == 0:
        argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + argv
    out = run(argv, cwd="/")
    assert out.returncode == 1
    assert out.stdout == ""
    assert f"apt-get update && apt-get install -y --no-install-recommends {ABSENT}\n" in out.stderr
    assert "not installed" in out.stderr


def test_ci_runs_make_test_and_nothing_else():
    script = (REPO / ".ci" / "run").read_text()
    commands = [line.strip() for line in script.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] in ("make test", "exec make test")
    assert all(c.startswith(("set ", "cd ")) for c in commands[:-1]), commands


@pytest.mark.skipif(os.getuid() != 0, reason="the apt-get route is taken as root only")
def test_as_root_the_missing_packages_are_installed_in_one_apt_get_call(setup_with_absent_package,
                                                                       tmp_path):
    # A stand-in apt-get on PATH records its arguments: nothing is installed on this machine.
    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "apt-get"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{fake.parent}:{os.environ['PATH']}")
    out = run([str(setup_with_absent_package), "absent"], env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"installing Debian packages: {ABSENT}\n"
    assert calls.read_text().splitlines() == [
        "-q -o DPkg::Lock::Timeout=600 update",
        f"-q -o DPkg::Lock::Timeout=600 install -y --no-install-recommends {ABSENT}",
    ]
