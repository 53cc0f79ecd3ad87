#!/usr/bin/env bash
# The test command: installs what the tests need, type-checks, then runs the whole suite on this
# machine's Node (20) and again on Node 24, the LTS the service image runs (scripts/test-node24.sh;
# BASEWARM_NODE24=0 skips that second run while iterating).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
npm run --silent typecheck
summary() {
  # One plain closing line per run for tools that read it: "N passed, N failed".
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    // A file whose setup fails counts its tests as skipped, not failed: name such files apart.
    const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.every((a) => a.status !== "failed")).length;
    console.log(`vitest (${process.argv[2]}): ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : "") + (broken ? `; ${broken} test file(s) failed outside any test (setup or teardown)` : ""));
  ' "$1" "$2" || echo "vitest ($2): no results (the run stopped before reporting)"
}
results="$(mktemp)"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
summary "$results" "Node $(node --version)"
if [ "${BASEWARM_NODE24:-1}" != "0" ]; then
  results24="$(mktemp)"
  ./scripts/test-node24.sh --reporter=default --reporter=json --outputFile.json="$results24" "$@" || status=1
  summary "$results" "Node $(node --version)"
  summary "$results24" "Node 24"
  rm -f "$results24"
fi
rm -f "$results"
exit "$status"
