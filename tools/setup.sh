#!/usr/bin/env bash
# What `make build`, `make demo` and `make test` need on Debian 12, installed only when missing:
# the Debian packages (apt-get, as root) and the Python test tools (a virtual environment in the
# checkout, .venv/, never the system Python). Quiet when nothing is missing.
#
#   tools/setup.sh [--check] NEED...     NEED: build | demo | test (or a group name below)
#
# --check installs nothing: it prints what it would install, one line per kind, and exits 1 when
# something is missing (0 and no output when the machine is ready). Not root and packages missing:
# one message with the exact apt-get line, exit 1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/tests/requirements.txt"
PYTHON3="${PYTHON3:-python3}"

# The one package list. One group per line: "name: Debian packages". A new group is one more line
# here; a make target asks for it by name (`tools/setup.sh build deb`), or through NEEDS below.
PACKAGE_GROUPS=(
    "build: make gcc pkg-config libc6-dev libssl-dev zlib1g-dev libpcre2-dev libclang1-14 libclang-common-14-dev apache2-dev"
    "python: python3 python3-venv"
    "servers: redis-server php-fpm apache2 libapache2-mod-php8.2 openssl curl"
    "checks: valgrind libapache2-mod-auth-openidc"
    "asan: clang-14 libclang-rt-14-dev"
    "browser: chromium libnss3-tools"
    "bench: wrk"
    "chaos: iptables"
    "netns: iproute2"
    "dashboard: prometheus"
    "deb: nginx-dev debhelper dpkg-dev fakeroot lintian"
)
# What each make target needs: groups, and "venv" for the Python tools.
declare -A NEEDS=(
    [build]="build"
    [demo]="build python servers venv"
    [test]="build python servers checks asan browser deb chaos venv"
    [bench]="build python servers checks bench venv"
    [chaos]="build python servers bench chaos venv"
    [cluster]="build python servers bench netns venv"
    [cost]="build python servers checks venv"
    [dashboard]="build python servers checks bench browser dashboard venv"
    [deb]="build deb"
    [asan]="build python servers asan venv"
)

usage() {
    echo "usage: $0 [--check] NEED...   (NEED: ${!NEEDS[*]}, or a group name)" >&2
    exit 2
}

check_only=0
wanted=()
for arg in "$@"; do
    case "$arg" in
        --check) check_only=1 ;;
        -h|--help) usage ;;
        -*) usage ;;
        *) wanted+=("$arg") ;;
    esac
done
[ "${#wanted[@]}" -gt 0 ] || usage

group_packages() {
    local line
    for line in "${PACKAGE_GROUPS[@]}"; do
        if [ "${line%%:*}" = "$1" ]; then
            echo "${line#*:}"
            return 0
        fi
    done
    return 1
}

packages=()
want_venv=0
for need in "${wanted[@]}"; do
    for part in ${NEEDS[$need]:-$need}; do
        if [ "$part" = venv ]; then
            want_venv=1
        elif pkgs="$(group_packages "$part")"; then
            # shellcheck disable=SC2206 # the list is words on purpose
            packages+=($pkgs)
        else
            echo "$0: unknown need or group: $part" >&2
            usage
        fi
    done
done

# ---- Debian packages ----------------------------------------------------------------------------
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    # One dpkg-query for all of them; a package dpkg has never heard of prints nothing (stderr).
    installed="$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${packages[@]}" 2>/dev/null || true)"
    for pkg in "${packages[@]}"; do
        if ! grep -qx "$pkg ii " <<<"$installed" && ! [[ " ${missing[*]} " == *" $pkg "* ]]; then
            missing+=("$pkg")
        fi
    done
else
    echo "$0: not a Debian system (no dpkg-query): install the equivalents of: ${packages[*]}" >&2
fi

apt_line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$check_only" = 1 ]; then
        echo "apt: ${missing[*]}"
    elif [ "$(id -u)" -ne 0 ]; then
        {
            echo "Sesame needs these Debian packages, which are not installed: ${missing[*]}"
            echo "Install them as root, then run make again:"
            echo "    apt-get update && $apt_line"
        } >&2
        exit 1
    else
        echo "installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        # Another apt run (unattended-upgrades, a second make) holds the lock for a while: wait.
        apt-get -q -o DPkg::Lock::Timeout=600 update
        # shellcheck disable=SC2086 # $apt_line is words
        apt-get -q -o DPkg::Lock::Timeout=600 ${apt_line#apt-get }
    fi
fi

# ---- Python test tools in .venv -----------------------------------------------------------------
# The stamp is the hash of the requirements the venv was filled from: a changed file reinstalls.
venv_missing=""
if [ "$want_venv" = 1 ]; then
    want_stamp="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
    have_stamp="$(cat "$VENV/.sesame-requirements" 2>/dev/null || true)"
    if ! "$VENV/bin/python" -c '' 2>/dev/null; then
        venv_missing="new"
    elif [ "$want_stamp" != "$have_stamp" ]; then
        venv_missing="update"
    fi
fi

if [ -n "$venv_missing" ]; then
    if [ "$check_only" = 1 ]; then
        echo "python: .venv ($venv_missing) from tests/requirements.txt"
    else
        echo "setting up $VENV from tests/requirements.txt"
        if [ "$venv_missing" = new ]; then
            rm -rf "$VENV"
            "$PYTHON3" -m venv "$VENV"
        fi
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
        echo "$want_stamp" >"$VENV/.sesame-requirements"
    fi
fi

if [ "$check_only" = 1 ] && { [ "${#missing[@]}" -gt 0 ] || [ -n "$venv_missing" ]; }; then
    exit 1
fi
exit 0
