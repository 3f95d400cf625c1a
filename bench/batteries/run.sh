#!/usr/bin/env bash
# The "batteries" benchmark: sorting with a Scheme order against a
# primitive one, SRFI-115 regular expressions over 100 MB beside Python's
# re and grep -E, and SRFI-180 JSON reading of a 100 MB file beside
# Python's json and guile-json. Each figure is the median of RUNS runs.
#
#   bench/batteries/run.sh [-n RUNS] [-m MB]
#
# Environment: IMP_BIN (default: target/release/imp at the repository
# root, built if missing), TMPDIR (where the inputs are made). Peers that
# are not installed are reported as such.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RUNS=3
MB=100
while getopts ":n:m:h" opt; do
    case $opt in
        n) RUNS=$OPTARG ;;
        m) MB=$OPTARG ;;
        *) echo "usage: bench/batteries/run.sh [-n RUNS] [-m MB]" >&2; exit 2 ;;
    esac
done

IMP=${IMP_BIN:-$ROOT/target/release/imp}
if [[ -z ${IMP_BIN:-} ]]; then
    (cd "$ROOT" && cargo build --release -q -p imp-repl)
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/imp-bench-batteries.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

python3 "$HERE/make-data.py" text "$TMP/text.txt" "$MB"
python3 "$HERE/make-data.py" json "$TMP/data.json" "$MB"

# median FIGURE...: the middle of the numbers given.
median() {
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# runs NAME CMD...: run CMD RUNS times; each output line "key ms rest"
# gives R[NAME.key] the median ms and the rest of the last run.
declare -A R
runs() {
    local name=$1 i line key ms rest
    shift
    declare -A all=()
    for ((i = 0; i < RUNS; i++)); do
        while read -r key ms rest; do
            all[$key]+=" $ms"
            R[$name.$key.rest]=$rest
        done < <("$@")
    done
    for key in "${!all[@]}"; do
        # shellcheck disable=SC2086
        R[$name.$key]=$(median ${all[$key]})
    done
}

# wall CMD...: the wall milliseconds of CMD, its output discarded.
wall() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}

runs sort "$IMP" "$HERE/sort.scm"
runs imp-re "$IMP" "$HERE/regexp.scm" "$TMP/text.txt"
runs py-re python3 "$HERE/regexp_search.py" "$TMP/text.txt"
runs imp-json "$IMP" "$HERE/json.scm" "$TMP/data.json"
runs py-json python3 "$HERE/json_read.py" "$TMP/data.json"
GUILE=""
if command -v guile >/dev/null && guile -c '(use-modules (json))' 2>/dev/null; then
    GUILE=yes
    # (its first run compiles the script; guile says so on stderr)
    runs guile-json sh -c 'guile "$0" "$1" 2>/dev/null' "$HERE/json-guile.scm" "$TMP/data.json"
fi
grep_search=() grep_count=()
for ((i = 0; i < RUNS; i++)); do
    grep_search+=("$(wall grep -E -c 'needle-[0-9]+-[[:alpha:]]+' "$TMP/text.txt")")
    grep_count+=("$(wall sh -c "grep -Eo '\\bw[[:alpha:]]+' '$TMP/text.txt' | wc -l")")
done

echo
echo "imp batteries benchmark"
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine:  $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
echo "commit:   $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "command:  bench/batteries/run.sh -n $RUNS -m $MB"
echo "versions: $("$IMP" --version 2>/dev/null | head -1); $(python3 --version 2>&1); $(grep --version | head -1)${GUILE:+; $(guile --version | head -1)}"
echo
echo "Sorting 1,000,000 fixnums (median ms of $RUNS):"
echo "  (lambda: (lambda (a b) (< a b)), which the sort recognizes; called: (lambda (a b) (and (< a b) #t)))"
printf '  %-14s %11s %10s %8s %10s %8s\n' "" "primitive <" "lambda" "ratio" "called" "ratio"
for kind in vector list; do
    p=${R[sort.$kind-primitive]} l=${R[sort.$kind-lambda]} c=${R[sort.$kind-called]}
    printf '  %-14s %11.1f %10.1f %7.1fx %10.1f %7.1fx\n' "$kind-sort" "$p" "$l" \
        "$(awk -v a="$l" -v b="$p" 'BEGIN{print a/b}')" "$c" "$(awk -v a="$c" -v b="$p" 'BEGIN{print a/b}')"
done
echo
echo "Regular expressions over $MB MB of text (median ms of $RUNS; grep: whole process):"
printf '  %-44s %10s %10s %10s\n' "" "imp" "python re" "grep -E"
printf '  %-44s %10.1f %10.1f %10s\n' "search: needle-[0-9]+-[alpha]+ (one match)" \
    "${R[imp-re.search]}" "${R[py-re.search]}" "$(median "${grep_search[@]}")"
printf '  %-44s %10.1f %10.1f %10s\n' "every match of \\bw[alpha]+ (${R[imp-re.count.rest]})" \
    "${R[imp-re.count]}" "${R[py-re.count]}" "$(median "${grep_count[@]}")"
echo
echo "JSON, a $MB MB file of records (median ms of $RUNS):"
printf '  %-44s %10s %10s %10s\n' "" "imp" "python" "guile-json"
if [[ -n $GUILE ]]; then
    guile_read=$(printf '%.1f' "${R[guile-json.read]}")
else
    guile_read="not installed"
fi
printf '  %-44s %10.1f %10.1f %10s\n' "read whole (${R[imp-json.read.rest]} records)" \
    "${R[imp-json.read]}" "${R[py-json.read]}" "$guile_read"
printf '  %-44s %10.1f %10s %10s\n' "stream with json-fold (${R[imp-json.stream.rest]} values)" \
    "${R[imp-json.stream]}" "-" "-"
