#!/usr/bin/env bash
# Tests fuzz/run.sh with stand-in fuzzers (FUZZ_CMD), so that a crash can never pass as a clean run:
# a fuzzer that succeeds gives exit 0 and seeds that are the cut prefix followed by every byte of the
# fixture; one that fails, aborts or cannot be started gives a non-zero exit naming the target, after
# the other targets ran. Run by `make fuzz-check`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check() { # name, then a command that must succeed
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $name" >&2
  fi
}

fails() { ! "$@"; }

# A stand-in fuzzer: records its arguments, then behaves as $STANDIN_MODE says for $STANDIN_TARGET
# (every target when that is unset) and succeeds for the others.
cat >"$work/fuzzer" <<'EOF'
#!/usr/bin/env bash
echo "$*" >>"$STANDIN_LOG"
if [ -n "${STANDIN_TARGET:-}" ] && [ "$1" != "$STANDIN_TARGET" ]; then
  echo "Done 10 runs in 1 second(s)"
  exit 0
fi
case "$STANDIN_MODE" in
  ok) echo "Done 10 runs in 1 second(s)" ;;
  fail)
    echo "==1== ERROR: libFuzzer: deadly signal"
    echo "SUMMARY: libFuzzer: deadly signal"
    exit 1
    ;;
  abort) kill -ABRT $$ ;;
esac
EOF
chmod +x "$work/fuzzer"

# Runs fuzz/run.sh with the stand-in in MODE (for TARGET, or all) on the given targets; prints its
# output into $work/out and returns its exit status.
run() { # mode, target ("" for all), run.sh arguments...
  local mode=$1 target=$2
  shift 2
  rm -rf "$work/corpus" "$work/args"
  STANDIN_MODE=$mode STANDIN_TARGET=$target STANDIN_LOG="$work/args" FUZZ_CMD="$work/fuzzer" \
    FUZZ_CORPUS="$work/corpus" SECONDS_PER_TARGET=1 bash "$here/run.sh" "$@" >"$work/out" 2>&1
}

# Every seed is the prefix, then the fixture byte for byte; every fixture has its seed.
seeds_intact() { # target, prefix length
  local t=$1 n=$2 f seed count=0
  while IFS= read -r f; do
    seed="$work/corpus/$t/seed-$(echo "$f" | tr / -)"
    f="$here/../tests/fixtures/wire/$f"
    [ -f "$seed" ] || { echo "no seed for $f" >&2; return 1; }
    [ "$(stat -c %s "$seed")" -eq $(($(stat -c %s "$f") + n)) ] || { echo "$seed: wrong size" >&2; return 1; }
    tail -c +$((n + 1)) "$seed" | cmp -s - "$f" || { echo "$seed: bytes differ" >&2; return 1; }
    count=$((count + 1))
  done < <(cd "$here/../tests/fixtures/wire" && find . -type f -printf '%P\n')
  [ "$count" -gt 0 ] && [ "$(find "$work/corpus/$t" -type f | wc -l)" -eq "$count" ]
}

check "a clean run exits 0" run ok "" sse error_parser
check "the fuzzer is given the target and its corpus" \
  grep -qx "sse $work/corpus/sse -- -max_total_time=1 -print_final_stats=1" "$work/args"
check "stream seeds keep the fixture's bytes after the cut prefix" seeds_intact sse 4
check "error parser seeds keep the fixture's bytes after status and cut prefix" seeds_intact error_parser 4

check "a crash exits non-zero" fails run fail sse sse openai_chat
check "the crash is named" grep -q "crashed: sse" "$work/out"
check "the other targets still ran" grep -q "^openai_chat " "$work/args"

check "an abort exits non-zero" fails run abort "" anthropic_messages
check "a fuzzer that cannot start exits non-zero" fails env FUZZ_CMD="$work/no-such-fuzzer" \
  FUZZ_CORPUS="$work/corpus" bash "$here/run.sh" sse >/dev/null 2>&1

echo "fuzz/run.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
