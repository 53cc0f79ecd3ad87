#!/usr/bin/env bash
# The whole suite again on Node 24, the LTS the service image runs (see scripts/node24.sh).
#   ./scripts/test-node24.sh [vitest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./scripts/node24.sh node node_modules/vitest/vitest.mjs run "$@"
