#!/bin/sh
# Propagation on the SNAP ego-Facebook graph (issue 14, point 5): loads it into a
# fresh SQLite store and runs hop-1 and hop-2 shares from many starting members.
#   sh bench/graph/run.sh [STARTS] [SEED]
# The data is read from ../shared/data/ego-facebook (QUANZI_EGO_FACEBOOK to change
# it) and never copied into the repository.
set -eu
cd "$(dirname "$0")/../.."
BIN=./build/release/bench_graph
DATA=${QUANZI_EGO_FACEBOOK:-../shared/data/ego-facebook}
[ -x "$BIN" ] || { echo "bench: build first (make bench)" >&2; exit 1; }
[ -f "$DATA/facebook_combined.txt" ] || { echo "bench: no ego-Facebook data in $DATA: graph skipped" >&2; exit 0; }
DIR=$(mktemp -d "${TMPDIR:-/tmp}/quanzi-graph-XXXXXX")
trap 'rm -rf "$DIR"' EXIT INT TERM
"$BIN" "$DATA" "$DIR/graph.db" "${1:-300}" "${2:-1}"
