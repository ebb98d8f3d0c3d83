#!/usr/bin/env bash
# Runs every fuzz target for SECONDS_PER_TARGET (default 300) with cargo-fuzz on the stable toolchain
# (RUSTC_BOOTSTRAP=1), seeding each corpus from the hand-written wire fixtures. Exits non-zero when a
# target crashes (or the fuzzer cannot run), after running the others. Not part of CI, except through
# fuzz/run_test.sh, which runs it with a stand-in fuzzer.
#   cargo install cargo-fuzz --version 0.13.2 --locked   # once
#   fuzz/run.sh [target ...]
# Environment: FUZZ_CMD, the fuzzer command (default "cargo fuzz run -O", split on spaces; it is given
# the target, the corpus folder, then "--" and libFuzzer's options); FUZZ_CORPUS, the folder holding
# one corpus folder per target (default fuzz/corpus).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${SECONDS_PER_TARGET:-300}
read -r -a fuzz_cmd <<<"${FUZZ_CMD:-cargo fuzz run -O}"
corpus=${FUZZ_CORPUS:-corpus}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(sse openai_chat openai_responses anthropic_messages error_parser)

# Every input starts with bytes that choose where it is cut (testing::invariants::cut_input; the
# error parser's start with a status first), so a seed is that prefix followed by the whole fixture.
seed_prefix() {
  case "$1" in
    # HTTP 429 (100 + 329), the whole fixture as the body: no retry header.
    error_parser) printf '\x49\x01\x00\x00' ;;
    # Cut at a third and at two thirds of the fixture.
    *) printf '\x55\x55\xaa\xaa' ;;
  esac
}

# Every file under tests/fixtures/wire, named by its path there: openai-chat/x.sse -> seed-openai-chat-x.sse
# (a name that seeds of the earlier input format, without the prefix, do not have).
fixtures=../tests/fixtures/wire
seed_name() {
  local name=${1#./}
  echo "seed-${name//\//-}"
}

crashed=()
for t in "${targets[@]}"; do
  mkdir -p "$corpus/$t"
  while IFS= read -r f; do
    seed="$corpus/$t/$(seed_name "$f")"
    [ -e "$seed" ] || { seed_prefix "$t"; cat "$fixtures/$f"; } >"$seed"
  done < <(cd "$fixtures" && find . -type f | sort)
  echo "=== $t"
  status=0
  RUSTC_BOOTSTRAP=1 "${fuzz_cmd[@]}" "$t" "$corpus/$t" -- -max_total_time="$seconds" -print_final_stats=1 2>&1 \
    | { grep -E "Done [0-9]+ runs|SUMMARY|panicked|Test unit written|ERROR|^error|No such file" || true; } \
    || status=$?
  if [ "$status" -ne 0 ]; then
    echo "=== $t failed (exit $status)"
    crashed+=("$t")
  fi
done
if [ ${#crashed[@]} -ne 0 ]; then
  echo "crashed: ${crashed[*]}; the crash inputs are in fuzz/artifacts/<target>: copy them to tests/fixtures/fuzz-regressions/<target>" >&2
  exit 1
fi
echo "no crash"
