#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster (its URL in MODELPORT_TEST_PG_URL) and a fresh
# MODELPORT_HOME, then stops the cluster and removes both. Without PostgreSQL the command still runs:
# its PostgreSQL tests skip with a message, or fail under CI=true.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pg_dir="$(mktemp -d /tmp/modelport-pg.XXXXXX)"
home_dir="$(mktemp -d /tmp/modelport-home.XXXXXX)"
cleanup() {
    bash "$here/pg-cluster.sh" stop "$pg_dir" || true
    rm -rf "$pg_dir" "$home_dir"
}
trap cleanup EXIT
if url="$(bash "$here/pg-cluster.sh" start "$pg_dir")"; then
    export MODELPORT_TEST_PG_URL="$url"
    echo "with-pg: PostgreSQL at $url" >&2
elif [ "${CI:-}" = "true" ]; then
    echo "with-pg: PostgreSQL could not start, and CI=true requires it" >&2
    exit 1
else
    echo "with-pg: PostgreSQL could not start: its tests will be skipped" >&2
fi
export MODELPORT_HOME="$home_dir"
"$@"
