#!/usr/bin/env bash
# The Python binding's checks, run from the repository root (CI calls this script):
#   1. a venv under ${CARGO_TARGET_DIR:-target}/py-venv;
#   2. `pip install ./bindings-python` through its pyproject build backend (maturin comes from PyPI),
#      plus pytest, pytest-asyncio, pydantic and mypy;
#   3. the pytest suite (against the replay provider on 127.0.0.1; sessions in a temporary
#      MODELPORT_HOME), `mypy --strict` on the examples, and `python -m mypy.stubtest modelport`.
# Any failure stops the script with a non-zero status.
#
# PYTHON picks the interpreter (default python3). The wheel is built with the dev profile, which is
# enough for tests; set MATURIN_PEP517_ARGS="" for the release build a plain `pip install` makes.
# MODELPORT_WHEEL=path/to.whl installs that wheel instead of building one (step 2).
set -euo pipefail
cd "$(dirname "$0")/../.."

mkdir -p "${CARGO_TARGET_DIR:-target}"
target="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)"
venv="$target/py-venv"
python="${PYTHON:-python3}"
export MATURIN_PEP517_ARGS="${MATURIN_PEP517_ARGS---profile dev}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n== %s\n' "$*"; }

# Clients without a sessionStore keep sessions under MODELPORT_HOME: a fresh directory, so that no
# test writes into the user's data directory. The durable-session tests also run on PostgreSQL when
# MODELPORT_TEST_PG_URL is set (make test starts a cluster); unset, they are skipped (failed under
# CI=true).
MODELPORT_HOME="$(mktemp -d)"
export MODELPORT_HOME
trap 'rm -rf "$MODELPORT_HOME"' EXIT

step "venv at $venv ($("$python" --version 2>&1))"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -m pip install --quiet "pytest>=8,<10" "pytest-asyncio>=0.24,<2" "pydantic>=2,<3" "mypy>=1.10,<3"

if [ -n "${MODELPORT_WHEEL:-}" ]; then
  # A wheel built already (make test builds the packages once, with scripts/dist.sh, and tests them).
  step "pip install $MODELPORT_WHEEL"
  "$py" -m pip install --quiet --force-reinstall --no-deps "$MODELPORT_WHEEL"
else
  step "pip install ./bindings-python (maturin ${MATURIN_PEP517_ARGS:-release})"
  started=$(date +%s)
  "$py" -m pip install --quiet --force-reinstall --no-deps ./bindings-python
  echo "built and installed in $(( $(date +%s) - started )) s"
fi

step "pytest"
"$py" -m pytest bindings-python/tests -p no:cacheprovider -q

step "mypy --strict examples/python"
"$py" -m mypy --strict --cache-dir "$target/mypy-cache" examples/python/*.py

step "stubtest modelport"
# From the target folder: stubtest leaves a .mypy_cache in its working directory.
(cd "$target" && "$py" -m mypy.stubtest modelport)

echo
echo "python binding: all checks passed"
