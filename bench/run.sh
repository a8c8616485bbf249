#!/bin/sh
# quanzi benchmark driver: starts a release server on a fresh demo database
# and measures it with wrk on loopback, first on SQLite, then on PostgreSQL
# (a throwaway cluster on a Unix socket, as in the tests). One table at the end.
#
#   make bench
#   BENCH_SECONDS=20 BENCH_CONNS=128 BENCH_BACKENDS=sqlite sh bench/run.sh
set -eu
cd "$(dirname "$0")/.."

BIN=./build/release/quanzi
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-64}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
CORES=$(nproc)
[ -x "$BIN" ] || { echo "bench: build first (make bench)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench: wrk is missing (sh scripts/setup.sh)" >&2; exit 1; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/quanzi-bench-XXXXXX")
PGDIR=/tmp/quanzi-bench-pg-$$
PID=
RESULTS="$DIR/results"
: >"$RESULTS"
stop_server() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    PID=
}
cleanup() {
    stop_server
    [ -d "$PGDIR" ] && sh scripts/pg-test-cluster.sh stop "$PGDIR" >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

# start_server DB_ARGS THREADS
start_server() {
    rm -f "$DIR/ready"
    # shellcheck disable=SC2086
    "$BIN" demo $1 >/dev/null 2>&1
    # shellcheck disable=SC2086
    "$BIN" serve $1 --port 0 --threads "$2" --ready-file "$DIR/ready" 2>"$DIR/server.log" &
    PID=$!
    i=0
    while [ ! -s "$DIR/ready" ]; do
        i=$((i + 1))
        [ $i -gt 500 ] && { echo "bench: server did not start" >&2; cat "$DIR/server.log" >&2; exit 1; }
        sleep 0.02
    done
    BASE="http://127.0.0.1:$(cat "$DIR/ready")"
}

# measure BACKEND LABEL PATH [HEADER]
measure() {
    if [ -n "${4:-}" ]; then
        out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -H "$4" "$BASE$3")
    else
        out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$BASE$3")
    fi
    rps=$(echo "$out" | awk '/^Requests\/sec:/ {printf "%d", $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    errs=$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {print $5}')
    echo "$1|$2|$rps|$p99|${errs:-0}" >>"$RESULTS"
}

run_backend() {
    backend=$1 args=$2 threads=$3
    start_server "$args" "$threads"
    wrk -t1 -c8 -d2s "$BASE/healthz" >/dev/null # warm up
    measure "$backend" "GET /healthz" /healthz
    measure "$backend" "GET /api/v1/shops/{id}" /api/v1/shops/1
    measure "$backend" "GET /api/v1/products/{id}" /api/v1/products/1
    # an uncached read: session lookup + member + interests + shops, 4 queries
    token=$(curl -s -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
        -d '{"login":"demo@quanzi.test","password":"walnut-demo-2026"}' |
        sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
    measure "$backend" "GET /api/v1/me (4 queries)" /api/v1/me "Authorization: Bearer $token"
    stop_server
}

for b in $BACKENDS; do
    case $b in
    sqlite)
        run_backend sqlite "--data-dir $DIR/sqlite" "$CORES"
        ;;
    postgres)
        if sh scripts/pg-test-cluster.sh start "$PGDIR" >/dev/null 2>&1; then
            PGHOST=$PGDIR/sock PGPORT=5432 PGUSER=postgres psql -q -d postgres \
                -c "CREATE DATABASE quanzi_bench" >/dev/null
            # a blocking libpq call holds its thread: size the pool above the core count
            PGHOST=$PGDIR/sock PGPORT=5432 PGUSER=postgres \
                run_backend postgres "--db postgresql:///quanzi_bench" $((CORES * 4))
            sh scripts/pg-test-cluster.sh stop "$PGDIR" >/dev/null 2>&1
        else
            echo "bench: PostgreSQL server not available; skipping it" >&2
        fi
        ;;
    esac
done

echo
echo "quanzi bench: $CORES cores, wrk 2 threads x $CONNS connections, ${SECS}s per row, loopback"
printf '%-9s %-34s %10s %10s %8s\n' backend request "req/s" p99 non-2xx
awk -F'|' '{printf "%-9s %-34s %10s %10s %8s\n", $1, $2, $3, $4, $5}' "$RESULTS"
for b in $BACKENDS; do
    awk -F'|' -v b="$b" '$1 == b && $2 == "GET /healthz" {h=$3}
        $1 == b && $2 == "GET /api/v1/shops/{id}" {s=$3}
        END { if (h) printf "%-9s %-34s %10.2f   (goal >= 0.80 and >= 30000 req/s)\n", b, "shop read / healthz", s / h }' "$RESULTS"
done
