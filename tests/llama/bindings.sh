#!/usr/bin/env bash
# The bindings against llama.cpp's server: one streamed turn each from Node and from Python, against
# one server started here (the Rust suite, tests/tests/llama.rs, starts its own). Run after the
# bindings are built (make test runs it last): bash tests/llama/bindings.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="$(bash "$root/tests/llama/setup.sh")"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"
# Run alone (not under make test), the sessions still go to a throwaway data directory.
home=""
if [ -z "${MODELPORT_HOME:-}" ]; then home="$(mktemp -d)"; export MODELPORT_HOME="$home"; fi
exec 3> >("$python" "$root/tests/llama/serve.py" "$port" smollm2 > "$log.out" 2> "$log")
trap 'exec 3>&-; sleep 0.5; rm -f "$log" "$log.out"; [ -z "$home" ] || rm -rf "$home"' EXIT
for _ in $(seq 1 240); do grep -q READY "$log.out" 2>/dev/null && break; sleep 0.25; done
if ! grep -q READY "$log.out"; then
  echo "llama.cpp's server did not start:" >&2
  cat "$log" >&2
  exit 1
fi
url="http://127.0.0.1:$port"
node "$root/tests/llama/stream_turn.mjs" "$url"
py_venv="${CARGO_TARGET_DIR:-$root/target}/py-venv"
"$py_venv/bin/python" "$root/tests/llama/stream_turn.py" "$url"
