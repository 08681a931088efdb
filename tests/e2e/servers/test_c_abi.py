"""The C ABI used by the adapters: tests/c/ffi_smoke.c, linked against libsesame.a, runs clean
under valgrind (no invalid access, no definite leak) against the real emulator and redis."""

import shutil
import subprocess

import pytest

from e2e_rig.paths import REPO, static_lib, target_dir

C_DIR = REPO / "tests" / "c"
SYSTEM_LIBS = ["-lssl", "-lcrypto", "-lpthread", "-ldl", "-lm", "-lgcc_s", "-lutil", "-lrt"]


@pytest.fixture(scope="module")
def ffi_smoke(tmp_path_factory):
    """Build ffi_smoke with tests/c/Makefile when there is one, else with gcc directly."""
    assert (C_DIR / "ffi_smoke.c").is_file(), "tests/c/ffi_smoke.c (core) is missing"
    lib = static_lib()
    assert lib.is_file(), f"{lib} missing: run `make build` (cargo build -p sesame)"
    if (C_DIR / "Makefile").is_file():
        out = subprocess.run(
            ["make", "-s", "-C", str(C_DIR), f"CARGO_TARGET_DIR={target_dir()}"],
            capture_output=True, text=True, timeout=300,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        binary = C_DIR / "ffi_smoke"
        assert binary.is_file(), f"tests/c/Makefile built no {binary}:\n{out.stdout}"
        return binary
    binary = tmp_path_factory.mktemp("ffi") / "ffi_smoke"
    cmd = [
        "gcc", "-std=c11", "-g", "-O1", "-Wall", "-Wextra", "-Werror", "-I", str(REPO / "include"),
        "-o", str(binary), str(C_DIR / "ffi_smoke.c"), str(lib), *SYSTEM_LIBS,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, " ".join(cmd) + "\n" + out.stderr
    return binary


def test_ffi_smoke_runs_clean_under_valgrind(ffi_smoke, emulator, redis, pki, tmp_path):
    valgrind = shutil.which("valgrind")
    assert valgrind, "valgrind is not installed (tools/setup.sh installs it)"
    cmd = [valgrind, "--error-exitcode=1", "--leak-check=full", "--errors-for-leak-kinds=definite"]
    suppressions = C_DIR / "valgrind.supp"
    if suppressions.is_file():
        # Reviewed false positives (ring's AES-GCM assembly), kept next to the smoke test.
        cmd.append(f"--suppressions={suppressions}")
    cmd += [str(ffi_smoke), emulator.issuer, str(pki.ca), redis.url, str(tmp_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"rc={out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-8000:]}"
    assert "ffi_smoke: OK" in out.stdout, out.stdout
    assert "ERROR SUMMARY: 0 errors" in out.stderr, out.stderr[-3000:]
    assert "definitely lost: 0 bytes" in out.stderr or "All heap blocks were freed" in out.stderr, out.stderr[-3000:]


def test_ffi_smoke_reaches_the_provider_for_discovery(ffi_smoke, emulator, redis, pki, tmp_path):
    # Without valgrind: the smoke test really talked to the emulator (not a canned answer).
    emulator.clear_requests()
    out = subprocess.run([str(ffi_smoke), emulator.issuer, str(pki.ca), redis.url, str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert emulator.requests_to("/.well-known/openid-configuration"), emulator.requests()


@pytest.mark.parametrize("args", [[], ["only-one"]])
def test_ffi_smoke_refuses_wrong_usage(args, ffi_smoke):
    out = subprocess.run([str(ffi_smoke), *args], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "usage" in (out.stderr + out.stdout).lower()
