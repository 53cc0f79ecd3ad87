import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Tests that spawn basewarm as a process (CLI, crash and signal tests) run the compiled output;
 * compile and bundle once before the suite so it is never stale.
 *
 * Every temp dir the suite makes — the tests' own and those of the processes they start (a killed
 * run cannot clean up after itself) — lands in one folder, removed when the suite ends: the test
 * workers are forked after this runs and inherit TMPDIR. Tests that check what a run leaves behind
 * give it a TMPDIR of its own inside this one.
 */
export default function setup(): () => void {
  if (process.env["BASEWARM_SKIP_BUILD"] !== "1") {
    execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
    // The commands as users run them: bundled, as `npm run build` ships them (main.js loads the bundle).
    execFileSync(process.execPath, ["scripts/bundle.mjs"], { stdio: "inherit" });
  }
  const root = mkdtempSync(join(tmpdir(), "basewarm-tests-"));
  // Others must get through it, as through /tmp: PostgreSQL's initdb runs as the postgres user.
  chmodSync(root, 0o755);
  process.env["TMPDIR"] = root;
  return () => rmSync(root, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
}
