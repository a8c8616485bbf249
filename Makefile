# The two commands of the README: `make run` and `make test`.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
DATA ?= data
PORT ?= 8080

.PHONY: all setup build build-debug run test crash bench fuzz fmt clean

all: build

setup:
	@sh scripts/setup.sh

build: setup
	@cmake --preset release >/dev/null
	@cmake --build build/release -j $(JOBS)

build-debug: setup
	@cmake --preset debug >/dev/null
	@cmake --build build/debug -j $(JOBS)

run: build
	@./build/release/quanzi demo --data-dir $(DATA)
	@exec ./build/release/quanzi serve --data-dir $(DATA) --port $(PORT)

test: build-debug
	@cd build/debug && ctest -j $(JOBS) --output-on-failure

# the long crash run: 100 kills under concurrent writes (tests/crash/test_crash.c)
crash: build-debug
	@cd build/debug && QUANZI_BIN=$$PWD/quanzi ./crash_test --cycles $${CYCLES:-100}

bench: build
	@sh bench/run.sh
	@sh bench/orders.sh
	@sh bench/settle.sh
	@sh bench/graph/run.sh
	@sh bench/web.sh
	@sh bench/wechatpay.sh

# libFuzzer over tests/fuzz (clang); new inputs join the corpus that make test replays
fuzz:
	@QUANZI_SETUP_FUZZ=1 sh scripts/setup.sh
	@cmake --preset fuzz >/dev/null
	@cmake --build build/fuzz -j $(JOBS) --target fuzz_targets
	@sh tests/fuzz/run.sh

fmt:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
