import { execFileSync } from "node:child_process";

/**
 * Tests that spawn basewarm as a process (CLI, crash and signal tests) run the compiled output;
 * compile once before the suite so it is never stale.
 */
export default function setup(): void {
  if (process.env["BASEWARM_SKIP_BUILD"] === "1") return; // developer shortcut when dist is fresh
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
}
