#!/bin/sh
# Order throughput: create (POST /orders) and confirm-payment, with wrk, on a
# release server with durable commits (SQLite synchronous=FULL), then on a
# throwaway PostgreSQL cluster. Prints orders/s and p99 for each phase (full
# load, 4 connections, paced near 1,000 orders/s with wrk's delay(), and the
# same attributed to a promoter), and (bench_store_orders) what the SQLite
# store alone does with the same flow.
#   BENCH_SECONDS=10 BENCH_BACKENDS="sqlite postgres" sh bench/orders.sh
set -eu
cd "$(dirname "$0")/.."
BIN=./build/release/quanzi
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-32}
PACED_CONNS=${BENCH_PACED_CONNS:-26}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
CORES=$(nproc)
BUYERS=200
DIR=$(mktemp -d "${TMPDIR:-/tmp}/quanzi-orders-XXXXXX")
PGDIR=/tmp/quanzi-orders-pg-$$
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

api() { # METHOD PATH TOKEN BODY
    curl -s -X "$1" "$BASE$2" -H 'Content-Type: application/json' ${3:+-H "Authorization: Bearer $3"} ${4:+-d "$4"}
}
token_of() { sed -n 's/.*"token":"\([^"]*\)".*/\1/p'; echo; } # bodies end without a newline

cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; } # the server's user + system time
TICK=$(getconf CLK_TCK)

# SQLite's writer: seconds held, batches, writes (from /metrics)
writer() { curl -s "$BASE/metrics" | awk '$1 == "quanzi_sqlite_writer_held_seconds_total" {h = $2}
    $1 == "quanzi_sqlite_commit_batches_total" {b = $2} $1 == "quanzi_sqlite_batched_writes_total" {w = $2}
    END {print h, b, w}'; }

report() { # BACKEND LABEL WRK_OUTPUT CPU_TICKS_BEFORE WRITER_BEFORE
    rps=$(echo "$3" | awk '/^Requests\/sec:/ {printf "%d", $2}')
    p99=$(echo "$3" | awk '$1 == "99%" {print $2}')
    errs=$(echo "$3" | awk '/Non-2xx or 3xx responses:/ {print $5}')
    # the server's CPU time per order, in microseconds: steadier than orders/s on a noisy box
    cpu=$(( ($(cpu_ticks) - $4) * 1000000 / TICK * 2 / (rps * SECS + 1) ))
    # how busy the one writer was (its limit is 100%), and the writes per committed batch
    w=$(echo "$5 $(writer)" | awk -v s="$SECS" '$5 > $2 {printf "%d%%|%.1f", ($4 - $1) * 100 / s, ($6 - $3) / ($5 - $2); next} {print "-|-"}')
    echo "$1|$2|$((rps / 2))|$p99|${errs:-0}|$cpu|$w" >>"$RESULTS"
}

flow() { # BACKEND LABEL CONNECTIONS [SHARE_TOKEN] [DELAY_MS]
    t0=$(cpu_ticks)
    w0=$(writer)
    out=$(wrk -t2 -c"$3" -d"${SECS}s" --latency -s bench/order_flow.lua "$BASE" -- \
        "$DIR/tokens" "$shop" "$product" "$owner" "${4:-}" ${5:-})
    report "$1" "$2" "$out" "$t0" "$w0"
}

run_backend() {
    backend=$1 args=$2 threads=$3
    rm -f "$DIR/ready"
    # shellcheck disable=SC2086
    "$BIN" serve $args --port 0 --threads "$threads" --ready-file "$DIR/ready" \
        --access-log=${BENCH_ACCESS_LOG:-false} --max-connections-per-ip 4096 2>"$DIR/server.log" &
    PID=$!
    i=0
    while [ ! -s "$DIR/ready" ]; do
        i=$((i + 1)); [ $i -gt 500 ] && { cat "$DIR/server.log" >&2; exit 1; }
        sleep 0.02
    done
    BASE="http://127.0.0.1:$(cat "$DIR/ready")"
    owner=$(api POST /api/v1/auth/register "" '{"login":"bench-owner@quanzi.test","password":"bench password 1","display_name":"Owner"}' | token_of)
    shop=$(api POST /api/v1/shops "$owner" '{"name":"Bench","slug":"bench"}' | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
    api PATCH "/api/v1/shops/$shop" "$owner" '{"buyer_cap_30d":1000,"unpaid_timeout_min":1440,"promoter_auto_approve":true}' >/dev/null
    product=$(api POST "/api/v1/shops/$shop/products" "$owner" '{"title":"核桃","price_fen":1000,"stock":1000000,"status":"on_sale","trial_available":true}' | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
    # a promoter (a trial is their experience) whose link the attributed runs use
    promoter=$(api POST /api/v1/auth/register "" '{"login":"bench-promoter@quanzi.test","password":"bench password 1","display_name":"Promoter"}')
    promoter_id=$(echo "$promoter" | sed -n 's/.*"user":{"id":\([0-9]*\).*/\1/p')
    promoter_token=$(echo "$promoter" | token_of)
    api POST "/api/v1/shops/$shop/trials" "$owner" "{\"user_id\":$promoter_id,\"product_id\":$product}" >/dev/null
    ref=$(api POST "/api/v1/shops/$shop/promoters" "$promoter_token" | sed -n 's/.*"ref_token":"\([^"]*\)".*/\1/p')
    : >"$DIR/tokens"
    b=0
    while [ $b -lt $BUYERS ]; do
        api POST /api/v1/auth/register "" "{\"login\":\"buyer$b@quanzi.test\",\"password\":\"bench password 1\",\"display_name\":\"B$b\"}" | token_of >>"$DIR/tokens"
        b=$((b + 1))
    done
    # full load: requests alternate create and confirm, so orders/s = req/s / 2; then a
    # moderate load (p99 when the server is not saturated); then both with attribution
    # to a promoter (commission posted at every payment)
    flow "$backend" "create+confirm, $CONNS conns" "$CONNS"
    flow "$backend" "create+confirm, 4 conns" 4
    # paced near 1,000 orders/s: each connection waits 10 ms before each request
    flow "$backend" "create+confirm paced, ${PACED_CONNS} conns" "$PACED_CONNS" "" 10
    flow "$backend" "create+confirm attributed, $CONNS conns" "$CONNS" "$ref"
    flow "$backend" "create+confirm attributed, 4 conns" 4 "$ref"
    commissions=$(api GET "/api/v1/me/balance?shop_id=$shop" "$promoter_token" | sed -n 's/.*"pending_fen":\([0-9]*\).*/\1/p')
    echo "$backend: promoter's pending commission after the attributed runs: ${commissions:-?} fen" >&2
    paid=$(api GET "/api/v1/shops/$shop/orders?status=paid&limit=1" "$owner" | grep -c '"status":"paid"' || true)
    stop_server
}

STORE_ONLY=
for b in $BACKENDS; do
    case $b in
    sqlite)
        # the same flow without HTTP: the store's own ceiling on this machine
        STORE_ONLY=$(./build/release/bench_store_orders "$DIR/store.db" "$SECS" "${BENCH_THREADS:-$((CORES * 4))}" 2>&1 | tail -1)
        run_backend sqlite "--data-dir $DIR/sqlite ${BENCH_EXTRA:-}" "${BENCH_THREADS:-$((CORES * 4))}" ;;
    postgres)
        if sh scripts/pg-test-cluster.sh start "$PGDIR" >/dev/null 2>&1; then
            PGHOST=$PGDIR/sock PGPORT=5432 PGUSER=postgres psql -q -d postgres -c "CREATE DATABASE quanzi_orders" >/dev/null
            PGHOST=$PGDIR/sock PGPORT=5432 PGUSER=postgres run_backend postgres "--db postgresql:///quanzi_orders --data-dir $DIR/pg" $((CORES * 4))
            sh scripts/pg-test-cluster.sh stop "$PGDIR" >/dev/null 2>&1
        fi ;;
    esac
done
echo
echo "quanzi order bench: $CORES cores, wrk 2 threads x $CONNS connections, ${SECS}s per row; durable commits"
printf '%-9s %-36s %9s %10s %8s %9s %7s %8s\n' backend flow "orders/s" "p99 (req)" non-2xx "us/order" writer "w/batch"
awk -F'|' '{printf "%-9s %-36s %9s %10s %8s %9s %7s %8s\n", $1, $2, $3, $4, $5, $6, $7, $8}' "$RESULTS"
[ -n "$STORE_ONLY" ] && echo "$STORE_ONLY"
echo "(us/order: the server's CPU time per order; writer: the share of the time SQLite's one"
echo " writer was held, which caps throughput at 100%; w/batch: writes per committed batch;"
echo " orders/s = requests/s / 2: each order is a create and a confirm-payment;"
echo " the PostgreSQL test cluster runs with fsync off: its rows are not durable figures)"
