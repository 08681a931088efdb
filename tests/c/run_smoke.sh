#!/bin/sh
# Builds tests/c/ffi_smoke against the core's static library and runs it under valgrind.
# Usage: tests/c/run_smoke.sh ISSUER CA_FILE REDIS_URL WORKDIR
#   env PROFILE=debug|release (default debug), CARGO_TARGET_DIR (default <repo>/target),
#   VALGRIND=0 to run without valgrind.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
profile=${PROFILE:-debug}
if [ "$profile" = release ]; then release=--release; else release=; fi
(cd "$root" && cargo build $release --lib)
make -s -C "$here" PROFILE="$profile"
if [ "${VALGRIND:-1}" = 0 ]; then
    exec "$here/ffi_smoke" "$@"
fi
exec valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    --suppressions="$here/valgrind.supp" "$here/ffi_smoke" "$@"
