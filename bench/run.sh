#!/usr/bin/env bash
# Run imp's benchmark programs under imp and its peers and print a table.
#
#   bench/run.sh [-n RUNS] [-b bench1,bench2] [-t TIMEOUT] [peers...]
#
# Peers: imp lua5.4 guile csi gsi (the default is all five). A benchmark is any
# file name present in bench/scheme/ (*.scm) or bench/lua/ (*.lua); its
# expected output is bench/expected/<bench>.out. See bench/README.md.
#
# Environment:
#   IMP_BIN    use this imp binary instead of building target/release/imp
#   BENCH_PIN  pin every timed process to this CPU list (taskset -c)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
COMMAND_LINE=""
for arg in "$0" "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./,:=+@%-]+$ ]]; then
        COMMAND_LINE+=" $arg"
    else
        COMMAND_LINE+=" $(printf '%q' "$arg")"
    fi
done
COMMAND_LINE=${COMMAND_LINE# }
[[ -n ${IMP_BIN:-} ]] && COMMAND_LINE="IMP_BIN=$(printf '%q' "$IMP_BIN") $COMMAND_LINE"
[[ -n ${BENCH_PIN:-} ]] && COMMAND_LINE="BENCH_PIN=$(printf '%q' "$BENCH_PIN") $COMMAND_LINE"

ALL_PEERS=(imp lua5.4 guile csi gsi)
# Preferred row order; any other benchmark found is appended alphabetically.
ORDER=(startup fib tak nqueens bintrees strhash closures deeprec
    threads spawn pingpong)
# Benchmarks that use threads and channels. An implementation without
# suitable ones of its own gets its THREAD_PRELUDE in front of these
# (see impl_setup and bench/README.md).
declare -A THREAD_BENCH=([threads]=1 [spawn]=1 [pingpong]=1)

usage() {
    cat <<EOF
usage: bench/run.sh [-n RUNS] [-b bench1,bench2] [-t TIMEOUT] [peers...]

  -n RUNS     timed runs per pair (default: 5, or 3 when the check run took
              more than 5 s)
  -b LIST     comma-separated benchmarks (default: every one found)
  -t TIMEOUT  seconds allowed per run (default: 120)
  peers       any of: ${ALL_PEERS[*]} (default: all)

IMP_BIN=path uses that imp instead of building it; BENCH_PIN=CPUS pins runs.
EOF
}

die() {
    echo "run.sh: $*" >&2
    exit 2
}

note() {
    echo "run.sh: $*" >&2
}

RUNS=""
BENCH_LIST=""
TIMEOUT=120
while getopts ":n:b:t:h" opt; do
    case $opt in
        n) RUNS=$OPTARG ;;
        b) BENCH_LIST=$OPTARG ;;
        t) TIMEOUT=$OPTARG ;;
        h) usage; exit 0 ;;
        :) usage >&2; die "-$OPTARG needs a value" ;;
        *) usage >&2; die "unknown option -$OPTARG" ;;
    esac
done
shift $((OPTIND - 1))

if [[ -n $RUNS && ! $RUNS =~ ^[1-9][0-9]*$ ]]; then
    die "-n wants a positive integer, not '$RUNS'"
fi
if [[ ! $TIMEOUT =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    die "-t wants a number of seconds, not '$TIMEOUT'"
fi

command -v python3 >/dev/null 2>&1 || die "python3 is needed for bench/timer.py"

if [[ $# -gt 0 ]]; then
    PEERS=("$@")
else
    PEERS=("${ALL_PEERS[@]}")
fi

# --- implementations --------------------------------------------------------
# impl_setup NAME sets, for one implementation:
#   LANG_DIR  directory under bench/ holding its sources
#   EXT       source file extension
#   PRELUDE   file put in front of each program ("" for none)
#   THREAD_PRELUDE  file put after PRELUDE in front of each benchmark listed
#             in THREAD_BENCH ("" for none)
#   PKG       Debian package that provides it ("" for none)
#   EXE       the program that must be on PATH (or the imp binary)
#   RUN       the command, as an array; the program file is appended
impl_setup() {
    PRELUDE=""
    THREAD_PRELUDE=""
    PKG=""
    case $1 in
        imp)
            LANG_DIR=scheme EXT=scm EXE=$IMP
            RUN=("$IMP") ;;
        lua5.4)
            LANG_DIR=lua EXT=lua EXE=lua5.4 PKG=lua5.4
            RUN=(lua5.4) ;;
        guile)
            LANG_DIR=scheme EXT=scm EXE=guile PKG=guile-3.0
            PRELUDE=$BENCH_DIR/prelude/guile.scm
            THREAD_PRELUDE=$BENCH_DIR/prelude/green-threads.scm
            RUN=(guile)
            # Pinned to one CPU, Guile's collector would start a marker
            # thread per CPU it sees and they would contend for the one.
            if [[ -n ${BENCH_PIN:-} && $BENCH_PIN != *[,-]* ]]; then
                RUN=(env GC_MARKERS=1 guile)
            fi ;;
        csi)
            LANG_DIR=scheme EXT=scm EXE=csi PKG=chicken-bin
            PRELUDE=$BENCH_DIR/prelude/chicken.scm
            THREAD_PRELUDE=$BENCH_DIR/prelude/green-threads.scm
            RUN=(csi -s) ;;
        gsi)
            LANG_DIR=scheme EXT=scm EXE=gsi PKG=gambc
            PRELUDE=$BENCH_DIR/prelude/gambit.scm
            RUN=(gsi) ;;
        *)
            return 1 ;;
    esac
}

for peer in "${PEERS[@]}"; do
    IMP=imp impl_setup "$peer" || { usage >&2; die "unknown peer '$peer'"; }
done

# --- benchmarks -------------------------------------------------------------
declare -A FOUND=()
for f in "$BENCH_DIR"/scheme/*.scm "$BENCH_DIR"/lua/*.lua; do
    [[ -e $f ]] || continue
    name=$(basename "$f")
    FOUND[${name%.*}]=1
done

BENCHES=()
if [[ -n $BENCH_LIST ]]; then
    IFS=, read -r -a wanted <<<"$BENCH_LIST"
    for b in "${wanted[@]}"; do
        [[ -n $b ]] || continue
        [[ -n ${FOUND[$b]:-} ]] || die "no benchmark '$b' in bench/scheme or bench/lua"
        BENCHES+=("$b")
    done
else
    declare -A LISTED=()
    for b in "${ORDER[@]}"; do
        if [[ -n ${FOUND[$b]:-} ]]; then
            BENCHES+=("$b")
            LISTED[$b]=1
        fi
    done
    while IFS= read -r b; do
        [[ -n $b && -z ${LISTED[$b]:-} ]] && BENCHES+=("$b")
    done < <(printf '%s\n' "${!FOUND[@]}" | sort)
fi
[[ ${#BENCHES[@]} -gt 0 ]] || die "no benchmarks selected"

# --- peers: install what is missing ------------------------------------------
NOTES=()
IMPLS=()
MISSING=()
for peer in "${PEERS[@]}"; do
    [[ $peer == imp ]] && continue
    impl_setup "$peer"
    command -v "$EXE" >/dev/null 2>&1 || MISSING+=("$peer")
done

declare -A INSTALL_FAILED=()
if [[ ${#MISSING[@]} -gt 0 ]]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        for peer in "${MISSING[@]}"; do INSTALL_FAILED[$peer]=1; done
    else
        note "installing missing peers: ${MISSING[*]} (apt-get update first)"
        apt-get update -qq >&2 || note "apt-get update failed; trying to install anyway"
        for peer in "${MISSING[@]}"; do
            impl_setup "$peer"
            if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$PKG" >&2 ||
                ! command -v "$EXE" >/dev/null 2>&1; then
                INSTALL_FAILED[$peer]=1
            fi
        done
    fi
fi

for peer in "${PEERS[@]}"; do
    if [[ -n ${INSTALL_FAILED[$peer]:-} ]]; then
        impl_setup "$peer"
        note "skipping $peer: '$EXE' is not on PATH and installing $PKG failed"
        NOTES+=("$peer skipped: '$EXE' not found and 'apt-get install $PKG' failed")
    else
        IMPLS+=("$peer")
    fi
done

# --- imp: build it unless IMP_BIN says where it is ---------------------------
IMP_STATE=""   # "" when usable, else the text for its cells
IMP=${IMP_BIN:-}
for peer in "${IMPLS[@]}"; do
    [[ $peer == imp ]] || continue
    if [[ -n $IMP ]]; then
        note "using IMP_BIN=$IMP"
    else
        IMP=$ROOT/target/release/imp
        note "building imp: cargo build --release -p imp-repl"
        if ! (cd "$ROOT" && cargo build --release -p imp-repl) >&2; then
            note "building imp failed; its cells read BUILD-FAIL"
            IMP_STATE=BUILD-FAIL
            NOTES+=("imp: 'cargo build --release -p imp-repl' failed")
        fi
    fi
done
[[ ${#IMPLS[@]} -gt 0 ]] || die "no implementation left to run"

# --- running ----------------------------------------------------------------
RESULTS=$BENCH_DIR/results
WORK=$RESULTS/work
LOGS=$RESULTS/logs
mkdir -p "$WORK" "$LOGS"
rm -f "$LOGS"/*.out "$LOGS"/*.err

PIN=()
if [[ -n ${BENCH_PIN:-} ]]; then
    PIN=(taskset -c "$BENCH_PIN")
fi

# time_run OUT ERR CMD... : runs CMD under the timer; sets T_WALL T_MIB T_STATUS.
time_run() {
    local out=$1 err=$2 line
    shift 2
    line=$(python3 -S "$BENCH_DIR/timer.py" --timeout "$TIMEOUT" \
        --stdout "$out" --stderr "$err" -- "${PIN[@]}" "$@") || line=""
    read -r T_WALL T_MIB T_STATUS <<<"${line:-0 0 NOTIMER}"
}

# status_cell STATUS: the cell text for a failed run.
status_cell() {
    case $1 in
        TIMEOUT) echo TIMEOUT ;;
        *) echo FAIL ;;
    esac
}

median() {
    printf '%s\n' "$@" | sort -g | awk '
        { v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# first_error_line FILE: the first non-blank line of FILE that is not a
# Guile auto-compile note, shortened.
first_error_line() {
    grep -v -e '^;;;' -e '^[[:space:]]*$' "$1" 2>/dev/null | head -n 1 | cut -c 1-100 || true
}

# add_note TEXT ERRFILE: a note for the report, with the first line of
# the failed run's stderr when it has one.
add_note() {
    local line
    line=$(first_error_line "$2")
    NOTES+=("$1${line:+: $line}")
}

declare -A CELL=() WALL=()

for bench in "${BENCHES[@]}"; do
    expected=$BENCH_DIR/expected/$bench.out
    for impl in "${IMPLS[@]}"; do
        impl_setup "$impl"
        key=$bench,$impl
        src=$BENCH_DIR/$LANG_DIR/$bench.$EXT
        if [[ ! -f $src ]]; then
            CELL[$key]="-"
            continue
        fi
        if [[ $impl == imp && -n $IMP_STATE ]]; then
            CELL[$key]=$IMP_STATE
            continue
        fi
        preludes=()
        [[ -n $PRELUDE ]] && preludes+=("$PRELUDE")
        if [[ -n $THREAD_PRELUDE && -n ${THREAD_BENCH[$bench]:-} ]]; then
            preludes+=("$THREAD_PRELUDE")
        fi
        if [[ ${#preludes[@]} -gt 0 ]]; then
            mkdir -p "$WORK/$impl"
            prog=$WORK/$impl/$bench.$EXT
            cat "${preludes[@]}" "$src" >"$prog"
        else
            prog=$src
        fi
        out=$LOGS/$impl.$bench.out
        err=$LOGS/$impl.$bench.err

        # The check run: exit status 0 and exactly the expected output.
        printf '%-10s %-7s check ... ' "$bench" "$impl" >&2
        time_run "$out" "$err" "${RUN[@]}" "$prog"
        check_wall=$T_WALL
        if [[ $T_STATUS != 0 ]]; then
            CELL[$key]=$(status_cell "$T_STATUS")
            case $T_STATUS in
                TIMEOUT) what="over ${TIMEOUT} s" ;;
                NOEXEC) what="could not be started" ;;
                SIG*) what="killed by $T_STATUS" ;;
                *) what="exit $T_STATUS" ;;
            esac
            add_note "$bench under $impl: ${CELL[$key]} ($what)" "$err"
            echo "${CELL[$key]} ($what)" >&2
            continue
        fi
        if [[ ! -f $expected ]] || ! cmp -s "$out" "$expected"; then
            CELL[$key]=WRONG
            if [[ -f $expected ]]; then
                NOTES+=("$bench under $impl: WRONG output, see bench/results/logs/$impl.$bench.out")
            else
                NOTES+=("$bench: no bench/expected/$bench.out to check against")
            fi
            echo "WRONG output" >&2
            continue
        fi
        rm -f "$out" "$err"

        # The timed runs.
        n=${RUNS:-5}
        if [[ -z $RUNS ]] && awk -v w="$check_wall" 'BEGIN { exit !(w > 5) }'; then
            n=3
        fi
        printf 'ok %.3f s; timed (%d):' "$check_wall" "$n" >&2
        walls=() mibs=() failed=""
        for ((i = 1; i <= n; i++)); do
            time_run "$out" "$err" "${RUN[@]}" "$prog"
            if [[ $T_STATUS != 0 ]]; then
                failed=$(status_cell "$T_STATUS")
                add_note "$bench under $impl: timed run $i: $failed (status $T_STATUS)" "$err"
                break
            fi
            if ! cmp -s "$out" "$expected"; then
                failed=WRONG
                NOTES+=("$bench under $impl: timed run $i printed unexpected output")
                break
            fi
            walls+=("$T_WALL")
            mibs+=("$T_MIB")
            printf ' %.3f' "$T_WALL" >&2
        done
        if [[ -n $failed ]]; then
            CELL[$key]=$failed
            echo " $failed" >&2
            continue
        fi
        rm -f "$out" "$err"
        WALL[$key]=$(median "${walls[@]}")
        mib=$(median "${mibs[@]}")
        CELL[$key]=$(awk -v w="${WALL[$key]}" -v m="$mib" 'BEGIN { printf "%.3f (%.0f)", w, m }')
        echo " -> ${CELL[$key]}" >&2
    done
done

# --- the report -------------------------------------------------------------
version_of() {
    local v=""
    case $1 in
        imp)
            if [[ -n $IMP_STATE ]]; then
                v="not built"
            elif [[ -x $IMP ]]; then
                v="$IMP ($(date -u -r "$IMP" '+built %Y-%m-%d %H:%M UTC'))"
            else
                v="$IMP (not an executable file)"
            fi ;;
        lua5.4) v=$(lua5.4 -v 2>&1 | awk '{ print $1, $2; exit }') ;;
        guile) v=$(guile --version 2>&1 | head -n 1) ;;
        csi) v="CHICKEN $(csi -release 2>&1 | head -n 1)" ;;
        gsi) v=$(gsi -v 2>&1 | awk '{ print "Gambit", $1; exit }') ;;
    esac
    echo "$v"
}

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "none (no commit yet)")
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1) ]]; then
    commit="$commit (work tree has changes)"
fi
if [[ -n $RUNS ]]; then
    runs_text="$RUNS timed runs per pair"
else
    runs_text="5 timed runs per pair (3 when the check run took over 5 s)"
fi

# Table rows, tab-separated, then aligned by awk.
RATIO_PEERS=()
HAVE_IMP=""
for impl in "${IMPLS[@]}"; do
    if [[ $impl == imp ]]; then HAVE_IMP=1; else RATIO_PEERS+=("$impl"); fi
done
[[ -n $HAVE_IMP ]] || RATIO_PEERS=()

table() {
    local row impl peer
    row="bench"
    for impl in "${IMPLS[@]}"; do row+=$'\t'"$impl"; done
    for peer in "${RATIO_PEERS[@]}"; do row+=$'\t'"imp/${peer%%[0-9]*}"; done
    echo "$row"
    for bench in "${BENCHES[@]}"; do
        row=$bench
        for impl in "${IMPLS[@]}"; do row+=$'\t'"${CELL[$bench,$impl]:--}"; done
        for peer in "${RATIO_PEERS[@]}"; do
            row+=$'\t'$(awk -v a="${WALL[$bench,imp]:-}" -v b="${WALL[$bench,$peer]:-}" \
                'BEGIN { if (a != "" && b != "" && b > 0) printf "%.2f", a / b; else printf "-" }')
        done
        echo "$row"
    done
}

report() {
    echo "imp benchmarks"
    echo "date:     $(date '+%Y-%m-%d %H:%M:%S %Z')"
    echo "machine:  $(uname -m), ${cpu:-unknown CPU}, $(nproc) CPUs"
    echo "commit:   $commit"
    echo "command:  $COMMAND_LINE"
    echo "runs:     $runs_text; timeout ${TIMEOUT} s per run${BENCH_PIN:+; pinned to CPU $BENCH_PIN}"
    echo "versions:"
    for impl in "${IMPLS[@]}"; do
        printf '  %-7s %s\n' "$impl" "$(version_of "$impl")"
    done
    echo
    table | awk -F'\t' '
        { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
          if (NF > cols) cols = NF }
        END {
            for (r = 1; r <= NR; r++) {
                line = sprintf("%-" w[1] "s", cell[r, 1])
                for (i = 2; i <= cols; i++) line = line sprintf("  %" w[i] "s", cell[r, i])
                print line
            }
        }'
    echo
    echo "Cells: median wall seconds (median peak RSS in MiB), whole process, start-up"
    echo "included. imp/X: imp's median wall time divided by X's (below 1: imp is faster)."
    echo "FAIL: non-zero exit; WRONG: unexpected output; TIMEOUT: over ${TIMEOUT} s;"
    echo "BUILD-FAIL: imp did not build; -: no source or no figure."
    if [[ ${#NOTES[@]} -gt 0 ]]; then
        echo
        echo "Notes:"
        printf '  %s\n' "${NOTES[@]}"
    fi
}

REPORT=$(report)
echo
echo "$REPORT"
printf '%s\n' "$REPORT" >"$RESULTS/latest.txt"
printf '%s\n' "$REPORT" >"$RESULTS/$(date -u '+%Y%m%d-%H%M%S').txt"
echo
echo "written to ${RESULTS#"$ROOT"/}/latest.txt; outputs of failed runs in ${LOGS#"$ROOT"/}/"
