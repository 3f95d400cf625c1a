#!/usr/bin/env bash
# The "images" benchmark: what saving a large running system costs in imp
# (save-application, fork mode), next to Redis's BGSAVE fork and SBCL's
# save-lisp-and-die, and what starting from the saved image costs.
#
#   bench/images/run.sh [-s SIZES] [-n RUNS] [-p PROCS] [-f FORKS] [peers...]
#
# Peers: redis sbcl (default: both). See the "images" section of
# bench/README.md for what each figure is.
#
# Environment:
#   IMP_BIN  the imp binary (default: target/release/imp at the repository root)
#   TMPDIR   where the temporary directory (images, cores, dumps) goes
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TIMER=$ROOT/bench/timer.py

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

usage() {
    cat <<EOF
usage: bench/images/run.sh [-s SIZES] [-n RUNS] [-p PROCS] [-f FORKS] [peers...]

  -s SIZES  comma-separated live-heap sizes in MB (default: 100,1000)
  -n RUNS   start-up runs per image; the median is reported (default: 5)
  -p PROCS  processes started from one image for the memory probe (default: 10)
  -f FORKS  saves (imp) and BGSAVEs (redis) per size; the median pause is
            reported (default: 5)
  peers     any of: redis sbcl (default: both)

IMP_BIN=path names the imp binary (default: target/release/imp).
EOF
}

die() {
    echo "images/run.sh: $*" >&2
    exit 2
}

say() {
    echo "images/run.sh: $*" >&2
}

SIZES=100,1000
RUNS=5
PROCS=10
FORKS=5
while getopts ":s:n:p:f:h" opt; do
    case $opt in
        s) SIZES=$OPTARG ;;
        n) RUNS=$OPTARG ;;
        p) PROCS=$OPTARG ;;
        f) FORKS=$OPTARG ;;
        h) usage; exit 0 ;;
        :) usage >&2; die "-$OPTARG needs a value" ;;
        *) usage >&2; die "unknown option -$OPTARG" ;;
    esac
done
shift $((OPTIND - 1))

[[ $SIZES =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "-s wants sizes like 100,1000, not '$SIZES'"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive integer, not '$RUNS'"
[[ $PROCS =~ ^[1-9][0-9]*$ ]] || die "-p wants a positive integer, not '$PROCS'"
[[ $FORKS =~ ^[1-9][0-9]*$ ]] || die "-f wants a positive integer, not '$FORKS'"
IFS=, read -r -a SIZE_LIST <<<"$SIZES"

PEERS=("$@")
[[ ${#PEERS[@]} -gt 0 ]] || PEERS=(redis sbcl)
declare -A WANT=()
for p in "${PEERS[@]}"; do
    case $p in
        redis | sbcl) WANT[$p]=1 ;;
        *) usage >&2; die "unknown peer '$p'" ;;
    esac
done

command -v python3 >/dev/null 2>&1 || die "python3 is needed for bench/timer.py"

IMP=${IMP_BIN:-$ROOT/target/release/imp}
[[ -x $IMP ]] || die "no imp binary at $IMP: build it (cargo build --release -p imp-repl) or set IMP_BIN"

NOTES=()
START_SECONDS=$SECONDS

# --- peers: install what is missing ------------------------------------------
peer_pkg() { case $1 in redis) echo redis-server ;; sbcl) echo sbcl ;; esac; }
peer_ok() {
    case $1 in
        redis) command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 ;;
        sbcl) command -v sbcl >/dev/null 2>&1 ;;
    esac
}

MISSING=()
for p in "${!WANT[@]}"; do
    peer_ok "$p" || MISSING+=("$p")
done
if [[ ${#MISSING[@]} -gt 0 ]]; then
    if command -v apt-get >/dev/null 2>&1; then
        say "installing missing peers: ${MISSING[*]} (apt-get update first)"
        apt-get update -qq >&2 || say "apt-get update failed; trying to install anyway"
        for p in "${MISSING[@]}"; do
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$(peer_pkg "$p")" >&2 || true
        done
    fi
    for p in "${MISSING[@]}"; do
        if ! peer_ok "$p"; then
            unset "WANT[$p]"
            say "leaving out $p: not on PATH and installing $(peer_pkg "$p") failed"
            NOTES+=("$p left out: not on PATH and 'apt-get install $(peer_pkg "$p")' failed")
        fi
    done
fi

# --- temporary directory and cleanup -----------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/imp-bench-images.XXXXXX")
REDIS_PID=""
HOLD_PIDS=()
cleanup() {
    local pid
    if [[ -n $REDIS_PID ]]; then
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    fi
    for pid in "${HOLD_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers -----------------------------------------------------------------
# timed OUT ERR TIMEOUT CMD... : runs CMD under bench/timer.py; sets T_WALL T_STATUS.
timed() {
    local out=$1 err=$2 limit=$3 line
    shift 3
    line=$(python3 -S "$TIMER" --timeout "$limit" --stdout "$out" --stderr "$err" -- "$@") || line=""
    read -r T_WALL _ T_STATUS <<<"${line:-0 0 NOTIMER}"
}

median() {
    printf '%s\n' "$@" | sort -g | awk '
        { v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# field NAME FILE: the value of a "NAME value" line.
field() { awk -v k="$1" '$1 == k { print $2; exit }' "$2"; }

# first_error FILE: the first non-blank line of FILE, shortened.
first_error() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | head -n 1 | cut -c 1-160 || true; }

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
file_bytes() { stat -c %s "$1"; }
free_mb() { df -Pk "$1" | awk 'NR == 2 { printf "%d", $4 / 1024 }'; }
avail_mem_mb() { awk '/^MemAvailable:/ { printf "%d", $2 / 1024 }' /proc/meminfo; }

# startup_runs KEY LABEL EXPECTED CMD... : RUNS timed runs of CMD, each of
# whose output must contain the line EXPECTED; sets R[KEY] to the median in
# ms, or to FAIL.
startup_runs() {
    local key=$1 label=$2 expected=$3 walls=() i
    shift 3
    for ((i = 1; i <= RUNS; i++)); do
        timed "$TMP/start.out" "$TMP/start.err" 120 "$@"
        if [[ $T_STATUS != 0 ]] || ! grep -qx "[[:space:]]*$expected[[:space:]]*" "$TMP/start.out"; then
            NOTES+=("$label: run $i: status $T_STATUS: $(first_error "$TMP/start.err")")
            R[$key]=FAIL
            return 0
        fi
        walls+=("$T_WALL")
    done
    say "$label: $(printf '%s ' "${walls[@]}")s"
    R[$key]=$(awk -v w="$(median "${walls[@]}")" 'BEGIN { printf "%.1f", w * 1000 }')
}

declare -A R=()   # results, keyed "what,size"

# Marks of images checked whole (doc/IMAGE-FORMAT.md §8.5) go to the
# temporary directory: the first start of each image checks it, the later
# ones find it marked.
export IMP_CHECKED_IMAGES=$TMP/checked-marks

# --- imp ---------------------------------------------------------------------
# run_imp SIZE: build the data, save the image, time starting it.
run_imp() {
    local size=$1 img=$TMP/imp-$1.img out=$TMP/imp-$1.out err=$TMP/imp-$1.err
    say "imp $size MB: building and saving"
    timed "$out" "$err" 3600 "$IMP" "$HERE/build.scm" "$size" "$img" "$FORKS"
    if [[ $T_STATUS != 0 ]] || [[ -z $(field save-s "$out") ]]; then
        R[imp_fail,$size]=1
        NOTES+=("imp at $size MB: build.scm ended with status $T_STATUS after ${T_WALL} s: $(first_error "$err")")
        rm -f "$img"
        return
    fi
    R[imp_setup,$size]=$(field setup-s "$out")
    R[imp_live,$size]=$(field live-bytes "$out")
    R[imp_rss,$size]=$(( $(field rss-kb "$out") * 1024 ))
    R[imp_pause,$size]=$(field fork-pause-us "$out")
    R[imp_pauses,$size]=$(awk '$1 == "fork-pauses-us" { $1 = ""; sub(/^ /, ""); print; exit }' "$out")
    R[imp_save,$size]=$(field save-s "$out")
    R[imp_purify,$size]=$(field purify-us "$out")
    R[imp_write,$size]=$(field write-us "$out")
    R[imp_check,$size]=$(field check "$out")
    R[imp_total,$size]=$T_WALL
    if [[ -f $img ]]; then
        R[imp_img,$size]=$(file_bytes "$img")
    else
        NOTES+=("imp at $size MB: save-application returned but $img is missing")
        return
    fi
    say "imp $size MB: setup ${R[imp_setup,$size]} s, pause ${R[imp_pause,$size]} us, save ${R[imp_save,$size]} s"
    # The first start checks the whole body (and marks the file once it
    # is 100 ms old, which it is by now); the timed ones find it marked.
    timed "$TMP/start.out" "$TMP/start.err" 120 "$IMP" --image "$img"
    R[imp_first,$size]=$(awk -v w="$T_WALL" 'BEGIN { printf "%.1f", w * 1000 }')
    startup_runs "imp_start,$size" "imp --image ($size MB)" 1 "$IMP" --image "$img"
}

# kept_probe: start-up of images that kept 0, 10,000 and 100,000 threads
# (each blocked on a channel), whose toplevel prints 1 and exits; and of
# an empty process, the floor every start stands on.
KEPT_COUNTS=(0 10000 100000)
kept_probe() {
    local n img
    startup_runs "empty_start" "an empty process (echo 1)" 1 /bin/echo 1
    for n in "${KEPT_COUNTS[@]}"; do
        img=$TMP/kept-$n.img
        cat >"$TMP/kept.scm" <<EOF
(define ch (make-channel 0))
(let loop ((i 0))
  (when (< i $n)
    (thread-start! (make-thread (lambda () (channel-receive ch))))
    (loop (+ i 1))))
(thread-yield!)
(save-application "$img" #:threads 'keep
                  #:toplevel (lambda () (display 1) (newline) (exit 0)))
EOF
        timed "$TMP/kept.out" "$TMP/kept.err" 600 "$IMP" "$TMP/kept.scm"
        if [[ $T_STATUS != 0 || ! -f $img ]]; then
            NOTES+=("kept threads, $n: the save failed (status $T_STATUS): $(first_error "$TMP/kept.err")")
            continue
        fi
        R[kept_img,$n]=$(file_bytes "$img")
        sleep 0.2 # older than 100 ms, so the first start marks it
        timed "$TMP/start.out" "$TMP/start.err" 120 "$IMP" --image "$img"
        startup_runs "kept_start,$n" "imp --image (kept $n threads)" 1 "$IMP" --image "$img"
        rm -f "$img"
    done
}

# hold_probe SIZE: PROCS processes from the SIZE image, memory while all run.
hold_probe() {
    local size=$1 img=$TMP/imp-$1.img i pid ready waited rss pss rss_sum=0 pss_sum=0 rss_each=()
    local hold=5
    HOLD_PIDS=()
    for ((i = 1; i <= PROCS; i++)); do
        "$IMP" --image "$img" hold "$hold" >"$TMP/hold.$i.out" 2>"$TMP/hold.$i.err" &
        HOLD_PIDS+=($!)
    done
    # Wait until each has printed "ready" (it has touched its data).
    waited=0
    while :; do
        ready=0
        for ((i = 1; i <= PROCS; i++)); do
            if grep -q '^ready' "$TMP/hold.$i.out" 2>/dev/null; then ready=$((ready + 1)); fi
        done
        if [[ $ready -eq $PROCS ]]; then break; fi
        if [[ $waited -ge $((hold * 10 - 10)) ]]; then
            NOTES+=("memory probe: only $ready of $PROCS processes were ready in time: $(first_error "$TMP/hold.1.err")")
            break
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    if [[ $ready -eq $PROCS ]]; then
        for pid in "${HOLD_PIDS[@]}"; do
            read -r rss pss < <(awk '$1 == "Rss:" { r = $2 } $1 == "Pss:" { p = $2 }
                END { print r + 0, p + 0 }' "/proc/$pid/smaps_rollup")
            rss_sum=$((rss_sum + rss))
            pss_sum=$((pss_sum + pss))
            rss_each+=("$rss")
        done
    fi
    for ((i = 0; i < PROCS; i++)); do
        if ! wait "${HOLD_PIDS[$i]}"; then
            NOTES+=("memory probe: process $((i + 1)) failed: $(first_error "$TMP/hold.$((i + 1)).err")")
            ready=-1
        fi
    done
    HOLD_PIDS=()
    [[ $ready -eq $PROCS ]] || return 0
    R[hold_size]=$size
    R[hold_rss]=$((rss_sum * 1024))
    R[hold_pss]=$((pss_sum * 1024))
    R[hold_rss_one]=$(( $(median "${rss_each[@]}") * 1024 ))
}

# --- SBCL --------------------------------------------------------------------
sbcl_heap_mb() { local m=$(($1 * 4)); if [[ $m -lt 1024 ]]; then m=1024; fi; echo "$m"; }

run_sbcl() {
    local size=$1 core=$TMP/sbcl-$1.core out=$TMP/sbcl-$1.out err=$TMP/sbcl-$1.err
    local heap t_end before
    heap=$(sbcl_heap_mb "$size")
    say "sbcl $size MB: building and saving (dynamic space $heap MB)"
    set +e
    timeout 3600 sbcl --noinform --dynamic-space-size "$heap" --non-interactive \
        --no-sysinit --no-userinit --load "$HERE/build.lisp" \
        --end-toplevel-options "$size" "$core" >"$out" 2>"$err" </dev/null
    local status=$?
    set -e
    t_end=$(date +%s.%N)
    before=$(field save-start-epoch "$out")
    if [[ $status != 0 || -z $before || ! -s $core ]]; then
        R[sbcl_fail,$size]=1
        NOTES+=("sbcl at $size MB: status $status, core $([[ -s $core ]] && echo written || echo missing): $(first_error "$err")")
        rm -f "$core"
        return
    fi
    R[sbcl_setup,$size]=$(field setup-s "$out")
    R[sbcl_live,$size]=$(field live-bytes "$out")
    R[sbcl_check,$size]=$(field check "$out")
    R[sbcl_save,$size]=$(awk -v a="$before" -v b="$t_end" 'BEGIN { printf "%.3f", b - a }')
    R[sbcl_core,$size]=$(file_bytes "$core")
    say "sbcl $size MB: setup ${R[sbcl_setup,$size]} s, save ${R[sbcl_save,$size]} s"
    startup_runs "sbcl_start,$size" "sbcl --core ($size MB)" 1 sbcl --dynamic-space-size "$heap" \
        --core "$core" --non-interactive --no-sysinit --no-userinit \
        --eval '(progn (print 1) (sb-ext:exit))'
    rm -f "$core"
}

# --- Redis -------------------------------------------------------------------
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
rinfo() { rcli info "$1" | tr -d '\r' | awk -F: -v k="$2" '$1 == k { print $2; exit }'; }
# Redis samples its resident size in its timer (10 times a second): let it.
redis_rss() { sleep 0.5; rinfo memory used_memory_rss; }

# run_redis SIZE TARGET_BYTES: fill a fresh server to TARGET_BYTES resident,
# BGSAVE, read latest_fork_usec.
run_redis() {
    local size=$1 target=$2 dir=$TMP/redis-$1 i rss0 rss1 n0 n per_key forks
    local vsize=1000 major extra=()
    mkdir -p "$dir"
    REDIS_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    major=$(redis-server --version | sed -n 's/.* v=\([0-9]*\)\..*/\1/p')
    if [[ ${major:-0} -ge 7 ]]; then extra=(--enable-debug-command yes); fi
    say "redis $size MB: filling to $(mib "$target") MiB resident (port $REDIS_PORT)"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$dir" --dbfilename dump.rdb --logfile "$dir/redis.log" \
        --daemonize no "${extra[@]}" >/dev/null 2>&1 </dev/null &
    REDIS_PID=$!
    for ((i = 0; i < 100; i++)); do
        if [[ $(rcli ping 2>/dev/null) == PONG ]]; then break; fi
        sleep 0.1
    done
    if [[ $(rcli ping 2>/dev/null) != PONG ]]; then
        NOTES+=("redis at $size MB: the server did not answer: $(first_error "$dir/redis.log")")
        stop_redis
        return
    fi
    # DEBUG POPULATE with values of vsize bytes: half the target first, to
    # learn the resident cost of one key, then up to three more steps toward
    # the target (DEBUG POPULATE skips keys that exist).
    rss0=$(redis_rss)
    n0=$(( (target - rss0) / 2 / (vsize + 100) ))
    if [[ $n0 -lt 1000 ]]; then n0=1000; fi
    if [[ $(rcli debug populate "$n0" key "$vsize" 2>&1) != OK ]]; then
        NOTES+=("redis at $size MB: DEBUG POPULATE failed: $(rcli debug populate 1 key 1 2>&1 | head -n 1)")
        stop_redis
        return
    fi
    n=$n0
    for ((i = 0; i < 3; i++)); do
        rss1=$(redis_rss)
        per_key=$(( (rss1 - rss0) / n ))
        if [[ $per_key -le 0 ]]; then per_key=$((vsize + 100)); fi
        # Close enough: within 2% of the target, or over it.
        if [[ $((rss1 * 50)) -ge $((target * 49)) ]]; then break; fi
        n=$(( n + (target - rss1) / per_key ))
        rcli debug populate "$n" key "$vsize" >/dev/null
    done
    R[redis_keys,$size]=$(rinfo keyspace db0 | sed 's/keys=\([0-9]*\).*/\1/')
    R[redis_rss,$size]=$(redis_rss)
    # FORKS BGSAVEs, one after another; each is done when a fork has
    # happened since and no save is running. The median pause is reported.
    local pauses=() k
    for ((k = 0; k < FORKS; k++)); do
        forks=$(rinfo stats total_forks)
        rcli bgsave >/dev/null
        for ((i = 0; i < 6000; i++)); do
            if [[ $(rinfo stats total_forks) -gt $forks &&
                $(rinfo persistence rdb_bgsave_in_progress) == 0 ]]; then
                break
            fi
            sleep 0.1
        done
        if [[ $(rinfo stats total_forks) -le $forks ||
            $(rinfo persistence rdb_bgsave_in_progress) != 0 ||
            $(rinfo persistence rdb_last_bgsave_status) != ok ]]; then
            NOTES+=("redis at $size MB: BGSAVE did not finish well: $(tail -n 1 "$dir/redis.log")")
            pauses=()
            break
        fi
        pauses+=("$(rinfo stats latest_fork_usec)")
    done
    if [[ ${#pauses[@]} -gt 0 ]]; then
        R[redis_pauses,$size]="${pauses[*]}"
        R[redis_fork,$size]=$(printf '%s\n' "${pauses[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int(NR / 2) + 1] }')
        say "redis $size MB: latest_fork_usec ${R[redis_pauses,$size]} (median ${R[redis_fork,$size]}), rss $(mib "${R[redis_rss,$size]}") MiB"
    fi
    stop_redis
    rm -rf "$dir"
}

stop_redis() {
    [[ -n $REDIS_PID ]] || return 0
    rcli shutdown nosave >/dev/null 2>&1 || kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=""
}

# --- the runs ----------------------------------------------------------------
HOLD_AT=${SIZE_LIST[0]}
for s in "${SIZE_LIST[@]}"; do
    if [[ $s -lt $HOLD_AT ]]; then HOLD_AT=$s; fi
done
for s in "${SIZE_LIST[@]}"; do
    if [[ $s -eq 100 ]]; then HOLD_AT=100; fi
done

DONE_SIZES=()
for size in "${SIZE_LIST[@]}"; do
    need=$((size * 6))
    if [[ $need -lt 1024 ]]; then need=1024; fi
    have=$(free_mb "$TMP")
    if [[ $have -lt $need ]]; then
        say "skipping $size MB: $have MB free on the temporary directory's disk, want $need MB"
        NOTES+=("$size MB skipped: $have MB free on the disk of the temporary directory, less than the $need MB wanted")
        continue
    fi
    mem=$(avail_mem_mb)
    if [[ $mem -lt $((size * 5)) ]]; then
        say "skipping $size MB: $mem MB of memory available, want $((size * 5)) MB"
        NOTES+=("$size MB skipped: $mem MB of memory available, less than the $((size * 5)) MB wanted")
        continue
    fi
    DONE_SIZES+=("$size")

    run_imp "$size"
    if [[ $size -eq $HOLD_AT && -n ${R[imp_img,$size]:-} ]]; then
        say "imp $size MB: $PROCS processes from one image"
        hold_probe "$size"
    fi
    rm -f "$TMP/imp-$size.img"

    if [[ -n ${WANT[sbcl]:-} ]]; then
        run_sbcl "$size"
        if [[ -n ${R[imp_check,$size]:-} && -n ${R[sbcl_check,$size]:-} &&
            ${R[imp_check,$size]} != "${R[sbcl_check,$size]}" ]]; then
            NOTES+=("$size MB: imp and sbcl disagree on the probe sum (${R[imp_check,$size]} vs ${R[sbcl_check,$size]}): the data differ")
        fi
    fi
    if [[ -n ${WANT[redis]:-} ]]; then
        target=${R[imp_rss,$size]:-$((size * 1048576))}
        run_redis "$size" "$target"
    fi
done
say "kept threads: saving and starting"
kept_probe
ELAPSED=$((SECONDS - START_SECONDS))

# --- the report ----------------------------------------------------------------
cell_pause() { # US RSS_BYTES
    if [[ -n $1 ]]; then echo "$1 us ($(mib "$2") MiB)"; else echo "-"; fi
}
cell() { # VALUE [FORMAT] [FAILED]
    if [[ -n $1 ]]; then printf "${2:-%s}" "$1"; elif [[ -n ${3:-} ]]; then echo FAIL; else echo "-"; fi
}
cell_mib() { if [[ -n $1 ]]; then mib "$1"; elif [[ -n ${2:-} ]]; then echo FAIL; else echo "-"; fi; }

main_table() {
    printf 'size\timp pause (RSS)\tredis latest_fork_usec (RSS)\timp save s\timp image MiB\tsbcl save s\tsbcl core MiB\timp start ms\timp first start ms\tsbcl start ms\n'
    for s in "${DONE_SIZES[@]}"; do
        local f_imp=${R[imp_fail,$s]:-} f_sbcl=${R[sbcl_fail,$s]:-}
        printf '%s MB\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" \
            "$( [[ -n $f_imp ]] && echo FAIL || cell_pause "${R[imp_pause,$s]:-}" "${R[imp_rss,$s]:-0}")" \
            "$(cell_pause "${R[redis_fork,$s]:-}" "${R[redis_rss,$s]:-0}")" \
            "$(cell "${R[imp_save,$s]:-}" '%.3f' "$f_imp")" \
            "$(cell_mib "${R[imp_img,$s]:-}" "$f_imp")" \
            "$(cell "${R[sbcl_save,$s]:-}" '%.3f' "$f_sbcl")" \
            "$(cell_mib "${R[sbcl_core,$s]:-}" "$f_sbcl")" \
            "$(cell "${R[imp_start,$s]:-}" '%s' "$f_imp")" \
            "$(cell "${R[imp_first,$s]:-}" '%s' "$f_imp")" \
            "$(cell "${R[sbcl_start,$s]:-}" '%s' "$f_sbcl")"
    done
}

data_table() {
    printf 'size\timp live MiB\timp setup s\timp purify s\timp write s\timp save ms/MiB\timp process s\tsbcl live MiB\tsbcl setup s\tredis keys\n'
    for s in "${DONE_SIZES[@]}"; do
        local per_mib=""
        if [[ -n ${R[imp_save,$s]:-} && -n ${R[imp_img,$s]:-} ]]; then
            per_mib=$(awk -v t="${R[imp_save,$s]}" -v b="${R[imp_img,$s]}" 'BEGIN { printf "%.2f", t * 1000 / (b / 1048576) }')
        fi
        printf '%s MB\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" \
            "$(cell_mib "${R[imp_live,$s]:-}" "${R[imp_fail,$s]:-}")" \
            "$(cell "${R[imp_setup,$s]:-}" '%.2f' "${R[imp_fail,$s]:-}")" \
            "$(cell "$(awk -v u="${R[imp_purify,$s]:-}" 'BEGIN { if (u != "") printf "%.3f", u / 1e6 }')" '%s' "${R[imp_fail,$s]:-}")" \
            "$(cell "$(awk -v u="${R[imp_write,$s]:-}" 'BEGIN { if (u != "") printf "%.3f", u / 1e6 }')" '%s' "${R[imp_fail,$s]:-}")" \
            "$(cell "$per_mib" '%s' "${R[imp_fail,$s]:-}")" \
            "$(cell "${R[imp_total,$s]:-}" '%.2f' "${R[imp_fail,$s]:-}")" \
            "$(cell_mib "${R[sbcl_live,$s]:-}" "${R[sbcl_fail,$s]:-}")" \
            "$(cell "${R[sbcl_setup,$s]:-}" '%.2f' "${R[sbcl_fail,$s]:-}")" \
            "$(cell "${R[redis_keys,$s]:-}")"
    done
}

align() {
    awk -F'\t' '
        { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
          if (NF > n) n = NF }
        END {
            for (r = 1; r <= NR; r++) {
                line = sprintf("%-" w[1] "s", c[r, 1])
                for (i = 2; i <= n; i++) line = line " | " sprintf("%" w[i] "s", c[r, i])
                print line
            }
        }'
}

version_lines() {
    printf '  %-6s %s (%s)\n' imp "$("$IMP" -V 2>&1 | head -n 1)" "$(date -u -r "$IMP" '+built %Y-%m-%d %H:%M UTC')"
    if [[ -n ${WANT[redis]:-} ]]; then
        printf '  %-6s %s\n' redis "$(redis-server --version | awk '{ print $3 }')"
    fi
    if [[ -n ${WANT[sbcl]:-} ]]; then
        printf '  %-6s %s\n' sbcl "$(sbcl --version 2>&1 | head -n 1)"
    fi
}

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "none")
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1) ]]; then
    commit="$commit (work tree has changes)"
fi

report() {
    echo "imp images benchmark"
    echo "date:     $(date '+%Y-%m-%d %H:%M:%S %Z')"
    echo "machine:  $(uname -m), ${cpu:-unknown CPU}, $(nproc) CPUs, $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
    echo "commit:   $commit"
    echo "command:  $COMMAND_LINE"
    echo "runs:     $RUNS start-up runs per image (median); $FORKS forks per size (median); sizes $SIZES MB; whole run ${ELAPSED} s"
    echo "versions:"
    version_lines
    echo
    main_table | align
    echo
    if [[ -n ${R[hold_pss]:-} ]]; then
        echo "$PROCS imp processes from one ${R[hold_size]} MB image ($(mib "${R[imp_img,${R[hold_size]}]}") MiB), all running:" \
            "sum of Pss $(mib "${R[hold_pss]}") MiB, sum of Rss $(mib "${R[hold_rss]}") MiB" \
            "(Rss of one: $(mib "${R[hold_rss_one]}") MiB)"
    else
        echo "$PROCS imp processes from one image: no figure (see the notes)"
    fi
    echo
    echo "Start-up from an image that kept its threads (median wall ms of $RUNS; the toplevel prints 1):"
    local base=${R[kept_start,0]:-} n per
    for n in "${KEPT_COUNTS[@]}"; do
        per=""
        if [[ -n $base && -n ${R[kept_start,$n]:-} && $n -gt 0 && ${R[kept_start,$n]} != FAIL ]]; then
            per=$(awk -v a="${R[kept_start,$n]}" -v b="$base" -v n="$n" 'BEGIN { printf ", %.1f us per 1,000 threads above none", (a - b) * 1000 / (n / 1000) }')
        fi
        printf '  %7s threads: %s ms (image %s MiB)%s\n' "$n" "${R[kept_start,$n]:--}" \
            "$( [[ -n ${R[kept_img,$n]:-} ]] && mib "${R[kept_img,$n]}" || echo -)" "$per"
    done
    echo "  an empty process (echo 1): ${R[empty_start]:--} ms"
    echo
    echo "Each pause, in order (us):"
    for s in "${DONE_SIZES[@]}"; do
        echo "  $s MB: imp ${R[imp_pauses,$s]:--}; redis ${R[redis_pauses,$s]:--}"
    done
    echo
    echo "The data behind each size:"
    data_table | align
    echo
    echo "pause: how long fork stopped the saving process (imp: fork-pause-us from"
    echo "save-application; redis: latest_fork_usec after BGSAVE; the median of $FORKS), with that process's"
    echo "resident size; Redis is filled to about imp's resident size. save s: imp, the"
    echo "save-application call until the child finished writing; sbcl, from just before"
    echo "save-lisp-and-die to the end of the process. start ms: median wall time of a"
    echo "whole process that starts from the image or core and prints 1 (imp: the image"
    echo "marked as checked whole; first start: its first start, which checks it). setup s: building"
    echo "the data and one full collection; imp purify s, write s: the save child's"
    echo "copying of the heap and writing of the file (from the result); save ms/MiB: save s"
    echo "per MiB of image; imp process s: the whole imp run (setup, save and exit)."
    echo "MiB = 2^20 bytes. FAIL: see the notes; -: no figure."
    if [[ ${#NOTES[@]} -gt 0 ]]; then
        echo
        echo "Notes:"
        printf '  %s\n' "${NOTES[@]}"
    fi
}

REPORT=$(report)
echo
echo "$REPORT"
mkdir -p "$HERE/results"
printf '%s\n' "$REPORT" >"$HERE/results/latest.txt"
printf '%s\n' "$REPORT" >"$HERE/results/$(date -u '+%Y%m%d-%H%M%S').txt"
echo
echo "written to ${HERE#"$ROOT"/}/results/latest.txt"
