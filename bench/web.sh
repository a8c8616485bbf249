#!/bin/sh
# The web front end and posters on a release server with the demo shop: the shell and
# a module (wrk: requests/s, and the server's CPU per request), a poster drawn (posters/
# emptied before each request) and a poster read from the cache (curl).
#
#   sh bench/web.sh            (make bench runs it)
#   BENCH_SECONDS=10 BENCH_POSTERS=20 sh bench/web.sh
set -eu
cd "$(dirname "$0")/.."

SECS=${BENCH_SECONDS:-5}
N=${BENCH_POSTERS:-20}
command -v wrk >/dev/null || { echo "bench: wrk is missing (sh scripts/setup.sh)" >&2; exit 1; }
. bench/serve.sh
serve_release

cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
hz=$(getconf CLK_TCK)

printf '%-28s %12s %14s\n' "what" "requests/s" "CPU µs/req"
for path in / /js/app.mjs; do
    t0=$(cpu_ticks)
    out=$(wrk -t2 -c32 -d"${SECS}s" "$URL$path" 2>/dev/null)
    t1=$(cpu_ticks)
    reqs=$(printf '%s\n' "$out" | awk '/requests in/ {print $1}')
    rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ {printf "%d", $2}')
    cpu=$(awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
    printf '%-28s %12s %14s\n' "GET $path" "$rps" "$cpu"
done

TOKEN=$(curl -s -X POST "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"login":"13910000001","password":"walnut-demo-2026"}' | sed 's/.*"token":"\([^"]*\)".*/\1/')
poster() { curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" "$URL/api/v1/shares/1/poster.png"; }
drawn=$(for _ in $(seq "$N"); do rm -f "$DIR"/posters/*.png; poster; done | awk '{s += $1} END {printf "%.1f", s * 1000 / NR}')
poster >/dev/null
kept=$(for _ in $(seq "$N"); do poster; done | awk '{s += $1} END {printf "%.2f", s * 1000 / NR}')
printf '%-28s %12s ms (mean of %s, drawn each time)\n' "poster drawn" "$drawn" "$N"
printf '%-28s %12s ms (mean of %s, from posters/)\n' "poster kept" "$kept" "$N"
