#!/usr/bin/env bash
# Create (or reuse) the Python virtualenv that runs the MCP test servers in
# tests/mcp/. Idempotent and fast when nothing changed: a stamp file inside
# the venv records a hash of tests/mcp/requirements.txt, and the venv is only
# (re)built when that hash differs.
#
# Location: $MODELPORT_MCP_VENV, else ${CARGO_TARGET_DIR:-<repo>/target}/mcp-venv.
# Prints nothing on success; errors go to stderr and the exit status is non-zero.
# Safe to run concurrently (e.g. from parallel tests): builds are serialised
# with flock.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ="$ROOT/tests/mcp/requirements.txt"
PYTHON="${PYTHON:-python3}"

if [[ -n "${MODELPORT_MCP_VENV:-}" ]]; then
  VENV="$MODELPORT_MCP_VENV"
else
  VENV="${CARGO_TARGET_DIR:-$ROOT/target}/mcp-venv"
fi

die() { echo "mcp-venv.sh: $*" >&2; exit 1; }

[[ -f "$REQ" ]] || die "missing $REQ"

WANT="$(sha256sum "$REQ" | cut -d' ' -f1)"
STAMP="$VENV/.modelport-mcp-stamp"

# Up to date when the stamp matches the requirements and the venv's own
# interpreter still runs (it stops running if its base Python went away).
up_to_date() {
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] && "$VENV/bin/python" -c '' >/dev/null 2>&1
}

# Fast path: nothing to do, no lock taken.
if up_to_date; then
  exit 0
fi

mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9
# Someone else may have finished the build while we waited for the lock.
if up_to_date; then
  exit 0
fi

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (Python >= 3.10 is needed)"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "$PYTHON is older than 3.10; the mcp SDK needs >= 3.10"

LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
fail() {
  echo "mcp-venv.sh: $1 (venv: $VENV)" >&2
  cat "$LOG" >&2
  exit 1
}

rm -f "$STAMP"
# A venv whose interpreter no longer runs (Python upgraded or removed) is
# rebuilt from scratch; otherwise it is reused and pip brings it to the pins.
if [[ -e "$VENV" ]] && ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
  # Only ever delete something that is recognisably a virtualenv.
  [[ -f "$VENV/pyvenv.cfg" ]] || die "$VENV exists but is not a virtualenv; refusing to replace it"
  rm -rf "$VENV"
fi
"$PYTHON" -m venv "$VENV" >"$LOG" 2>&1 || fail "$PYTHON -m venv failed"

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$VENV/bin/python" -m pip install --quiet -r "$REQ" >>"$LOG" 2>&1 || fail "pip install -r $REQ failed"
"$VENV/bin/python" -c 'import mcp.server.mcpserver, mcp.client.session' >>"$LOG" 2>&1 \
  || fail "the installed mcp SDK does not import"

echo "$WANT" >"$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
