#!/bin/sh
# Install the Debian packages quanzi needs to build, test and benchmark.
# Idempotent and quiet: prints nothing when everything is already present.
set -eu

PKGS="build-essential cmake pkg-config
libmicrohttpd-dev libsqlite3-dev libpq-dev libsodium-dev libjansson-dev
libcmocka-dev libcurl4-openssl-dev libssl-dev postgresql wrk sqlite3
libqrencode-dev libcairo2-dev libpango1.0-dev libjpeg-dev fonts-noto-cjk
chromium zbar-tools"
# Node.js for the browser tests: the machine's own when there is one, else Debian's
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
# make fuzz builds with clang and links libFuzzer (clang's runtime)
[ "${QUANZI_SETUP_FUZZ:-0}" = 1 ] && PKGS="$PKGS clang libclang-rt-dev"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
browser_tests() {
    # playwright-core as package-lock.json pins it; it never downloads a browser
    # (the tests drive Debian's /usr/bin/chromium)
    dir="$(dirname "$0")/../tests/browser"
    [ -d "$dir/node_modules/playwright-core" ] && return 0
    echo "setup: npm ci in tests/browser"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

if [ -z "$missing" ]; then
    browser_tests
    exit 0
fi

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
browser_tests
