#!/usr/bin/env bash
# `npm run bench` on Node 24, the LTS the service image runs (see scripts/node24.sh): every row,
# basewarm's commands included, runs on Node 24, beside skopeo on the same registries in the same run.
#   ./scripts/bench-node24.sh [bench arguments, e.g. --quick]
set -euo pipefail
cd "$(dirname "$0")/.."
# The copy has no .git: the report asks this checkout which commit it is.
export BASEWARM_BENCH_CHECKOUT="$PWD"
exec ./scripts/node24.sh bash -c 'npm run --silent build && node dist/bench/main.js "$@"' bench-node24 "$@"
