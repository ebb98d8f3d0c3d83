#!/usr/bin/env bash
# Builds the C ABI library and the C# sample with Mono's C# compiler, then runs it offline against the
# replay provider. Needs `mcs` and `mono` (Debian: apt-get install mono-mcs mono-runtime).
#
#   examples/csharp/run.sh     (from anywhere; CARGO_TARGET_DIR defaults to the workspace's target/)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="$(mkdir -p "${CARGO_TARGET_DIR:-$root/target}" && cd "${CARGO_TARGET_DIR:-$root/target}" && pwd)"
out="$target/examples-csharp"

(cd "$root" && CARGO_TARGET_DIR="$target" cargo build -p modelport-ffi)
mkdir -p "$out"
mcs -nologo -warnaserror -out:"$out/Quickstart.exe" "$root/examples/csharp/Quickstart.cs"
lib="$target/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}debug"
LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" mono "$out/Quickstart.exe" "$root/examples/replay"
