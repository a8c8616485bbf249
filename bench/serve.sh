# Sourced by the bench scripts: a release server of its own on a fresh data directory
# (with the demo shop unless BENCH_DEMO=0), removed on exit.
#   . bench/serve.sh; serve_release [serve settings...]   -> DIR, PID, PORT, URL
BIN=./build/release/quanzi
[ -x "$BIN" ] || { echo "bench: build first (make bench)" >&2; exit 1; }
DIR=$(mktemp -d "${TMPDIR:-/tmp}/quanzi-bench-XXXXXX")
PID=
cleanup() {
    [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

serve_release() {
    [ "${BENCH_DEMO:-1}" = 0 ] || "$BIN" demo --data-dir "$DIR" >/dev/null 2>&1
    "$BIN" serve --data-dir "$DIR" --port 0 --ready-file "$DIR/ready" --access-log=false \
        "$@" >"$DIR/log" 2>&1 &
    PID=$!
    i=0
    while [ ! -s "$DIR/ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    [ -s "$DIR/ready" ] || { echo "bench: the server did not start:" >&2; cat "$DIR/log" >&2; exit 1; }
    PORT=$(cat "$DIR/ready")
    URL=http://127.0.0.1:$PORT
}
