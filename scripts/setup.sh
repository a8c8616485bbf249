#!/bin/sh
# Install the Debian packages quanzi needs to build, test and benchmark.
# Idempotent and quiet: prints nothing when everything is already present.
set -eu

PKGS="build-essential cmake pkg-config
libmicrohttpd-dev libsqlite3-dev libpq-dev libsodium-dev libjansson-dev
libcmocka-dev libcurl4-openssl-dev postgresql wrk"
# make fuzz builds with clang and links libFuzzer (clang's runtime)
[ "${QUANZI_SETUP_FUZZ:-0}" = 1 ] && PKGS="$PKGS clang libclang-rt-dev"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "setup: installing Debian packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages and not root; run: sudo apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "setup: done"
