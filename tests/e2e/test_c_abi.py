"""The C ABI used by the adapters: tests/c/ffi_smoke.c, linked against libsesame.a, runs clean
under valgrind (no invalid access, no definite leak) against the real emulator and redis."""

import shutil
import subprocess

import pytest

from e2e_rig.paths import REPO, static_lib, target_dir

C_DIR = REPO / "tests" / "c"
SYSTEM_LIBS = ["-lpthread", "-ldl", "-lm", "-lgcc_s", "-lutil", "-lrt"]


def _build(workdir):
    """Build ffi_smoke with tests/c/Makefile when there is one, else with gcc directly."""
    lib = static_lib()
    assert lib.is_file(), f"{lib} missing: run `make build` (cargo build -p sesame)"
    if (C_DIR / "Makefile").is_file():
        out = subprocess.run(
            ["make", "-C", str(C_DIR), f"CARGO_TARGET_DIR={target_dir()}", f"OUT_DIR={workdir}"],
            capture_output=True, text=True, timeout=300,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        for candidate in (workdir / "ffi_smoke", C_DIR / "ffi_smoke", target_dir() / "debug" / "ffi_smoke"):
            if candidate.is_file():
                return candidate
        raise AssertionError(f"tests/c/Makefile built no ffi_smoke:\n{out.stdout}")
    binary = workdir / "ffi_smoke"
    cmd = [
        "gcc", "-g", "-O0", "-Wall", "-Wextra", "-Werror",
        "-I", str(REPO / "include"), "-I", str(C_DIR),
        "-o", str(binary), str(C_DIR / "ffi_smoke.c"), str(lib), *SYSTEM_LIBS,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, " ".join(cmd) + "\n" + out.stderr
    return binary


def test_ffi_smoke_runs_clean_under_valgrind(emulator, redis, pki, tmp_path):
    assert (C_DIR / "ffi_smoke.c").is_file(), "tests/c/ffi_smoke.c (core) is missing"
    valgrind = shutil.which("valgrind")
    assert valgrind, "valgrind is not installed (.ci/run installs it)"
    binary = _build(tmp_path)
    workdir = tmp_path / "work"
    workdir.mkdir()
    cmd = [
        valgrind, "--error-exitcode=1", "--leak-check=full", "--errors-for-leak-kinds=definite",
        "--track-origins=yes", str(binary), emulator.issuer, str(pki.ca), redis.url, str(workdir),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"rc={out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-6000:]}"
    assert "ERROR SUMMARY: 0 errors" in out.stderr, out.stderr[-3000:]


@pytest.mark.parametrize("args", [[], ["only-one"]])
def test_ffi_smoke_refuses_wrong_usage(args, tmp_path):
    binary = _build(tmp_path)
    out = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "usage" in (out.stderr + out.stdout).lower()
