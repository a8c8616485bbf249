#!/bin/sh
# Memory under bursts of large bodies (issue 17 point 9): a release server, one member, and
# BURSTS bursts of CONC concurrent 1 MiB bodies (PUT /me/interests with one 1 MiB tag, so
# each is read and parsed before it is refused); the server's RSS before, at its highest
# during each burst, and 2 s after it, and how the bodies were answered.
#   sh bench/bodies.sh            (CONC=200 BURSTS=5; serve settings after --, e.g.
#   sh bench/bodies.sh -- --body-memory-mb 512)
set -eu
cd "$(dirname "$0")/.."
CONC=${CONC:-200}
BURSTS=${BURSTS:-5}
[ "${1:-}" = -- ] && shift
BENCH_DEMO=0
. bench/serve.sh
serve_release --max-connections-per-ip 1000 --signups-per-ip-hour 1000 "$@"
rss() { awk '/^VmRSS/ {print int($2 / 1024)}' "/proc/$PID/status"; }
TOKEN=$(curl -s "$URL/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d '{"login":"bodies@example.test","password":"correct horse battery","display_name":"b"}' |
    sed 's/.*"token":"\([^"]*\)".*/\1/')
/usr/bin/python3 -c '
import sys
sys.stdout.write("{\"tags\":{\"" + "x" * (1024 * 1024 - 32) + "\":0.5}}")' >"$DIR/body"
: >"$DIR/curl.cfg"
for _ in $(seq "$CONC"); do
    printf 'url = "%s/api/v1/me/interests"\nrequest = PUT\noutput = /dev/null\n' "$URL" >>"$DIR/curl.cfg"
    printf 'write-out = "%%{http_code}\\n"\n' >>"$DIR/curl.cfg"
done
echo "server RSS at rest: $(rss) MiB"
for b in $(seq "$BURSTS"); do
    curl -s --parallel --parallel-max "$CONC" -K "$DIR/curl.cfg" -X PUT \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        --data-binary @"$DIR/body" >"$DIR/codes" 2>/dev/null &
    C=$!
    peak=0
    while kill -0 $C 2>/dev/null; do
        r=$(rss)
        [ "$r" -gt "$peak" ] && peak=$r
        sleep 0.05
    done
    wait $C || true
    sleep 2
    printf 'burst %d: %d bodies, highest %4d MiB, 2 s after %4d MiB; answered %s\n' "$b" "$CONC" \
        "$peak" "$(rss)" "$(sort "$DIR/codes" | uniq -c | awk '{printf "%s%s x %s", (NR > 1 ? ", " : ""), $2, $1}')"
done
