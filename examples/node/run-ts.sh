#!/usr/bin/env bash
# Type-checks the TypeScript examples with the binding's tsc (--strict, tsconfig.json beside this
# script), compiles them and runs one offline. Node.js 20 does not run TypeScript itself.
#
#   (cd bindings-node && npm install && npm run build)   # once
#   bash examples/node/run-ts.sh guardrail
#
# The compiled example runs from a temporary copy of the examples' layout where node_modules/modelport
# is this checkout's binding, so it imports "modelport" as your own project would.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
name="${1:?usage: examples/node/run-ts.sh EXAMPLE (guardrail)}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/node_modules"
ln -s "$root/bindings-node" "$out/node_modules/modelport"
cp -R "$root/examples/replay" "$out/replay"
"$root/bindings-node/node_modules/.bin/tsc" -p "$root/examples/node" --outDir "$out/node"
node "$out/node/$name.mjs"
