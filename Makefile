# One entry point for humans and CI: `make test` runs every check and every test.
SHELL := /bin/bash
CARGO ?= cargo
# napi's CLI always builds for an explicit target; building everything for it keeps one target tree.
export CARGO_BUILD_TARGET ?= x86_64-unknown-linux-gnu

.PHONY: dist dist-ci test-dist test-python-wheel all fmt fmt-check lint package-check fuzz-check test test-all test-rust test-cli test-examples test-examples-python test-python test-node test-ffi test-llama-bindings bench bench-load quickstart

all: test

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) test --workspace

# The command line as a child process against the replay provider on 127.0.0.1 (chat also on a
# pseudo-terminal). test-rust runs these too; selecting the whole workspace keeps its features, so
# nothing is built twice (`cargo test -p modelport-cli` would build core's dependencies again).
test-cli:
	$(CARGO) test --workspace --test cli

# The core crate and the command line package as crates.io would take them (their own READMEs, no
# path outside their folders). `cargo publish --dry-run -p modelport` also builds the packaged core
# (by hand: it needs the crates.io index; the command line's needs core published first).
package-check:
	$(CARGO) package --list -p modelport --allow-dirty > /dev/null
	$(CARGO) package --list -p modelport-cli --allow-dirty > /dev/null

# The fuzz targets still build (their own workspace and lock file; `cargo check` needs no nightly
# or sanitizer), and fuzz/run.sh fails when a target crashes (tested with stand-in fuzzers).
fuzz-check:
	cd fuzz && $(CARGO) check --bins --target-dir ../target/fuzz-check
	bash fuzz/run_test.sh

test-python:
	bash bindings-python/scripts/test.sh

# The shipped packages (wheel and sdist, the two npm tarballs, the C tarball) in dist/, built with the
# `dist` profile (LTO, stripped). Takes a while; `dist-ci` builds the same files with the dev profile.
dist:
	bash scripts/dist.sh

dist-ci:
	MODELPORT_DIST_PROFILE=dev MODELPORT_DIST_DIR=target/dist-ci bash scripts/dist.sh

# Installs the packages as a user would (no Rust on PATH, empty directories) and runs each
# quickstart: those of dist-ci (`make test-dist DIST=dist` for make dist's).
DIST ?= target/dist-ci
test-dist:
	bash scripts/test-dist.sh $(DIST)

test-node:
	bash bindings-node/scripts/test.sh

test-ffi:
	bash bindings-ffi/scripts/test.sh

# One streamed turn from Node and from Python against llama.cpp's server (after the bindings are built).
test-llama-bindings:
	bash tests/llama/bindings.sh

# Every check and every test (the README's test command; .ci/run calls it), with a throwaway
# PostgreSQL cluster and a temporary MODELPORT_HOME for the session stores.
test:
	bash scripts/with-pg.sh $(MAKE) test-all

# The packages are built once (dev profile) before the binding tests: the Python suite runs against
# the wheel that test-dist then installs as a user would.
test-all: fmt-check lint package-check fuzz-check test-rust test-cli test-examples dist-ci test-python-wheel test-examples-python test-node test-ffi test-dist test-llama-bindings

test-python-wheel:
	set -euo pipefail; wheels=($(DIST)/modelport-*.whl); \
	[ "$${#wheels[@]}" -eq 1 ] && [ -f "$${wheels[0]}" ] || { echo "test-python-wheel: want one wheel in $(DIST), found: $${wheels[*]}" >&2; exit 1; }; \
	MODELPORT_WHEEL="$${wheels[0]}" bash bindings-python/scripts/test.sh

# The Rust examples run offline; durable.rs runs twice and must remember the name across runs.
test-examples:
	set -euo pipefail; d="$$(mktemp -d)"; trap 'rm -rf "$$d"' EXIT; \
	for e in quickstart streaming tools; do env -u MODELPORT_PROVIDER $(CARGO) run -q --example $$e > "$$d/out"; done; \
	export MODELPORT_EXAMPLE_STORE="sqlite://$$d/sessions.db"; \
	env -u MODELPORT_PROVIDER $(CARGO) run -q --example durable > "$$d/first"; \
	env -u MODELPORT_PROVIDER $(CARGO) run -q --example durable > "$$d/second"; \
	grep -q "Started session" "$$d/first" || { cat "$$d/first"; exit 1; }; \
	grep -q "Your name is Ada." "$$d/second" || { cat "$$d/second"; exit 1; }; \
	$(CARGO) run -q --example guardrail > "$$d/guard"; \
	grep -q 'model saw: "customer c-42 is Ada Lovelace, \[email\]"' "$$d/guard" || { cat "$$d/guard"; exit 1; }; \
	grep -q "denied by policy. Reason: deletions need a human" "$$d/guard" || { cat "$$d/guard"; exit 1; }

# The same across two Python processes (with the venv test-python built), and the Python guardrail
# printing what the Rust one prints.
test-examples-python:
	set -euo pipefail; d="$$(mktemp -d)"; trap 'rm -rf "$$d"' EXIT; \
	py="$${CARGO_TARGET_DIR:-target}/py-venv/bin/python"; \
	export MODELPORT_EXAMPLE_STORE="sqlite://$$d/sessions.db"; \
	env -u MODELPORT_PROVIDER "$$py" examples/python/durable.py > "$$d/first"; \
	env -u MODELPORT_PROVIDER "$$py" examples/python/durable.py > "$$d/second"; \
	grep -q "Started session" "$$d/first" || { cat "$$d/first"; exit 1; }; \
	grep -q "Your name is Ada." "$$d/second" || { cat "$$d/second"; exit 1; }; \
	env -u MODELPORT_PROVIDER "$$py" examples/python/guardrail.py > "$$d/guard"; \
	grep -q 'model saw: "customer c-42 is Ada Lovelace, \[email\]"' "$$d/guard" || { cat "$$d/guard"; exit 1; }; \
	grep -q "denied by policy. Reason: deletions need a human" "$$d/guard" || { cat "$$d/guard"; exit 1; }

quickstart:
	$(CARGO) run --example quickstart

# Criterion benchmarks of the core (decoders, request building, event fan-out).
bench:
	$(CARGO) bench -p modelport --features testing

# End-to-end load figures: exactly the commands BENCHMARKS.md documents, in its order, each once.
# Stops at the first failure: the load tool exits non-zero when any turn failed. 10,000 concurrent
# sessions need `ulimit -n` of at least 10,256; when the hard limit is lower this fails and says so.
# The session-store commands run with a throwaway PostgreSQL cluster (scripts/with-pg.sh); when it
# cannot start, their PostgreSQL rows say "not measured".
bench-load:
	$(CARGO) build --release -p modelport-bench
	set -euo pipefail; \
	B=target/$(CARGO_BUILD_TARGET)/release/loadtest; \
	$$B turn --n 5000; \
	$$B stream --n 200; \
	$$B concurrent --sessions 100; \
	$$B concurrent --sessions 1000; \
	ulimit -Sn 10256 || { echo "bench-load: concurrent --sessions 10000 needs ulimit -n >= 10256; the hard limit is $$(ulimit -Hn)" >&2; exit 1; }; \
	$$B concurrent --sessions 10000; \
	$$B memory; \
	$$B server-ceiling; \
	$$B server-ceiling --stream --n 10000 --concurrency 100; \
	$$B server-ceiling --stream --n 10000 --concurrency 1000; \
	$$B soak --sessions 1000 --turns 20; \
	$$B cancel --n 200; \
	bash scripts/with-pg.sh bash -c "set -e; $$B store send --n 2000; $$B store resume; \
		$$B store list --sessions 10000; $$B store concurrent --sessions 1000"; \
	$$B compaction --sends 500 --window 8000
