#!/bin/sh
# Instructions per order: the release server under valgrind's callgrind while
# wrk drives the order flow (create, then confirm the payment) on 2 connections
# of 4 buyers. Counts instructions, not time, so it is the same from one run
# to the next on a shared or noisy machine, where orders/s is not. Prints the
# server's instructions per order, and those spent in order_create and
# payment_apply (the order's two transactions; the write lock is held for
# most of them, and its share bounds SQLite's write throughput).
#   BENCH_SECONDS=15 sh bench/instructions.sh      (needs valgrind: apt-get install valgrind)
set -eu
cd "$(dirname "$0")/.."
BIN=./build/release/quanzi
SECS=${BENCH_SECONDS:-15}
command -v valgrind >/dev/null || { echo "bench/instructions.sh needs valgrind (apt-get install valgrind)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "build the release preset first (make build)" >&2; exit 1; }
DIR=$(mktemp -d "${TMPDIR:-/tmp}/quanzi-instr-XXXXXX")
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

api() { # METHOD PATH TOKEN BODY
    curl -s -X "$1" "$BASE$2" -H 'Content-Type: application/json' ${3:+-H "Authorization: Bearer $3"} ${4:+-d "$4"}
}
token_of() { sed -n 's/.*"token":"\([^"]*\)".*/\1/p'; echo; }

# run TOGGLE_ARGS: one server under callgrind, the flow for SECS; prints "instructions requests"
run() {
    rm -rf "$DIR/data" "$DIR/ready" "$DIR"/cg.out*
    # shellcheck disable=SC2086
    valgrind --tool=callgrind --callgrind-out-file="$DIR/cg.out" $1 "$BIN" serve \
        --data-dir "$DIR/data" --port 0 --threads 4 --access-log=false --ready-file "$DIR/ready" \
        2>"$DIR/server.log" &
    PID=$!
    i=0
    while [ ! -s "$DIR/ready" ]; do
        i=$((i + 1)); [ $i -gt 600 ] && { cat "$DIR/server.log" >&2; exit 1; }
        sleep 0.1
    done
    BASE="http://127.0.0.1:$(cat "$DIR/ready")"
    owner=$(api POST /api/v1/auth/register "" '{"login":"bench-owner@quanzi.test","password":"bench password 1","display_name":"Owner"}' | token_of)
    shop=$(api POST /api/v1/shops "$owner" '{"name":"Bench","slug":"bench"}' | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
    api PATCH "/api/v1/shops/$shop" "$owner" '{"buyer_cap_30d":1000,"unpaid_timeout_min":1440}' >/dev/null
    product=$(api POST "/api/v1/shops/$shop/products" "$owner" '{"title":"核桃","price_fen":1000,"stock":1000000,"status":"on_sale"}' | sed -n 's/^{"id":\([0-9]*\).*/\1/p')
    : >"$DIR/tokens"
    for b in 1 2 3 4; do
        api POST /api/v1/auth/register "" "{\"login\":\"buyer$b@quanzi.test\",\"password\":\"bench password 1\",\"display_name\":\"B$b\"}" | token_of >>"$DIR/tokens"
    done
    callgrind_control -z "$PID" >/dev/null # count the flow only, not the start and set-up
    wrk -t1 -c2 -d"${SECS}s" -s bench/order_flow.lua "$BASE" -- "$DIR/tokens" "$shop" "$product" "$owner" >"$DIR/wrk.txt"
    callgrind_control -d "$PID" >/dev/null
    kill "$PID"; wait "$PID" 2>/dev/null || true
    PID=
    dump=$(ls "$DIR"/cg.out.* | sort -V | tail -1)
    ir=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    echo "$ir $(sed -n 's/ *\([0-9]*\) requests in.*/\1/p' "$DIR/wrk.txt")"
}

set -- $(run "")
all=$(( $1 * 2 / $2 ))
set -- $(run "--toggle-collect=order_create --toggle-collect=payment_apply")
tx=$(( $1 * 2 / $2 ))
echo
echo "quanzi instructions per order (create + confirm-payment; callgrind, wrk 2 connections, ${SECS}s)"
printf '%-44s %12s\n' "the whole server" "$all"
printf '%-44s %12s\n' "in order_create and payment_apply" "$tx"
