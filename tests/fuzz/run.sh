#!/bin/sh
# make fuzz: runs every libFuzzer target (build/fuzz, clang) for FUZZ_SECONDS
# each, starting from its seeds and corpus, then keeps the smallest set of
# inputs that covers everything found beyond the seeds (libFuzzer's -merge) as
# the new corpus. A crash
# stops the run and leaves the input in build/fuzz/crashes/ to replay with
#   build/debug/fuzz_NAME build/fuzz/crashes/NAME-crash-...
#   FUZZ_SECONDS=300 make fuzz       FUZZ_TARGETS="fuzz_body" make fuzz
set -eu
cd "$(dirname "$0")/../.."
SECS=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')}
mkdir -p build/fuzz/crashes
for t in $TARGETS; do
    corpus=tests/fuzz/corpus/$t
    seeds=tests/fuzz/seeds/$t
    work=build/fuzz/work-$t
    merged=build/fuzz/merged-$t
    rm -rf "$work" "$merged"
    mkdir -p "$corpus" "$work" "$merged"
    echo "fuzz: $t for ${SECS}s"
    # found inputs go to $work; the corpus and the seeds are only read
    "./build/fuzz/$t" -max_total_time="$SECS" -max_len=4096 -print_final_stats=1 \
        -artifact_prefix="build/fuzz/crashes/$t-" "$work" "$corpus" "$seeds" 2>"build/fuzz/$t.log" || {
        tail -n 40 "build/fuzz/$t.log" >&2
        echo "fuzz: $t failed; the input is in build/fuzz/crashes/" >&2
        exit 1
    }
    grep -E '^stat::number_of_executed_units|^#[0-9]+ *DONE' "build/fuzz/$t.log" || true
    # what the seeds already cover is not kept twice
    cp "$seeds"/* "$merged"/
    "./build/fuzz/$t" -merge=1 "$merged" "$corpus" "$work" 2>>"build/fuzz/$t.log"
    for f in "$seeds"/*; do rm -f "$merged/$(basename "$f")"; done
    rm -rf "$corpus"
    mv "$merged" "$corpus"
    rm -rf "$work"
    echo "fuzz: $t corpus: $(ls "$corpus" | wc -l) inputs"
done
