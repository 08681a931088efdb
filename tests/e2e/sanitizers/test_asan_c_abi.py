"""The C ABI under AddressSanitizer: tests/c/ffi_smoke.c built with clang -fsanitize=address
(`make -C tests/c asan`) against libsesame.a drives one request through begin, job and run
against the real emulator and redis, and exits clean: no invalid access, no double free, no
leak at exit (LeakSanitizer). The valgrind run of the same program is servers/test_c_abi.py."""

import os
import shutil
import subprocess

from e2e_rig.paths import REPO, static_lib, target_dir

C_DIR = REPO / "tests" / "c"


def build_ffi_smoke_asan():
    assert shutil.which("clang-14"), "clang-14 is not installed (tools/setup.sh asan installs it)"
    assert static_lib().is_file(), f"{static_lib()} missing: run `make build`"
    out = subprocess.run(
        ["make", "-s", "-C", str(C_DIR), "asan", f"CARGO_TARGET_DIR={target_dir()}"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return C_DIR / "ffi_smoke_asan"


def test_ffi_smoke_runs_clean_under_address_sanitizer(emulator, redis, pki, tmp_path):
    binary = build_ffi_smoke_asan()
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=23:strict_string_checks=1"
    out = subprocess.run(
        [str(binary), emulator.issuer, str(pki.ca), redis.url, str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=env,
    )
    report = out.stdout[-3000:] + "\n" + out.stderr[-8000:]
    assert "AddressSanitizer" not in out.stderr and "LeakSanitizer" not in out.stderr, report
    assert out.returncode == 0, f"rc={out.returncode}\n{report}"
    assert "ffi_smoke: OK" in out.stdout, report
    # The program really reached the provider (not a canned answer).
    assert emulator.requests_to("/.well-known/openid-configuration"), emulator.requests()


def test_the_sanitizer_is_really_in_the_binary(tmp_path):
    # A program built by the same rule that reads past a heap buffer is stopped with a report:
    # the flags really instrument (a test that can fail).
    src = tmp_path / "overflow.c"
    src.write_text("#include <stdlib.h>\nint main(void){char*p=malloc(4);int r=p[4];free(p);return r;}\n")
    exe = tmp_path / "overflow"
    out = subprocess.run(["clang-14", "-g", "-fsanitize=address", "-o", str(exe), str(src)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "heap-buffer-overflow" in run.stderr, run.stderr[-2000:]
