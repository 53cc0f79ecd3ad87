#!/usr/bin/env bash
# `npm run bench` on Node 24, the LTS the service image runs (see scripts/node24.sh): every row,
# basewarm's commands included, runs on Node 24, beside skopeo on the same registries in the same run.
#   ./scripts/bench-node24.sh [bench arguments, e.g. --quick]
set -euo pipefail
cd "$(dirname "$0")/.."
# The copy has no .git: the report names the checkout's commit instead.
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain -- src 2>/dev/null)" ]; then commit="$commit plus uncommitted changes in src/"; fi
export BASEWARM_BENCH_ENGINE="src at $commit"
exec ./scripts/node24.sh bash -c 'npm run --silent build && node dist/bench/main.js "$@"' bench-node24 "$@"
