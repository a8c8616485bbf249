#!/bin/sh
# The settlement job over 1M pending commissions (issue 5: goal <= 10 s on
# SQLite), on a fresh SQLite file and then on a throwaway PostgreSQL cluster.
#   BENCH_SETTLE_N=1000000 BENCH_BACKENDS="sqlite postgres" sh bench/settle.sh
set -eu
cd "$(dirname "$0")/.."
BIN=./build/release/bench_settle
N=${BENCH_SETTLE_N:-1000000}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
[ -x "$BIN" ] || { echo "bench: build first (make bench)" >&2; exit 1; }
DIR=$(mktemp -d "${TMPDIR:-/tmp}/quanzi-settle-XXXXXX")
PGDIR=/tmp/quanzi-settle-pg-$$
cleanup() {
    [ -d "$PGDIR" ] && sh scripts/pg-test-cluster.sh stop "$PGDIR" >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
for b in $BACKENDS; do
    case $b in
    sqlite)
        echo "sqlite (synchronous=FULL):"
        "$BIN" "$DIR/settle.db" "$N" ;;
    postgres)
        if sh scripts/pg-test-cluster.sh start "$PGDIR" >/dev/null 2>&1; then
            PGHOST=$PGDIR/sock PGPORT=5432 PGUSER=postgres psql -q -d postgres \
                -c "CREATE DATABASE quanzi_settle" >/dev/null
            echo "postgres (test cluster, fsync off):"
            PGHOST=$PGDIR/sock PGPORT=5432 PGUSER=postgres "$BIN" postgresql:///quanzi_settle "$N"
            sh scripts/pg-test-cluster.sh stop "$PGDIR" >/dev/null 2>&1
        fi ;;
    esac
done
