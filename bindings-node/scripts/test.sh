#!/usr/bin/env bash
# The Node.js binding's checks, as CI runs them from the repository root:
#   bash bindings-node/scripts/test.sh
# npm ci, npm run build (napi-rs, release), the generated native/index.d.ts against the committed one,
# node --test (sessions in a temporary MODELPORT_HOME), tsc --noEmit --strict over the seed's
# examples, examples/node/quickstart.mjs, and examples/node/guardrail.mts (tsc --strict, then run).
# Cargo builds into $CARGO_TARGET_DIR when set, else the workspace's target/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pkg="$root/bindings-node"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
started=$(date +%s)
step() { echo "== bindings-node: $* ($(( $(date +%s) - started )) s)"; }
fail() { echo "bindings-node: FAILED: $*" >&2; exit 1; }
trap 'echo "bindings-node: FAILED at line $LINENO (exit $?)" >&2' ERR

cd "$pkg"
[ -f native/index.d.ts ] || fail "native/index.d.ts is not committed: run npm run build in bindings-node and commit it"
committed="$(mktemp -d)"
# Clients without a sessionStore keep sessions under MODELPORT_HOME: a fresh directory, so that no
# test writes into the user's data directory. The durable-session tests also run on PostgreSQL when
# MODELPORT_TEST_PG_URL is set (make test starts a cluster); unset, they are skipped (failed under
# CI=true).
MODELPORT_HOME="$(mktemp -d)"
export MODELPORT_HOME
trap 'rm -rf "$committed" "$MODELPORT_HOME"' EXIT
cp native/index.d.ts "$committed/index.d.ts"

step "npm ci"
npm ci --no-audit --no-fund

# CI builds debug (it shares the workspace's compiled dependencies); NODE_BUILD=release for a release build.
build_script="build:debug"
[ "${NODE_BUILD:-debug}" = "release" ] && build_script="build"
step "npm run $build_script (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
npm run "$build_script"

step "generated native/index.d.ts equals the committed one"
if ! diff -u "$committed/index.d.ts" native/index.d.ts; then
  fail "native/index.d.ts drifted from the Rust code: commit the regenerated file (npm run build wrote it)"
fi

step "node --test"
npm test

step "tsc --noEmit --strict (the seed's examples with the import changed, and the API)"
npx tsc --noEmit --strict -p test/types

step "node examples/node/quickstart.mjs"
cd "$root"
out="$(env -u MODELPORT_PROVIDER node examples/node/quickstart.mjs)"
echo "$out"
grep -qx "2 + 2 = 4." <<<"$out" || fail "the quickstart did not print the answer"

step "examples/node/guardrail.mts (tsc --strict, then node; the lines the Rust guardrail prints)"
out="$(env -u MODELPORT_PROVIDER bash examples/node/run-ts.sh guardrail)"
echo "$out"
grep -qF 'model saw: "customer c-42 is Ada Lovelace, [email]"' <<<"$out" || fail "the guardrail did not redact the result"
grep -qF "denied by policy. Reason: deletions need a human" <<<"$out" || fail "the guardrail did not deny the deletion"

step "done"
