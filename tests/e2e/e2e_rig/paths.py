"""Where the repository, the build outputs and the binaries are (SPEC "Test rig")."""

import glob
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
E2E = REPO / "tests" / "e2e"


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")


def nginx_binary():
    """SESAME_NGINX_BIN, else the newest nginx built by nginx-sys in the debug target dir."""
    env = os.environ.get("SESAME_NGINX_BIN")
    if env:
        return Path(env)
    found = glob.glob(str(target_dir() / "debug" / "build" / "nginx-sys-*" / "out" / "objs" / "nginx"))
    if not found:
        raise FileNotFoundError(
            f"no nginx binary under {target_dir()}/debug/build/nginx-sys-*/out/objs/nginx: "
            "run `make build` (cargo build -p ngx-sesame) or set SESAME_NGINX_BIN"
        )
    return Path(max(found, key=os.path.getmtime))


def nginx_module():
    """SESAME_NGINX_MODULE, else the debug build of the module."""
    env = os.environ.get("SESAME_NGINX_MODULE")
    path = Path(env) if env else target_dir() / "debug" / "libngx_http_sesame_module.so"
    if not path.is_file():
        raise FileNotFoundError(f"nginx module {path} not found: run `make build` or set SESAME_NGINX_MODULE")
    return path


def static_lib():
    return target_dir() / "debug" / "libsesame.a"
