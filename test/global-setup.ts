import { execFileSync } from "node:child_process";

/**
 * Tests that spawn basewarm as a process (CLI, crash and signal tests) run the compiled output;
 * compile and bundle once before the suite so it is never stale.
 */
export default function setup(): void {
  if (process.env["BASEWARM_SKIP_BUILD"] === "1") return; // developer shortcut when dist is fresh
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
  // The commands as users run them: bundled, as `npm run build` ships them (main.js loads the bundle).
  execFileSync(process.execPath, ["scripts/bundle.mjs"], { stdio: "inherit" });
}
