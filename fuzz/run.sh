#!/usr/bin/env bash
# Runs every fuzz target for SECONDS_PER_TARGET (default 300) with cargo-fuzz on the stable toolchain
# (RUSTC_BOOTSTRAP=1), seeding each corpus from the hand-written wire fixtures. Not part of CI.
#   cargo install cargo-fuzz --version 0.13.2 --locked   # once
#   fuzz/run.sh [target ...]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${SECONDS_PER_TARGET:-300}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(sse openai_chat openai_responses anthropic_messages error_parser)
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  for f in ../tests/fixtures/wire/*/*; do
    cp -n "$f" "corpus/$t/$(basename "$(dirname "$f")")-$(basename "$f")"
  done
  echo "=== $t"
  RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$seconds" -print_final_stats=1 2>&1 \
    | grep -E "Done [0-9]+ runs|SUMMARY|panicked|Test unit written" || true
done
echo "crash inputs, if any, are in fuzz/artifacts/<target>; copy them to tests/fixtures/fuzz-regressions/<target>"
