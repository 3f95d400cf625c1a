#!/usr/bin/env bash
# What checking an image's body costs a start, and what damage to an image
# does (doc/IMAGE-FORMAT.md §8, issue #20 items 12 and 14).
#
#   bench/image-damage/run.sh [-n RUNS] [-f FLIPS] [-t TRUNCATIONS] [-s SIZES]
#
# 1. Builds images of about 1, 100 and 1000 MiB with build.scm (SIZES).
# 2. Times checking a whole body at load (verify-time/: one thread, two).
# 3. Times starting from each image, images in the page cache (each is read
#    whole with cat, then started twice untimed, before the timed runs):
#    the median over RUNS of the whole process `imp --image IMAGE` (its
#    toplevel prints 1 and returns), and of the microseconds from the
#    runtime's creation to the toplevel's first instruction (`entry`).
#    With IMP_BEFORE set, the same for that binary (an imp built before the
#    change), on the same images.
# 4. The damage experiment on the 100 MiB image (damage.py): FLIPS single
#    bit flips and TRUNCATIONS truncations, each run classified.
#
# Environment:
#   IMP_BIN     the imp binary (default: target/release/imp at the repository root)
#   IMP_BEFORE  another imp binary to time starts with (optional)
#   TMPDIR      where the images go (about 1.2 GB)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TIMER=$ROOT/bench/timer.py

COMMAND_LINE="bench/image-damage/run.sh $*"
[[ -n ${IMP_BEFORE:-} ]] && COMMAND_LINE="IMP_BEFORE=$IMP_BEFORE $COMMAND_LINE"
[[ -n ${IMP_BIN:-} ]] && COMMAND_LINE="IMP_BIN=$IMP_BIN $COMMAND_LINE"

RUNS=21
FLIPS=1000
TRUNCATIONS=1000
SIZES=1,100,1000
while getopts ":n:f:t:s:h" opt; do
    case $opt in
        n) RUNS=$OPTARG ;;
        f) FLIPS=$OPTARG ;;
        t) TRUNCATIONS=$OPTARG ;;
        s) SIZES=$OPTARG ;;
        h) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "image-damage/run.sh: bad option (see -h)" >&2; exit 2 ;;
    esac
done
IFS=, read -r -a SIZE_LIST <<<"$SIZES"

IMP=${IMP_BIN:-$ROOT/target/release/imp}
[[ -x $IMP ]] || { echo "image-damage/run.sh: no imp at $IMP (cargo build --release -p imp-repl)" >&2; exit 2; }
BINS=("$IMP")
LABELS=("imp (IMP_BIN)")
if [[ -n ${IMP_BEFORE:-} ]]; then
    BINS+=("$IMP_BEFORE")
    LABELS+=("before (IMP_BEFORE)")
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/imp-bench-damage.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

say() { echo "image-damage/run.sh: $*" >&2; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)
[[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1) ]] && commit="$commit (work tree has changes)"

REPORT=$TMP/report.txt
{
    echo "imp image-damage benchmark"
    echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine:  $(uname -m), $cpu, $(nproc) CPUs, $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
    echo "commit:   $commit"
    echo "command:  $COMMAND_LINE"
    echo
} >"$REPORT"

# 1. The images.
declare -A IMG=()
for s in "${SIZE_LIST[@]}"; do
    IMG[$s]=$TMP/image-$s.img
    say "building the $s MiB image"
    "$IMP" "$HERE/build.scm" "$s" "${IMG[$s]}" >/dev/null
done

# 2. Checking a whole body at load.
say "building verify-time"
(cd "$HERE/verify-time" && cargo build --release --quiet)
{
    echo "Checking the whole body at load (what a load that did it would wait for):"
    for s in "${SIZE_LIST[@]}"; do
        cat "${IMG[$s]}" >/dev/null
        printf '  %5s MiB image: ' "$s"
        "$HERE/verify-time/target/release/imp-bench-verify-time" "${IMG[$s]}" "$RUNS"
    done
    echo
} >>"$REPORT"

# 3. Starts.
{
    echo "Starting from each image (median of $RUNS; images in the page cache):"
    printf '  %-20s %10s %12s %16s\n' binary size "process ms" "load-to-entry us"
} >>"$REPORT"
for k in "${!BINS[@]}"; do
    bin=${BINS[$k]}
    for s in "${SIZE_LIST[@]}"; do
        img=${IMG[$s]}
        cat "$img" >/dev/null
        "$bin" --image "$img" >/dev/null
        "$bin" --image "$img" entry >/dev/null
        walls=() entries=()
        for ((i = 0; i < RUNS; i++)); do
            read -r wall _ status < <(python3 -S "$TIMER" --stdout "$TMP/out" -- "$bin" --image "$img")
            [[ $status == 0 && $(cat "$TMP/out") == 1 ]] || { say "$bin --image $img: status $status"; exit 1; }
            walls+=("$wall")
            entries+=("$("$bin" --image "$img" entry)")
        done
        printf '  %-20s %6s MiB %12.1f %16s\n' "${LABELS[$k]}" "$s" \
            "$(awk -v w="$(median "${walls[@]}")" 'BEGIN { print w * 1000 }')" \
            "$(median "${entries[@]}")" >>"$REPORT"
    done
done
echo >>"$REPORT"

# 4. The damage experiment.
big=${IMG[100]:-${IMG[${SIZE_LIST[0]}]}}
say "damaging $big: $FLIPS flips, $TRUNCATIONS truncations"
{
    echo "Damage experiment: python3 bench/image-damage/damage.py IMP IMAGE --flips $FLIPS --truncations $TRUNCATIONS"
    python3 "$HERE/damage.py" "$IMP" "$big" --flips "$FLIPS" --truncations "$TRUNCATIONS" --work "$TMP"
} >>"$REPORT"

cat "$REPORT"
mkdir -p "$HERE/results"
cp "$REPORT" "$HERE/results/latest.txt"
cp "$REPORT" "$HERE/results/$(date -u '+%Y%m%d-%H%M%S').txt"
