#!/bin/sh
# Slow clients against a release server (bench/slowloris.py): needs 127.0.0.30-34 (loopback)
# and a few thousand file descriptors.   sh bench/slowloris.sh [SECONDS]
set -eu
cd "$(dirname "$0")/.."
BIN=./build/release/quanzi
[ -x "$BIN" ] || { echo "bench: build first (make bench)" >&2; exit 1; }
ulimit -n 4096 2>/dev/null || true
DIR=$(mktemp -d "${TMPDIR:-/tmp}/quanzi-bench-slow-XXXXXX")
PID=
cleanup() {
    [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
"$BIN" serve --data-dir "$DIR" --port 0 --ready-file "$DIR/ready" --access-log=false \
    >"$DIR/log" 2>&1 &
PID=$!
i=0
while [ ! -s "$DIR/ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
/usr/bin/python3 bench/slowloris.py "$(cat "$DIR/ready")" "${1:-25}"
