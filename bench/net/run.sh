#!/usr/bin/env bash
# Network figures of imp (issue 21), on 127.0.0.1:
#   1. 1 GB through a TCP connection between two green threads;
#   2. 10,000 idle connections held by the HTTP example (a green thread
#      each): the server's memory, and its p99 latency for a client that
#      is not idle (wrk, 10 connections, 5 s) meanwhile.
# Usage: bench/net/run.sh [-n IDLE]     (IMP_BIN: the imp to use)
set -euo pipefail
cd "$(dirname "$0")/../.."
idle=10000
while getopts "n:" o; do
  case $o in
    n) idle=$OPTARG ;;
    *) echo "usage: $0 [-n IDLE]" >&2; exit 64 ;;
  esac
done
if [ -z "${IMP_BIN:-}" ]; then
  cargo build --release -p imp-repl >&2
  IMP_BIN=target/release/imp
fi
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

echo "== 1 GB through a TCP socket between two imp threads"
"$IMP_BIN" bench/net/transfer.scm 1024

echo "== $idle idle connections"
port=$((20000 + RANDOM % 20000))
out=$(mktemp)
"$IMP_BIN" examples/http/server.scm "$port" >"$out" &
server=$!
trap 'kill $server 2>/dev/null; kill $holder 2>/dev/null; rm -f "$out" "$fifo"' EXIT
for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.1; done
rss() { awk -v k="$1" '$1 == k":" {print $2/1024}' "/proc/$server/status"; }
echo "server RSS before: $(rss VmRSS) MiB"
fifo=$(mktemp -u); mkfifo "$fifo"
python3 bench/net/idle.py "$port" "$idle" <"$fifo" & holder=$!
exec 3>"$fifo"
for _ in $(seq 600); do
  n=$(ss -Htn state established "( sport = :$port )" | wc -l)
  [ "$n" -ge "$idle" ] && break
  sleep 0.1
done
echo "established: $n"
sleep 1
echo "server RSS holding them: $(rss VmRSS) MiB (peak $(rss VmHWM) MiB)"
wrk -t1 -c10 -d5s --latency "http://127.0.0.1:$port/" | grep -E "Requests/sec|50%|99%|Socket errors|Non-2xx"
echo "server RSS after wrk: $(rss VmRSS) MiB (peak $(rss VmHWM) MiB)"
exec 3>&-
