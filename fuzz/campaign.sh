#!/bin/bash
# A long fuzzing campaign (`make fuzz-campaign`): each target until FUZZ_RUNS executions (10
# million) or FUZZ_CPU_SECONDS of its own CPU time (1800: 30 minutes of one core, whatever else
# the machine runs), whichever comes first; FUZZ_JOBS targets at a time (default 1). Built
# without AddressSanitizer and with debug assertions and overflow checks (`-s none -a`): the
# code under test is safe Rust, where an arithmetic overflow or a failed debug assertion is
# what can go wrong, and ASan would cost three to ten times the executions (`make fuzz` keeps
# ASan; `make asan` covers the C side). New inputs go to build/fuzz/corpus/TARGET (the
# committed corpora are read, not written), findings to build/fuzz/artifacts/, one summary line
# per target to build/fuzz/campaign.txt. SIGINT makes libFuzzer print its final statistics.
#
# Usage: fuzz/campaign.sh [TARGET...]   (default: every target of fuzz/fuzz_targets/)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build/fuzz
RUNS=${FUZZ_RUNS:-10000000}
CPU_LIMIT=${FUZZ_CPU_SECONDS:-1800}
JOBS=${FUZZ_JOBS:-1}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/fuzz/target}
mkdir -p "$OUT/corpus" "$OUT/artifacts" "$OUT/logs" "$OUT/bin"

if [ $# -eq 0 ]; then
    set -- $(basename -s .rs fuzz/fuzz_targets/*.rs)
fi
cargo +nightly fuzz build -O -a -s none >&2   # every target: they share one build of the core
BIN=$TARGET_DIR/x86_64-unknown-linux-gnu/release

one() {
    local t=$1 start pid cpu=0 rc tck
    mkdir -p "$OUT/corpus/$t"
    cp "$BIN/$t" "$OUT/bin/$t"   # a snapshot: a rebuild during the run does not swap it
    start=$(date +%s)
    "$OUT/bin/$t" "$OUT/corpus/$t" "$ROOT/fuzz/corpus/$t" -runs="$RUNS" -max_total_time=0 \
        -timeout=10 -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t-" \
        > "$OUT/logs/$t.log" 2>&1 &
    pid=$!
    tck=$(getconf CLK_TCK)
    while kill -0 "$pid" 2>/dev/null; do
        local st
        read -r -a st < "/proc/$pid/stat" 2>/dev/null || break
        cpu=$(( (st[13] + st[14]) / tck ))
        if [ "$cpu" -ge "$CPU_LIMIT" ]; then kill -INT "$pid"; fi
        sleep 1
    done
    rc=0; wait "$pid" || rc=$?
    local execs last
    execs=$(grep -E 'stat::number_of_executed_units' "$OUT/logs/$t.log" | awk '{print $2}')
    last=$(grep -E '^#[0-9]+' "$OUT/logs/$t.log" | tail -1 | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9/a-zA-Z]*' || true)
    echo "$t rc=$rc wall=$(( $(date +%s) - start ))s cpu=${cpu}s execs=${execs:-?} $last" \
        | tee -a "$OUT/campaign.txt"
    # 0: FUZZ_RUNS done; 72: stopped at the CPU limit (SIGINT); anything else is a finding.
    [ "$rc" -eq 0 ] || [ "$rc" -eq 72 ]
}
export -f one
export OUT ROOT RUNS CPU_LIMIT BIN
printf '%s\n' "$@" | xargs -P "$JOBS" -I{} bash -c 'one {}'
