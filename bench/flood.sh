#!/bin/sh
# Reads during a flood of wrong logins (issue 17): a release server with the demo shop
# behind a "proxy" (127.0.0.1 trusted, X-Forwarded-For from many addresses), wrk sending
# wrong logins for BENCH_SECONDS, and meanwhile GET /healthz and a shop read, one after
# another, timed by curl: their p50 and worst, and how the logins were answered.
#   sh bench/flood.sh
set -eu
cd "$(dirname "$0")/.."
SECS=${BENCH_SECONDS:-10}
. bench/serve.sh
serve_release --trusted-proxies 127.0.0.1
wrk -t2 -c32 -d"${SECS}s" -s bench/login_flood.lua "$URL" >"$DIR/wrk" 2>&1 &
WRK=$!
sleep 1
for path in /healthz /api/v1/shops/1; do
    for _ in $(seq 40); do
        curl -s -o /dev/null -w '%{time_total}\n' "$URL$path"
        sleep 0.1
    done | sort -n | awk -v p="$path" '{t[NR] = $1} END {
        printf "%-18s p50 %6.1f ms, worst %7.1f ms (%d reads during the flood)\n", p,
            t[int((NR + 1) / 2)] * 1000, t[NR] * 1000, NR}'
done
wait $WRK
grep -E "Requests/sec" "$DIR/wrk" | sed 's/^/logins: /'
# how the logins were answered, from the server's own counters
curl -s -m 5 "$URL/metrics" > "$DIR/metrics" || true
grep 'route="POST /api/v1/auth/login"' "$DIR/metrics" | grep requests_total |
    sed 's/.*status="\([0-9a-z]*\)"} \(.*\)/logins answered \1: \2/'
