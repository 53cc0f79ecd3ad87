#!/usr/bin/env bash
# The test command: installs what the tests need, then runs the whole suite once.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
npm run --silent typecheck
exec npx vitest run "$@"
