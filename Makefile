# Zest: the two entry points are `make demo` and `make test` (see README.md).
# Both install what is missing on a Debian 12 machine with the Swift toolchain, as root.

SWIFT        ?= swift
VENV         ?= $(CURDIR)/.venv
ASAN_SCRATCH ?= $(CURDIR)/.build-asan
export ZEST_VENV := $(VENV)

.PHONY: all deps build release test test-unit test-asan demo bench clean

all: build

deps:
	@bash scripts/setup.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The whole suite: unit, integration (network namespaces, real peers) and a LeakSanitizer
# run of the reactor and relay tests.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) test-asan

test-asan:
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan-suppressions.txt:print_suppressions=0 \
	$(SWIFT) test --sanitize=address --scratch-path $(ASAN_SCRATCH) --filter 'ZestReactorTests|ZestProxyTests'

demo: release
	$(SWIFT) run -c release zest demo

bench: release
	bash Benchmarks/scripts/relay-compare.sh

clean:
	rm -rf .build .build-asan
