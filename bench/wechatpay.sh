#!/bin/sh
# CPU per WeChat Pay operation (bench/wechatpay.c), release build.
#   sh bench/wechatpay.sh [N]
set -eu
cd "$(dirname "$0")/.."
[ -x build/release/bench_wechatpay ] || { echo "bench: build first (make bench)" >&2; exit 1; }
exec ./build/release/bench_wechatpay "${1:-2000}"
