#!/bin/sh
# Propagation at a million members (issue 14, point 6): generates the store once
# (kept in $BENCH_SCALE_DIR, default /tmp/quanzi-scale: about 10 GB), times the
# audience of circle shares and whole durable shares by 8 sharers at once
# (bench_scale run), then serves the store and reads GET /api/v1/me/feed with wrk
# as 10,000 different members.
#   BENCH_SCALE_MEMBERS=1000000 BENCH_SECONDS=10 sh bench/scale/run.sh
set -eu
cd "$(dirname "$0")/../.."
BIN=./build/release/bench_scale
SERVER=./build/release/quanzi
N=${BENCH_SCALE_MEMBERS:-1000000}
SECS=${BENCH_SECONDS:-10}
DIR=${BENCH_SCALE_DIR:-/tmp/quanzi-scale}
[ -x "$BIN" ] || { echo "bench: build first (make bench)" >&2; exit 1; }
mkdir -p "$DIR"
DB="$DIR/scale-$N.db"
if [ ! -f "$DB.done" ]; then
    echo "generating $N members into $DB ..."
    "$BIN" gen "$DB" "$N"
    touch "$DB.done"
fi
rm -f "$DIR"/run.db*
cp "$DB" "$DIR/run.db"
"$BIN" run "$DIR/run.db" 8 800
rm -f "$DIR/ready"
"$SERVER" serve --db "$DIR/run.db" --port 0 --ready-file "$DIR/ready" --access-log=false \
    2>"$DIR/server.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT INT TERM
i=0
while [ ! -s "$DIR/ready" ]; do
    i=$((i + 1)); [ $i -gt 3000 ] && { echo "bench: server did not start" >&2; exit 1; }
    sleep 0.02
done
# the members with sessions whose feeds hold something (written by bench_scale run)
cp "$DIR/run.db.readers" "$DIR/members"
READERS=$(tr ',' '\n' <"$DIR/members" | grep -c .)
cat >"$DIR/feed.lua" <<LUA
local m = {$(cat "$DIR/members")}
local n = 0
request = function()
  n = n + 1
  local i = m[(n * 7919) % #m + 1]
  return wrk.format("GET", "/api/v1/me/feed", {["Authorization"] = "Bearer scale" .. string.format("%038d", i)})
end
LUA
wrk -t2 -c64 -d2s -s "$DIR/feed.lua" "http://127.0.0.1:$(cat "$DIR/ready")" >/dev/null
echo "GET /api/v1/me/feed as $READERS members whose feeds hold something (wrk -t2 -c64, ${SECS}s):"
wrk -t2 -c64 -d"${SECS}s" --latency -s "$DIR/feed.lua" "http://127.0.0.1:$(cat "$DIR/ready")" |
    grep -E "Requests/sec|99%|50%|Non-2xx"
echo "server RSS: $(awk '/VmRSS/ {print $2 / 1024 " MB"}' /proc/$PID/status)"
curl -s "http://127.0.0.1:$(cat "$DIR/ready")/api/v1/me/feed?limit=3" -H "Authorization: Bearer scale$(printf %038d "$(cut -d, -f1 "$DIR/members")")" | head -c 300; echo
