#!/bin/sh
# Cost as a store grows (issue 18): bench_growth grows one store through the store's own code
# (bench/growth.c: many shops, most small; buyers with a handful of orders, a few with
# hundreds; links, refunds, cancellations, completion, settlement, 24 hours of idempotency
# keys), and at each size a release server on it is measured through HTTP:
#   - order create + pay (wrk, bench/order_flow.lua: 1,000 buyers, the largest shop): orders/s,
#     p99 of the requests, the server's CPU per order;
#   - GET /products/{id}, /orders/{id}, /me/orders and /shops/{id}/orders, first and deep
#     pages (the heaviest buyer's and the largest shop's oldest 20), and the shop's oldest 20
#     refunded orders (?status=refunded: a rare status over its whole history): requests/s,
#     p99, CPU each;
#   - `quanzi ledger check` and the settlement job's run times, the store's size, the
#     server's RSS after the reads.
#   sh bench/growth.sh                       sizes 0 and 1,000,000 (SQLite)
#   sh bench/growth.sh 0 1000000 3000000 10000000
#   BENCH_BACKEND=postgres sh bench/growth.sh 0 1000000
#   GROWTH_DIR=/some/dir keeps (and reuses) the grown store; BENCH_SECONDS (10) per order
#   load, BENCH_READ_SECONDS (5) per read, BENCH_REPEAT (3) order loads at each size, of
#   which the median (by CPU) is shown;
#   GROWTH_BATCH (20) orders per transaction of the grower; GROWTH_ONLY=1 grows a kept store
#   and measures nothing (measure it later with the same GROWTH_DIR);
#   at each size past 0 an empty store is measured alongside (its loads and reads alternate
#   with the grown store's: a fresh empty store's CPU per order was seen at 382 us and at
#   670 us within one hour on this machine) and the last table gives each cost against it;
#   GROWTH_REF=0: not;
#   GROWTH_PROFILE=1 times the server's SQL at each size (SQLite; QUANZI_SQL_PROFILE: the top
#   statements are printed after the table); GROWTH_PERF=1 records the server with perf
#   during an extra last create+pay load (DIR/perf-N.txt: functions by their own share of
#   the CPU; perf(1) must be there)
set -eu
cd "$(dirname "$0")/.."
BIN=./build/release/quanzi
GROW=./build/release/bench_growth
[ -x "$BIN" ] && [ -x "$GROW" ] || { echo "growth: build first (make build)" >&2; exit 1; }
SIZES=${*:-0 1000000}
SECS=${BENCH_SECONDS:-10}
RSECS=${BENCH_READ_SECONDS:-5}
BACKEND=${BENCH_BACKEND:-sqlite}
TICK=$(getconf CLK_TCK)
KEEP=${GROWTH_DIR:-}
DIR=${KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/quanzi-growth-XXXXXX")}
mkdir -p "$DIR"
PGDIR=/tmp/quanzi-growth-pg-$$
[ -n "$KEEP" ] && PGDIR=$DIR/pg # a kept PostgreSQL store: its cluster stays there, stopped
PID= REF_PID=
REFDIR=$DIR/ref
stop_server() { # [REF_]
    p=$(get "${1:-}" PID)
    [ -n "$p" ] && { kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }
    eval "${1:-}PID="
}
# get PREFIX NAME: the value of ${PREFIX}NAME ("" for the grown store's server, REF_ for the
# empty store's measured alongside)
get() { eval "printf '%s' \"\${$1$2:-}\""; }
cleanup() {
    stop_server
    stop_server REF_
    rm -rf "$REFDIR"
    if [ -n "$KEEP" ]; then
        [ -d "$PGDIR" ] && sh scripts/pg-test-cluster.sh halt "$PGDIR" >/dev/null 2>&1 || true
    else
        [ -d "$PGDIR" ] && sh scripts/pg-test-cluster.sh stop "$PGDIR" >/dev/null 2>&1 || true
    fi
    [ -n "$KEEP" ] || rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

if [ "$BACKEND" = postgres ]; then
    # shared buffers as large as SQLite's page cache here (db_cache_mb 0: RAM/16, at most
    # 1 GiB); the test cluster's durability settings (fsync off) otherwise
    PGTEST_OPTS="-c shared_buffers=$(awk '/^MemTotal/ {m = int($2 / 16 / 1024); print (m > 1024 ? 1024 : m < 16 ? 16 : m) "MB"}' /proc/meminfo)" \
        sh scripts/pg-test-cluster.sh "$([ -n "$KEEP" ] && echo resume || echo start)" "$PGDIR" >/dev/null
    export PGHOST=$PGDIR/sock PGPORT=5432 PGUSER=postgres
    [ "$(psql -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'quanzi_growth'")" = 1 ] ||
        psql -q -d postgres -c "CREATE DATABASE quanzi_growth" >/dev/null
    DB=postgresql:///quanzi_growth
    REF_DB=postgresql:///quanzi_growth_ref
else
    DB=$DIR/quanzi.db
    REF_DB=$REFDIR/quanzi.db
fi

cpu_ticks() { awk '{print $14 + $15}' "/proc/$(get "${1:-}" PID)/stat"; } # [REF_]
# SQLite's one writer, from /metrics: "held_us batches writes" (zeros on PostgreSQL)
writer_stats() { # [REF_]
    curl -s "$(get "${1:-}" BASE)/metrics" | awk '
        $1 == "quanzi_sqlite_writer_held_seconds_total" { h = int($2 * 1000000) }
        $1 == "quanzi_sqlite_commit_batches_total" { b = $2 }
        $1 == "quanzi_sqlite_batched_writes_total" { w = $2 }
        END { print h + 0, b + 0, w + 0 }'
}
rss_mib() { awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$PID/status"; }
cursor() { printf 'c:%s' "$1" | base64 | tr '+/' '-_' | tr -d '=\n'; }
store_mib() {
    if [ "$BACKEND" = postgres ]; then
        psql -At -d quanzi_growth -c "SELECT pg_database_size('quanzi_growth') / 1048576"
    else
        du -cm "$DB" "$DB-wal" 2>/dev/null | awk 'END {print $1}'
    fi
}
ms_of() { # runs the command; its wall time in ms
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || echo "growth: $* failed" >&2
    echo $((($(date +%s%N) - t0) / 1000000))
}

# wrk on one GET with a token, on the grown store's server or (REF_) the empty one's:
# "req/s|p99|us CPU per request"
read_load() { # PREFIX PATH [TOKEN]
    t0=$(cpu_ticks "$1")
    out=$(wrk -t2 -c8 -d"${RSECS}s" --latency ${3:+-H "Authorization: Bearer $3"} "$(get "$1" BASE)$2")
    rps=$(echo "$out" | awk '/^Requests\/sec:/ {printf "%d", $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    bad=$(echo "$out" | awk '/Non-2xx/ {print $5}')
    [ -n "$bad" ] && echo "growth: GET $2 answered $bad non-2xx" >&2
    echo "$rps|$p99|$((($(cpu_ticks "$1") - t0) * 1000000 / TICK / (rps * RSECS + 1)))"
}

# start_server PREFIX DIR DB: a release server on the store, its clock where the store's is
# (it ran ahead of the machine's while growing); sets PREFIX PID and BASE
start_server() {
    rm -f "$2/ready"
    "$BIN" serve --data-dir "$2" --db "$3" --port 0 --ready-file "$2/ready" --test-clock \
        --access-log=false --max-connections-per-ip 4096 2>"$2/server.log" &
    eval "${1}PID=$!"
    i=0
    while [ ! -s "$2/ready" ]; do
        i=$((i + 1)); [ $i -gt 1500 ] && { cat "$2/server.log" >&2; exit 1; }
        sleep 0.02
    done
    eval "${1}BASE=http://127.0.0.1:$(cat "$2/ready")"
    curl -s -o /dev/null -X POST "$(get "$1" BASE)/api/v1/test-clock" \
        -H "Authorization: Bearer $(get "$1" OWNER_TOKEN)" -H 'Content-Type: application/json' \
        -d "{\"advance_ms\":$(get "$1" CLOCK_OFFSET_MS)}"
}

# order_load PREFIX TOKENS_DIR RUNS_FILE LABEL: one create+pay load; its "cpu orders p99 held
# per_batch" goes to RUNS_FILE (with PERF set: recorded by perf, and not counted)
order_load() {
    set -- "$@" $(writer_stats "$1")
    t0=$(cpu_ticks "$1")
    out=$(wrk -t2 -c32 -d"${SECS}s" --latency -s bench/order_flow.lua "$(get "$1" BASE)" -- \
        "$2/tokens" "$(get "$1" SHOP)" "$(get "$1" PRODUCT)" "$(get "$1" OWNER_TOKEN)")
    t1=$(cpu_ticks "$1")
    w=$(writer_stats "$1")
    if [ -n "$PERF" ]; then
        kill -INT "$PERF"; wait "$PERF" || true
        perf report -i "$DIR/perf-$N.data" --no-children --sort dso,symbol --percent-limit 0.4 \
            --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' >"$DIR/perf-$N.txt" || true
    fi
    rps=$(echo "$out" | awk '/^Requests\/sec:/ {printf "%d", $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    bad=$(echo "$out" | awk '/Non-2xx/ {print $5}')
    [ -n "$bad" ] && echo "growth: $4: $bad answers were not 2xx: not orders, the figures are wrong" >&2
    orders=$((rps / 2))
    cpu=$(((t1 - t0) * 1000000 / TICK / (orders * SECS + 1)))
    # the writer's hold per order, and the writes a batch carried
    held=$(echo "$5 $6 $7 $w" | awk -v n=$((orders * SECS + 1)) '{
        printf "%d %.1f", ($4 - $1) / n, ($5 > $2) ? ($6 - $3) / ($5 - $2) : 0 }')
    [ -n "$PERF" ] || echo "$cpu $orders $p99 $held" >>"$3" # perf's own cost is not counted
    echo "growth: $4: $orders orders/s, $cpu us CPU per order, writer held/order and writes/batch: $held${PERF:+ (under perf, not counted)}" >&2
}
# measure NAME PREFIX PATH [TOKEN]: read_load's answer in ${PREFIX}NAME
measure() {
    v=$(read_load "$2" "$3" "${4:-}")
    eval "$2$1=\$v"
}
median() { sort -n "$1" | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'; }

ROWS="$DIR/rows"
REFROWS="$DIR/rows-ref"
: >"$ROWS"
: >"$REFROWS"
for N in $SIZES; do
    echo "growth: growing to $N orders" >&2
    "$GROW" grow "$DB" "$N"
    [ -n "${GROWTH_ONLY:-}" ] && continue
    REF=
    if [ "$N" -gt 0 ] && [ "${GROWTH_REF:-1}" != 0 ]; then
        # an empty store beside it, measured in the same minutes
        REF=1
        rm -rf "$REFDIR"
        mkdir -p "$REFDIR"
        if [ "$BACKEND" = postgres ]; then
            psql -q -d postgres -c "DROP DATABASE IF EXISTS quanzi_growth_ref" \
                -c "CREATE DATABASE quanzi_growth_ref" >/dev/null
        fi
        "$GROW" grow "$REF_DB" 0 >/dev/null
        eval "$("$GROW" targets "$REF_DB" "$REFDIR" | sed 's/^/REF_/')"
        start_server REF_ "$REFDIR" "$REF_DB"
    fi
    eval "$("$GROW" targets "$DB" "$DIR")"
    [ -n "${GROWTH_PROFILE:-}" ] && export QUANZI_SQL_PROFILE="$DIR/sql-$N.txt"
    start_server "" "$DIR" "$DB"
    # the order load, BENCH_REPEAT (3) times: the median run's orders/s, p99 and CPU; the
    # empty store's loads go between
    : >"$DIR/runs"
    : >"$DIR/runs-ref"
    r=0 runs=${BENCH_REPEAT:-3}
    [ -n "${GROWTH_PERF:-}" ] && runs=$((runs + 1))
    while [ $r -lt $runs ]; do
        r=$((r + 1))
        PERF=
        if [ -n "${GROWTH_PERF:-}" ] && [ $r = $runs ]; then
            perf record -q -F 499 -g -o "$DIR/perf-$N.data" -p "$PID" 2>/dev/null &
            PERF=$!
        fi
        order_load "" "$DIR" "$DIR/runs" "$N orders: run $r"
        PERF=
        [ -n "$REF" ] && [ $r -le "${BENCH_REPEAT:-3}" ] &&
            order_load REF_ "$REFDIR" "$DIR/runs-ref" "an empty store beside it: run $r"
    done
    set -- $(median "$DIR/runs")
    cpu=$1 orders=$2 p99=$3 held=$4 per_batch=$5
    # what the reads look at, once those orders are in: on an empty store they made the
    # only full pages there are
    eval "$("$GROW" targets "$DB" "$DIR")"
    [ -n "$REF" ] && eval "$("$GROW" targets "$REF_DB" "$REFDIR" | sed 's/^/REF_/')"
    for P in "" ${REF:+REF_}; do measure product "$P" "/api/v1/products/$(get "$P" PRODUCT)"; done
    for P in "" ${REF:+REF_}; do
        measure order "$P" "/api/v1/orders/$(get "$P" ORDER)" "$(get "$P" BUYER_TOKEN)"
    done
    for P in "" ${REF:+REF_}; do measure me1 "$P" /api/v1/me/orders "$(get "$P" BUYER_TOKEN)"; done
    for P in "" ${REF:+REF_}; do
        measure me_deep "$P" "/api/v1/me/orders?cursor=$(cursor "$(get "$P" BUYER_DEEP)")" \
            "$(get "$P" BUYER_TOKEN)"
    done
    for P in "" ${REF:+REF_}; do
        measure shop1 "$P" "/api/v1/shops/$(get "$P" SHOP)/orders" "$(get "$P" OWNER_TOKEN)"
    done
    for P in "" ${REF:+REF_}; do
        measure shop_deep "$P" \
            "/api/v1/shops/$(get "$P" SHOP)/orders?cursor=$(cursor "$(get "$P" SHOP_DEEP)")" \
            "$(get "$P" OWNER_TOKEN)"
    done
    measure refunded "" "/api/v1/shops/$SHOP/orders?status=refunded&cursor=$(cursor "$REFUNDED_DEEP")" \
        "$OWNER_TOKEN"
    if [ -n "$REF" ]; then # server CPU per order and per read: the grown store's, the empty one's
        set -- $(median "$DIR/runs-ref")
        line="$N|$cpu|$1"
        for v in product order me1 me_deep shop1 shop_deep; do
            line="$line|$(get "" $v | cut -d'|' -f3)|$(get REF_ $v | cut -d'|' -f3)"
        done
        # each load against the empty store's next to it, in the order they ran
        pairs=$(paste -d' ' "$DIR/runs" "$DIR/runs-ref" | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 / ($6 + 0.001) }')
        echo "$line|$pairs" >>"$REFROWS"
    fi
    rss=$(rss_mib)
    stop_server
    stop_server REF_
    unset QUANZI_SQL_PROFILE
    if [ -n "${GROWTH_PROFILE:-}" ] && [ "$BACKEND" = sqlite ]; then
        # how SQLite runs the statements the server ran (the top 40 by time)
        grep -E '^ *[0-9.]+ +[0-9]+ ' "$DIR/sql-$N.txt" | head -40 |
            sed -E 's/^ *[0-9.]+ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+  //' |
            grep -Ev '^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA)' |
            while IFS= read -r sql; do
                echo "$sql"
                sqlite3 -readonly "$DB" "EXPLAIN QUERY PLAN $sql" 2>&1 | sed 's/^/    /'
            done >"$DIR/plans-$N.txt"
    fi
    ledger=$(ms_of "$BIN" ledger check --data-dir "$DIR" --db "$DB")
    settle=$(ms_of "$BIN" jobs run settle_commissions --data-dir "$DIR" --db "$DB")
    echo "$N|$orders|$p99|$cpu|$held|$per_batch|$product|$order|$me1|$me_deep|$shop1|$shop_deep|$refunded|$ledger|$settle|$(store_mib)|$rss|$BUYER_ORDERS|$SHOP_ORDERS" >>"$ROWS"
done

echo
echo "quanzi growth bench ($BACKEND, $(nproc) cores): order create+pay with wrk 32 connections, ${SECS}s a load;"
echo "reads with wrk 8 connections, ${RSECS}s each; each cell of a read: requests/s, p99, server CPU us per request;"
echo "writer: SQLite's one writer held per order (us) and the writes one batch carried"
awk -F'|' 'BEGIN {
    printf "%-9s %-22s %-13s %-20s %-20s %-20s %-20s %-20s %-20s %-20s %-9s %-9s %-7s %-6s\n",
        "orders", "create+pay/s p99 us", "writer us b", "GET product", "GET order",
        "me/orders first", "me/orders deep", "shop orders first", "shop orders deep",
        "shop refunded deep", "ledger ms", "settle ms", "MiB", "RSS"}
{ printf "%-9s %-22s %-13s %-20s %-20s %-20s %-20s %-20s %-20s %-20s %-9s %-9s %-7s %-6s\n", $1,
        $2 " " $3 " " $4, $5 " " $6, $7 "/s " $8 " " $9 "us", $10 "/s " $11 " " $12 "us",
        $13 "/s " $14 " " $15 "us", $16 "/s " $17 " " $18 "us", $19 "/s " $20 " " $21 "us",
        $22 "/s " $23 " " $24 "us", $25 "/s " $26 " " $27 "us", $28, $29, $30, $31 }' \
    "$ROWS" 2>/dev/null || cat "$ROWS"
if [ -s "$REFROWS" ]; then
    echo
    echo "against an empty store measured beside it (their loads and reads alternate, in the same minutes):"
    echo "server CPU us per order or request, the grown store's / the empty one's, and the ratio"
    awk -F'|' 'function r(a, b) { return sprintf("%s/%s %.2fx", a, b, b > 0 ? a / b : 0) }
    BEGIN { printf "%-9s %-17s %-17s %-17s %-17s %-17s %-17s %-17s %s\n", "orders", "create+pay",
        "GET product", "GET order", "me/orders first", "me/orders deep", "shop orders first",
        "shop orders deep", "create+pay, load by load" }
    { printf "%-9s %-17s %-17s %-17s %-17s %-17s %-17s %-17s %s\n", $1, r($2, $3), r($4, $5),
        r($6, $7), r($8, $9), r($10, $11), r($12, $13), r($14, $15), $16 }' "$REFROWS"
fi
if [ -n "${GROWTH_PROFILE:-}" ] && [ "$BACKEND" = sqlite ]; then # SQLite's own timing
    for N in $SIZES; do
        echo
        echo "the server's SQL at $N orders (total ms, runs, us per run; the top 15):"
        head -17 "$DIR/sql-$N.txt" | cut -c1-160
        [ -f "$DIR/plans-$N.txt" ] && echo "(their plans: $DIR/plans-$N.txt)"
    done
fi
