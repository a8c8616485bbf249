#!/bin/sh
# A throwaway PostgreSQL cluster for the test suite.
#   pg-test-cluster.sh start DIR   initdb into DIR/data, serve on the Unix socket DIR/sock
#                                  (port 5432 names the socket; no TCP listener at all)
#   pg-test-cluster.sh stop DIR    stop it and delete DIR
#   pg-test-cluster.sh resume DIR  serve the cluster kept in DIR (a new one if there is none)
#   pg-test-cluster.sh halt DIR    stop it and keep DIR (bench/growth.sh's kept stores)
# As root, the server runs as the `postgres` user (PostgreSQL refuses root).
# Durability is off: the cluster only lives for one test run. PGTEST_OPTS adds server
# options (bench/growth.sh: a page cache the size of SQLite's).
set -eu
cmd=${1:?start or stop}
dir=${2:?directory}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bindir/initdb" ] || { echo "pg-test-cluster: PostgreSQL server binaries not found" >&2; exit 1; }

asuser() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
    if [ -f "$dir/data/postmaster.pid" ]; then
        asuser "$bindir/pg_ctl" -D "$dir/data" stop -m fast -w >/dev/null 2>&1 ||
            asuser "$bindir/pg_ctl" -D "$dir/data" stop -m immediate >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

serve() {
    asuser "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-k $dir/sock -p 5432 -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 ${PGTEST_OPTS:-}" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "pg-test-cluster: serving on $dir/sock"
}

case $cmd in
start)
    stop
    mkdir -p "$dir/sock"
    [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
    asuser "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    serve
    ;;
resume)
    [ -f "$dir/data/PG_VERSION" ] || exec "$0" start "$dir"
    serve
    ;;
stop)
    stop
    ;;
halt)
    [ -f "$dir/data/postmaster.pid" ] &&
        asuser "$bindir/pg_ctl" -D "$dir/data" stop -m fast -w >/dev/null 2>&1 || true
    ;;
*)
    echo "usage: $0 start|stop|resume|halt DIR" >&2
    exit 2
    ;;
esac
