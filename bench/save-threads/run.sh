#!/usr/bin/env bash
# Save a program with N busy green threads; report the save child's
# terminate phase (the time to end every other thread) for each N.
#
#   bench/save-threads/run.sh [COUNTS]     default: 1000,10000,100000
#
# IMP_BIN names the imp binary (default: target/release/imp, built if absent).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
COUNTS=${1:-1000,10000,100000}
if [[ -z ${IMP_BIN:-} ]]; then
    (cd "$ROOT" && cargo build --release -p imp-repl >&2)
    IMP_BIN=$ROOT/target/release/imp
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "machine: $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
echo "commit:  $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "command: bench/save-threads/run.sh $COUNTS"
printf '%-8s %-6s %14s %10s\n' threads kind terminate-ms switches
for n in ${COUNTS//,/ }; do
    for kind in spin wind; do
        out=$("$IMP_BIN" "$HERE/threads.scm" "$n" "$kind" "$TMP")
        read -r _ _ us sw <<<"$(tr -d '()' <<<"$out")"
        printf '%-8s %-6s %14.1f %10s\n' "$n" "$kind" "$(echo "$us / 1000" | bc -l)" "$sw"
    done
done
