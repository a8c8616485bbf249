#!/bin/sh
# Slow clients against a release server (bench/slowloris.py): needs 127.0.0.30-34 (loopback)
# and a few thousand file descriptors.   sh bench/slowloris.sh [SECONDS]
set -eu
cd "$(dirname "$0")/.."
ulimit -n 4096 2>/dev/null || true
BENCH_DEMO=0
. bench/serve.sh
serve_release
/usr/bin/python3 bench/slowloris.py "$PORT" "${1:-25}"
