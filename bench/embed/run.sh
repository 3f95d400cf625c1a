#!/usr/bin/env bash
# Embedding figures (engine creation, round trip, a sort of host objects,
# per-call costs): imp next to mlua and rhai.
# Usage: bench/embed/run.sh   (builds bench/embed in release mode first)
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --quiet
echo "machine: $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(grep -c ^processor /proc/cpuinfo) CPUs"
exec "${CARGO_TARGET_DIR:-target}/release/imp-bench-embed"
