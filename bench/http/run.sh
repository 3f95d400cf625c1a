#!/usr/bin/env bash
# HTTP/1.1 load benchmark: imp's server (examples/http/server.scm) against the
# same server on Node, Guile, Python asyncio and Python's threading server,
# driven by wrk. Prints a table and writes it to bench/http/results/latest.txt.
#
#   bench/http/run.sh [-d SECONDS] [-c LIST] [impls...]
#   bench/http/run.sh --saves [-d SECONDS]
#
# Implementations: imp node guile asyncio threading (default: all).
# Each server runs pinned to CPU 0, wrk (one thread) to CPU 1.
#
# Environment:
#   IMP_BIN         the imp binary (otherwise: cargo build --release -p imp-repl
#                   and target/release/imp)
#   IMP_SERVER_CMD  the whole command that starts imp's server, with the word
#                   PORT standing for the port (e.g. an image: './srv.img PORT');
#                   when set, IMP_BIN and examples/http/server.scm are not used
#
# See bench/http/README.md.
set -euo pipefail

HTTP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HTTP_DIR/../.." && pwd)
IMP_SERVER_SCM=examples/http/server.scm   # relative to ROOT
ALL_IMPLS=(imp node guile asyncio threading)

SERVER_CPU=0
WRK_CPU=1
WARMUP=2            # seconds of warm-up before each measured run
STARTUP_TIMEOUT=10  # seconds to wait for "listening on PORT"
CLOSE_TIMEOUT=10    # seconds to wait for the warm-up's connections to close
WRK_TIMEOUT=10s     # wrk --timeout
JSON_CONNS=100      # connections for the one /json run
SAVES_CONNS=100     # connections for --saves

COMMAND_LINE="bench/http/run.sh"
for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./,:=+@%-]+$ ]]; then
        COMMAND_LINE+=" $arg"
    else
        COMMAND_LINE+=" $(printf '%q' "$arg")"
    fi
done
[[ -n ${IMP_SERVER_CMD:-} ]] && COMMAND_LINE="IMP_SERVER_CMD=$(printf '%q' "$IMP_SERVER_CMD") $COMMAND_LINE"
[[ -n ${IMP_BIN:-} ]] && COMMAND_LINE="IMP_BIN=$(printf '%q' "$IMP_BIN") $COMMAND_LINE"

usage() {
    cat <<EOF
usage: bench/http/run.sh [-d SECONDS] [-c LIST] [impls...]
       bench/http/run.sh --saves [-d SECONDS]

  -d SECONDS  length of each measured wrk run (default 10)
  -c LIST     comma-separated connection counts for GET / (default 1,100,1000)
  impls       any of: ${ALL_IMPLS[*]} (default: all)
  --saves     imp only: GET / at $SAVES_CONNS connections with the server saving
              an image of a 100 MB heap every 2 s, and without

IMP_BIN=path runs that imp instead of building it; IMP_SERVER_CMD='cmd PORT'
replaces the whole imp server command.
EOF
}

die() {
    echo "run.sh: $*" >&2
    exit 2
}

note() {
    echo "run.sh: $*" >&2
}

# --- arguments --------------------------------------------------------------
SAVES=0
ARGS=()
for arg in "$@"; do
    case $arg in
        --saves) SAVES=1 ;;
        --help) usage; exit 0 ;;
        *) ARGS+=("$arg") ;;
    esac
done
set -- ${ARGS[@]+"${ARGS[@]}"}

DURATION=10
CONN_LIST=1,100,1000
while getopts ":d:c:h" opt; do
    case $opt in
        d) DURATION=$OPTARG ;;
        c) CONN_LIST=$OPTARG ;;
        h) usage; exit 0 ;;
        :) usage >&2; die "-$OPTARG needs a value" ;;
        *) usage >&2; die "unknown option -$OPTARG" ;;
    esac
done
shift $((OPTIND - 1))

[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "-d wants a whole number of seconds, not '$DURATION'"
IFS=, read -r -a CONNS <<<"$CONN_LIST"
[[ ${#CONNS[@]} -gt 0 ]] || die "-c wants a list of connection counts"
for c in "${CONNS[@]}"; do
    [[ $c =~ ^[1-9][0-9]*$ ]] || die "-c wants positive connection counts, not '$c'"
done

if [[ $SAVES == 1 ]]; then
    for i in "$@"; do
        [[ $i == imp ]] || die "--saves runs imp only, not '$i'"
    done
    REQUESTED=(imp)
elif [[ $# -gt 0 ]]; then
    REQUESTED=("$@")
    for i in "${REQUESTED[@]}"; do
        [[ " ${ALL_IMPLS[*]} " == *" $i "* ]] || { usage >&2; die "unknown implementation '$i'"; }
    done
else
    REQUESTED=("${ALL_IMPLS[@]}")
fi

# --- tools: install what is missing ----------------------------------------
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        return 1
    fi
}

APT_UPDATED=0
# apt_install PACKAGE: install one Debian package; non-zero on failure.
apt_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    if [[ $APT_UPDATED == 0 ]]; then
        APT_UPDATED=1
        note "apt-get update"
        as_root apt-get update -qq >&2 || note "apt-get update failed; trying to install anyway"
    fi
    note "installing $1"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >&2
}

# ensure COMMAND PACKAGE: make COMMAND available; non-zero if it cannot be.
ensure() {
    command -v "$1" >/dev/null 2>&1 && return 0
    apt_install "$2" || true
    command -v "$1" >/dev/null 2>&1
}

ensure wrk wrk || die "wrk is not on PATH and 'apt-get install wrk' failed"
ensure python3 python3 || die "python3 (for the answer check) is not on PATH and could not be installed"
ensure ss iproute2 || die "ss is not on PATH and 'apt-get install iproute2' failed"
ensure taskset util-linux || die "taskset is not on PATH and could not be installed"
command -v timeout >/dev/null 2>&1 || die "timeout (coreutils) is not on PATH"
# The interpreter itself, not a version manager's shim: its pid is the
# server's pid, whose peak RSS is read.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')

NOTES=()
IMPLS=()
for impl in "${REQUESTED[@]}"; do
    case $impl in
        node) ensure node nodejs || { note "leaving out node: 'node' not found and 'apt-get install nodejs' failed"
                                       NOTES+=("node left out: not on PATH and could not be installed"); continue; } ;;
        guile) ensure guile guile-3.0 || { note "leaving out guile: 'guile' not found and 'apt-get install guile-3.0' failed"
                                           NOTES+=("guile left out: not on PATH and could not be installed"); continue; } ;;
    esac
    IMPLS+=("$impl")
done
[[ ${#IMPLS[@]} -gt 0 ]] || die "no implementation left to run"

# --- imp: the command that starts its server ----------------------------------
IMP_STATE=""   # "" when imp can run, else the text for its cells
IMP_WHY=""
IMP=""
if [[ " ${IMPLS[*]} " == *" imp "* ]]; then
    if [[ -n ${IMP_SERVER_CMD:-} ]]; then
        note "imp server command: $IMP_SERVER_CMD"
    elif [[ ! -f $ROOT/$IMP_SERVER_SCM ]]; then
        IMP_STATE=SERVER-FAIL
        IMP_WHY="$IMP_SERVER_SCM does not exist"
    elif [[ -n ${IMP_BIN:-} ]]; then
        IMP=$IMP_BIN
        # The server runs from the repository root: make a relative path
        # absolute first.
        if [[ $IMP == */* && $IMP != /* && -d $(dirname "$IMP") ]]; then
            IMP=$(cd "$(dirname "$IMP")" && pwd)/$(basename "$IMP")
        fi
        if [[ $IMP == */* && ! -x $IMP ]] || ! command -v "$IMP" >/dev/null 2>&1; then
            IMP_STATE=SERVER-FAIL
            IMP_WHY="IMP_BIN=$IMP_BIN is not an executable"
        else
            note "using IMP_BIN=$IMP"
        fi
    else
        IMP=$ROOT/target/release/imp
        note "building imp: cargo build --release -p imp-repl"
        if ! (cd "$ROOT" && cargo build --release -p imp-repl) >&2; then
            IMP_STATE=BUILD-FAIL
            IMP_WHY="'cargo build --release -p imp-repl' failed"
        fi
    fi
    [[ -n $IMP_STATE ]] && note "imp: $IMP_WHY; its cells read $IMP_STATE"
fi

# server_cmd IMPL PORT: sets CMD, the command array that starts that server.
server_cmd() {
    local port=$2
    case $1 in
        imp)
            if [[ -n ${IMP_SERVER_CMD:-} ]]; then
                CMD=(sh -c "exec ${IMP_SERVER_CMD//PORT/$port}")
            else
                CMD=("$IMP" "$IMP_SERVER_SCM" "$port")
            fi ;;
        node) CMD=(node "$HTTP_DIR/node.js" "$port") ;;
        # Pinned to one CPU, Guile's collector would still start a marker
        # thread per CPU it sees; GC_MARKERS=1 keeps it to one.
        guile) CMD=(env GC_MARKERS=1 guile "$HTTP_DIR/guile.scm" "$port") ;;
        asyncio) CMD=("$PYTHON" "$HTTP_DIR/asyncio_proto.py" "$port") ;;
        threading) CMD=("$PYTHON" "$HTTP_DIR/threading_server.py" "$port") ;;
    esac
}

# --- limits -----------------------------------------------------------------
max_conns=$JSON_CONNS
for c in "${CONNS[@]}"; do
    if (( c > max_conns )); then max_conns=$c; fi
done
hard=$(ulimit -Hn)
if [[ $hard == unlimited ]]; then ulimit -n 1048576 2>/dev/null || true; else ulimit -n "$hard" 2>/dev/null || true; fi
if (( $(ulimit -n) < max_conns + 64 )); then
    note "open-file limit $(ulimit -n) is low for $max_conns connections"
    NOTES+=("open-file limit $(ulimit -n): runs with $max_conns connections may fail to connect")
fi
SOMAXCONN=$(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo '?')
if [[ $SOMAXCONN =~ ^[0-9]+$ ]] && (( SOMAXCONN < 4096 )); then
    NOTES+=("net.core.somaxconn is $SOMAXCONN: listen backlogs are cut to that")
fi
NCPU=$(nproc)
if (( NCPU < 2 )); then
    WRK_CPU=0
    NOTES+=("one CPU only: the server and wrk share CPU 0")
fi

# --- files --------------------------------------------------------------------
RESULTS=$HTTP_DIR/results
LOGS=$RESULTS/logs
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log

# --- processes ---------------------------------------------------------------
SERVER_PID=""
SAVE_DIR=""

# descendants PID: PID and every process below it, one a line.
descendants() {
    local kid
    echo "$1"
    for kid in $(pgrep -P "$1" 2>/dev/null || true); do
        descendants "$kid"
    done
}

stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    local pids p i
    pids=$(descendants "$SERVER_PID")
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    for ((i = 0; i < 30; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

cleanup() {
    stop_server
    [[ -n $SAVE_DIR ]] && rm -rf "$SAVE_DIR"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

NEXT_PORT=21000
# free_port: a port with no socket on it in any state; sets PORT.
free_port() {
    while [[ -n $(ss -Htan "( sport = :$NEXT_PORT )" 2>/dev/null) ]]; do
        NEXT_PORT=$((NEXT_PORT + 1))
    done
    PORT=$NEXT_PORT
    NEXT_PORT=$((NEXT_PORT + 1))
}

# start_server IMPL [ENV=VALUE...]: starts it pinned to SERVER_CPU and waits
# for its "listening on PORT" line. Sets SERVER_PID and PORT; on failure
# returns 1 with the reason in WHY.
start_server() {
    local impl=$1 i line
    shift
    free_port
    server_cmd "$impl" "$PORT"
    SERVER_OUT=$LOGS/$impl-server.log
    SERVER_ERR=$LOGS/$impl-server-stderr.log
    [[ $SAVES == 1 ]] && SERVER_OUT=$LOGS/$impl-$LABEL-server.log SERVER_ERR=$LOGS/$impl-$LABEL-server-stderr.log
    note "starting $impl on port $PORT: $* ${CMD[*]}"
    (cd "$ROOT" && exec env "$@" taskset -c "$SERVER_CPU" "${CMD[@]}" \
        >"$SERVER_OUT" 2>"$SERVER_ERR" </dev/null) &
    SERVER_PID=$!
    for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
        if grep -qx "listening on $PORT" "$SERVER_OUT" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            local rc=0
            wait "$SERVER_PID" 2>/dev/null || rc=$?
            SERVER_PID=""
            line=$(tail -n 1 "$SERVER_ERR" 2>/dev/null || true)
            WHY="exited with status $rc before 'listening on $PORT'${line:+: $line} (see results/logs/$(basename "$SERVER_ERR"))"
            return 1
        fi
        sleep 0.1
    done
    WHY="no 'listening on $PORT' line within ${STARTUP_TIMEOUT} s (see results/logs/$(basename "$SERVER_OUT"))"
    stop_server
    return 1
}

# peak_rss_mib: VmHWM of the server and everything under it, summed, in MiB.
peak_rss_mib() {
    local kb=0 p v
    for p in $(descendants "$SERVER_PID"); do
        v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
        [[ -n $v ]] && kb=$((kb + v))
    done
    if (( kb == 0 )); then echo "-"; else awk -v k="$kb" 'BEGIN {printf "%.1f", k / 1024}'; fi
}

# wait_closed: until no established connection is left on PORT's server side.
wait_closed() {
    local i
    for ((i = 0; i < CLOSE_TIMEOUT * 10; i++)); do
        [[ -z $(ss -Htn state established "( sport = :$PORT )" 2>/dev/null) ]] && return 0
        sleep 0.1
    done
    local left
    left=$(ss -Htn state established "( sport = :$PORT )" 2>/dev/null | wc -l)
    note "$left connections still established on port $PORT after ${CLOSE_TIMEOUT} s; measuring anyway"
    NOTES+=("$CUR_IMPL: $left warm-up connections still open after ${CLOSE_TIMEOUT} s before a run")
}

# wrk_run CONNS SECONDS PATH LOG: one pinned wrk run; returns its status.
wrk_run() {
    BENCH_CONNECTIONS=$1 timeout --foreground $(($2 + 60)) taskset -c "$WRK_CPU" wrk -t1 -c"$1" -d"$2"s --latency \
        --timeout "$WRK_TIMEOUT" -s "$HTTP_DIR/report.lua" \
        "http://127.0.0.1:$PORT$3" >"$4" 2>&1
}

# measure CONNS PATH: warm-up, wait for its connections to close, measured
# run. Sets the R_* figures, or R_STATE to the text for a failed run.
measure() {
    local conns=$1 path=$2 tag log line
    tag=${path#/}
    tag=${tag:-root}
    log=$LOGS/$CUR_IMPL${LABEL:+-$LABEL}-$tag-c$conns
    R_STATE=""
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then R_STATE=DIED; return; fi
    note "$CUR_IMPL${LABEL:+ ($LABEL)}: GET $path, $conns connections: warm-up ${WARMUP} s"
    wrk_run "$conns" "$WARMUP" "$path" "$log-warmup.log" ||
        note "warm-up wrk exited non-zero (see $log-warmup.log)"
    wait_closed
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then R_STATE=DIED; return; fi
    note "$CUR_IMPL${LABEL:+ ($LABEL)}: GET $path, $conns connections: ${DURATION} s"
    if ! wrk_run "$conns" "$DURATION" "$path" "$log.log"; then
        R_STATE=WRK-FAIL
        NOTES+=("$CUR_IMPL GET $path -c$conns: wrk failed, see results/logs/$(basename "$log").log")
        return
    fi
    line=$(grep '^RESULT ' "$log.log" | tail -n 1 || true)
    if [[ -z $line ]]; then
        R_STATE=WRK-FAIL
        NOTES+=("$CUR_IMPL GET $path -c$conns: no RESULT line from wrk, see results/logs/$(basename "$log").log")
        return
    fi
    local kv k v
    declare -gA R=()
    for kv in ${line#RESULT }; do
        k=${kv%%=*} v=${kv#*=}
        R[$k]=$v
    done
    R_RPS=$(awk -v n="${R[requests]}" -v us="${R[duration_us]}" 'BEGIN {printf "%.0f", (us > 0 ? n / (us / 1e6) : 0)}')
    R_P50=$(ms "${R[p50_us]}")
    R_P99=$(ms "${R[p99_us]}")
    # shellcheck disable=SC2004
    R_SOCK=$((${R[connect]} + ${R[read]} + ${R[write]} + ${R[timeout]}))
    R_STATUS=${R[status]}
    R_ERRORS=$((R_SOCK + R_STATUS))
    R_OVER=${R[over2s]}
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        NOTES+=("$CUR_IMPL: the server died during GET $path -c$conns")
    fi
}

ms() {
    awk -v us="$1" 'BEGIN {printf "%.2f", us / 1000}'
}

# --- the report --------------------------------------------------------------
ROWS=()   # tab-separated cells

machine_lines() {
    local cpu
    cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
    echo "machine: $NCPU CPUs${cpu:+ ($cpu)}, $(uname -sr); server on CPU $SERVER_CPU, wrk -t1 on CPU $WRK_CPU"
    echo "wrk: $(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}'); somaxconn $SOMAXCONN; open-file limit $(ulimit -n)"
    local impl
    for impl in "${IMPLS[@]}"; do
        case $impl in
            imp)
                if [[ -n $IMP_STATE ]]; then
                    echo "imp: $IMP_STATE ($IMP_WHY)"
                elif [[ -n ${IMP_SERVER_CMD:-} ]]; then
                    echo "imp: IMP_SERVER_CMD=$IMP_SERVER_CMD"
                else
                    echo "imp: ${IMP:-?} $IMP_SERVER_SCM (commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ', with local changes'))"
                fi ;;
            node) echo "node: $(node --version 2>&1)" ;;
            guile) echo "guile: $(guile --version 2>&1 | head -n 1)" ;;
            asyncio|threading) echo "$impl: $("$PYTHON" --version 2>&1)" ;;
        esac
    done
}

# print_table HEADER_CELLS...: formats ROWS under those headers.
print_table() {
    local header
    header=$(IFS=$'\t'; echo "$*")
    { echo "$header"; printf '%s\n' "${ROWS[@]}"; } |
        awk -F'\t' '
            { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
              if (NF > nf) nf = NF }
            END {
                for (r = 1; r <= NR; r++) {
                    line = ""
                    for (i = 1; i <= nf; i++) {
                        # text columns left, figures right
                        if (i <= 2) line = line sprintf("%-" w[i] "s", cell[r, i])
                        else line = line sprintf("%" w[i] "s", cell[r, i])
                        if (i < nf) line = line "  "
                    }
                    print line
                }
            }'
}

write_report() {
    local out=$RESULTS/latest.txt
    {
        echo "bench/http $(date -u '+%Y-%m-%d %H:%M:%S UTC'): $COMMAND_LINE"
        machine_lines
        echo
        print_table "$@"
        if [[ ${#NOTES[@]} -gt 0 ]]; then
            echo
            printf 'note: %s\n' "${NOTES[@]}"
        fi
    } >"$out"
    echo
    cat "$out"
    echo
    echo "(written to ${out#"$ROOT"/}; wrk and server output in ${LOGS#"$ROOT"/}/)"
}

# --- --saves: imp with and without image saves ---------------------------------
if [[ $SAVES == 1 ]]; then
    CUR_IMPL=imp
    for LABEL in saves no-saves; do
        if [[ -n $IMP_STATE ]]; then
            ROWS+=("imp"$'\t'"$LABEL"$'\t'"$IMP_STATE"$'\t-\t-\t-\t-\t-\t-')
            continue
        fi
        envs=(IMP_HTTP_HEAP_MB=100)
        if [[ $LABEL == saves ]]; then
            SAVE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/imp-http-saves.XXXXXX")
            envs+=(IMP_HTTP_SAVE_EVERY=2 "IMP_HTTP_SAVE_DIR=$SAVE_DIR")
        fi
        if ! start_server imp "${envs[@]}"; then
            ROWS+=("imp"$'\t'"$LABEL"$'\t'"SERVER-FAIL"$'\t-\t-\t-\t-\t-\t-')
            NOTES+=("imp ($LABEL): $WHY")
        elif ! why=$("$PYTHON" "$HTTP_DIR/check.py" "$PORT" 2>&1); then
            ROWS+=("imp"$'\t'"$LABEL"$'\t'"WRONG"$'\t-\t-\t-\t-\t-\t-')
            NOTES+=("imp ($LABEL) answered wrongly: $why")
        else
            measure "$SAVES_CONNS" /
            rss=$(peak_rss_mib)
            files="-"
            if [[ -n $SAVE_DIR ]]; then
                files=$(find "$SAVE_DIR" -type f -printf '%s\n' |
                    awk '{n++; b += $1} END {printf "%d (%.0f MiB)", n, b / 1048576}')
            fi
            if [[ -n $R_STATE ]]; then
                ROWS+=("imp"$'\t'"$LABEL"$'\t'"$R_STATE"$'\t-\t-\t-\t-\t'"$rss"$'\t'"$files")
            else
                ROWS+=("imp"$'\t'"$LABEL"$'\t'"$R_RPS"$'\t'"$R_P99"$'\t'"$R_SOCK"$'\t'"$R_STATUS"$'\t'"$R_OVER"$'\t'"$rss"$'\t'"$files")
            fi
        fi
        stop_server
        if [[ -n $SAVE_DIR ]]; then rm -rf "$SAVE_DIR"; SAVE_DIR=""; fi
    done
    [[ -n $IMP_STATE ]] && NOTES+=("imp: $IMP_WHY")
    NOTES+=("GET / at $SAVES_CONNS connections for ${DURATION} s after a ${WARMUP} s warm-up; both runs with IMP_HTTP_HEAP_MB=100, the saves run also with IMP_HTTP_SAVE_EVERY=2 and IMP_HTTP_SAVE_DIR=<temporary directory>")
    write_report impl run req/s "p99 ms" "socket errors" non-2xx/3xx ">2s" "RSS MiB" "files saved"
    exit 0
fi

# --- the comparison ------------------------------------------------------------
LABEL=""
for CUR_IMPL in "${IMPLS[@]}"; do
    runs=()
    for c in "${CONNS[@]}"; do runs+=("/ $c"); done
    runs+=("/json $JSON_CONNS")

    state=""
    if [[ $CUR_IMPL == imp && -n $IMP_STATE ]]; then
        state=$IMP_STATE
        NOTES+=("imp: $IMP_WHY")
    elif ! start_server "$CUR_IMPL"; then
        state=SERVER-FAIL
        note "$CUR_IMPL: $WHY"
        NOTES+=("$CUR_IMPL: $WHY")
    elif ! why=$("$PYTHON" "$HTTP_DIR/check.py" "$PORT" 2>&1); then
        state=WRONG
        note "$CUR_IMPL answered wrongly: $why"
        NOTES+=("$CUR_IMPL answered wrongly: $why")
    fi
    if [[ -n $state ]]; then
        for run in "${runs[@]}"; do
            read -r path c <<<"$run"
            ROWS+=("$CUR_IMPL"$'\t'"$path"$'\t'"$c"$'\t'"$state"$'\t-\t-\t-\t-\t-')
        done
        stop_server
        continue
    fi

    cells=()
    for run in "${runs[@]}"; do
        read -r path c <<<"$run"
        measure "$c" "$path"
        if [[ -n $R_STATE ]]; then
            cells+=("$path"$'\t'"$c"$'\t'"$R_STATE"$'\t-\t-\t-\t-')
        else
            cells+=("$path"$'\t'"$c"$'\t'"$R_RPS"$'\t'"$R_P50"$'\t'"$R_P99"$'\t'"$R_ERRORS"$'\t'"$R_OVER")
        fi
    done
    rss=$(peak_rss_mib)
    for cell in "${cells[@]}"; do
        ROWS+=("$CUR_IMPL"$'\t'"$cell"$'\t'"$rss")
    done
    stop_server
done

write_report impl path conns req/s "p50 ms" "p99 ms" errors ">2s" "RSS MiB"
