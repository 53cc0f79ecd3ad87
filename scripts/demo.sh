#!/usr/bin/env bash
# The main job, as a demo: starts an "upstream" and a mirror registry on loopback, seeds the
# upstream with generated base images, and runs a basewarm warm run over an example catalog.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec node dist/demo/main.js "$@"
