# Zest: the two entry points are `make demo` and `make test` (see README.md).
# Both install what is missing on a Debian 12 machine with the Swift toolchain, as root.

SWIFT        ?= swift
VENV         ?= $(CURDIR)/.venv
ASAN_SCRATCH ?= $(CURDIR)/.build-asan
# Release builds link the Swift runtime and Foundation statically and bind every symbol at
# start: with StartupPages.release() an idle process stays near 5 MiB RSS. Each function gets
# its own section and the linker puts the ones a connection runs (scripts/zest-link-order.txt,
# written by Benchmarks/scripts/hot-functions.sh) next to each other: ~3 MiB less RSS after
# traffic (docs/bench/rss.md). The binary stays at .build/release/zest; build scripts use
# `make release`.
RELEASE_FLAGS ?= -c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections \
	-Xcc -ffunction-sections -Xlinker -z -Xlinker now \
	-Xlinker --section-ordering-file=$(CURDIR)/scripts/zest-link-order.txt
RELEASE_STAMP := .build/release-flags
export ZEST_VENV := $(VENV)

.PHONY: all deps build release test test-unit test-asan demo bench clean

all: build

deps:
	@bash scripts/setup.sh

build: deps
	$(SWIFT) build

# Only the executable: ZestTestSupport imports Testing, which the static SDK does not have.
# The incremental build does not recompile when -Xfrontend/-Xcc flags change, so a change of
# RELEASE_FLAGS starts the release build afresh; a newer link order only relinks.
release: deps
	@if [ "$$(cat $(RELEASE_STAMP) 2>/dev/null)" != "$(RELEASE_FLAGS)" ]; then \
		rm -rf "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)" .build/release.yaml .build/build.db; fi
	@if [ scripts/zest-link-order.txt -nt .build/release/zest ]; then rm -f .build/release/zest; fi
	$(SWIFT) build $(RELEASE_FLAGS) --product zest
	@echo "$(RELEASE_FLAGS)" > $(RELEASE_STAMP)

# The whole suite: unit, integration (network namespaces, real peers) and a LeakSanitizer
# run of the reactor and relay tests.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) test-asan

# The reactor and relay suites under AddressSanitizer/LeakSanitizer. The per-pod proxy suites
# and EagerBindingTests are left out: they start processes through Foundation's Process, which
# trips ASan inside Foundation itself (findMaximumOpenFromProcSelfFD reads past its buffer).
test-asan:
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan-suppressions.txt:print_suppressions=0 \
	$(SWIFT) test --sanitize=address --scratch-path $(ASAN_SCRATCH) --filter 'ZestReactorTests|ZestProxyTests\.(Relay|DirectionCopy)' \
		--skip EagerBindingTests

# Two nodes and three pods in network namespaces, enrolled without restart, mTLS and the
# payments policies; prints a report from Zest's metrics and access log (scripts/demo/).
demo: release
	ZEST=$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/zest bash scripts/demo/demo.sh

bench: release
	bash Benchmarks/scripts/relay-compare.sh
	bash Benchmarks/scripts/tls-bench.sh
	bash Benchmarks/scripts/idle-rss.sh

clean:
	rm -rf .build .build-asan
