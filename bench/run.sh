#!/bin/sh
# quanzi benchmark driver: starts a release server on a fresh demo database
# and measures it with wrk on loopback. Prints one table of figures.
#
#   make bench                      (builds the release preset first)
#   BENCH_SECONDS=20 BENCH_CONNS=128 sh bench/run.sh
set -eu
cd "$(dirname "$0")/.."

BIN=./build/release/quanzi
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-64}
THREADS=${BENCH_THREADS:-$(nproc)}
[ -x "$BIN" ] || { echo "bench: build first (make bench)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench: wrk is missing (sh scripts/setup.sh)" >&2; exit 1; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/quanzi-bench-XXXXXX")
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

"$BIN" demo --data-dir "$DIR" >/dev/null
"$BIN" serve --data-dir "$DIR" --port 0 --threads "$THREADS" \
    --ready-file "$DIR/ready" 2>"$DIR/server.log" &
PID=$!
i=0
while [ ! -s "$DIR/ready" ]; do
    i=$((i + 1)); [ $i -gt 500 ] && { echo "bench: server did not start" >&2; cat "$DIR/server.log" >&2; exit 1; }
    sleep 0.02
done
PORT=$(cat "$DIR/ready")
BASE="http://127.0.0.1:$PORT"

# run NAME PATH -> prints "NAME req/s p99"
run() {
    out=$(wrk -t2 -c"$CONNS" -d"${SECONDS_PER_RUN}s" --latency "$BASE$2")
    rps=$(echo "$out" | awk '/^Requests\/sec:/ {printf "%d", $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    errs=$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {print $5}')
    echo "$1 $rps $p99 ${errs:-0}"
}

wrk -t1 -c8 -d2s "$BASE/healthz" >/dev/null   # warm up
H=$(run healthz /healthz)
S=$(run shop_read /api/v1/shops/1)

echo
echo "quanzi bench — $(nproc) cores, server threads $THREADS, wrk 2 threads x $CONNS connections, ${SECONDS_PER_RUN}s each, SQLite"
printf '%-34s %12s %10s %8s\n' "request" "req/s" "p99" "non-2xx"
echo "$H" | awk '{printf "%-34s %12s %10s %8s\n", "GET /healthz", $2, $3, $4}'
echo "$S" | awk '{printf "%-34s %12s %10s %8s\n", "GET /api/v1/shops/{id}", $2, $3, $4}'
hr=$(echo "$H" | awk '{print $2}')
sr=$(echo "$S" | awk '{print $2}')
awk -v s="$sr" -v h="$hr" 'BEGIN { printf "%-34s %12.2f   (goal >= 0.80, and >= 30000 req/s)\n", "shop read / healthz", s / h }'
