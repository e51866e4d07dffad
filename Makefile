# The two commands the README opens with: `make run` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= release
BIN = .build/$(CONFIG)/swiftlet

.PHONY: run test build unit e2e clean

build:
	./scripts/setup.sh
	$(SWIFT) build -c $(CONFIG)

# A single-node cluster on the embedded SQLite datastore, in the foreground.
run: build
	$(BIN) server $(ARGS)

# Every test: unit tests, then the end-to-end suite driving the real kubectl.
# One debug build serves both: the unit tests and the binary the end-to-end tests start.
test:
	./scripts/setup.sh --test
	$(SWIFT) build --build-tests
	@# CI shows only the end of the output: the failed expectations are repeated there.
	set -o pipefail; $(SWIFT) test --skip-build 2>&1 | tee .build/unit-tests.log \
	  || { echo "== unit test failures"; grep -a 'recorded an issue' .build/unit-tests.log | cut -c1-300 | tail -n 20; exit 1; }
	SWIFTLET_BIN=.build/debug/swiftlet python3 -m pytest -q tests/e2e

clean:
	rm -rf .build
