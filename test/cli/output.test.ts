import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, workspace } from "../helpers/cli.js";

/** A Dockerfile whose `refs` output (~100 KB) is far more than one pipe buffer. */
function bigDockerfile(): string {
  const lines = Array.from({ length: 3000 }, (_, i) => `FROM registry.example/base/image:3.${i} AS s${i}`);
  return join(workspace({ Dockerfile: lines.join("\n") + "\n" }), "Dockerfile");
}

function refsTo(stdout: "pipe-closed" | number, file: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "refs", file], { stdio: ["ignore", stdout === "pipe-closed" ? "pipe" : stdout, "pipe"] });
    // The reader goes away before the first write, as `| head -1` does after its line.
    if (stdout === "pipe-closed") child.stdout?.destroy();
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("standard output that goes away or fills up", () => {
  it("a reader that closes the pipe early ends the command quietly, with exit 0 and no stack trace", async () => {
    const file = bigDockerfile();
    for (let round = 0; round < 3; round++) {
      expect(await refsTo("pipe-closed", file)).toEqual({ code: 0, stderr: "" });
    }
  });

  it("an error that cannot even be written keeps its exit code", async () => {
    const full = openSync("/dev/full", "w");
    try {
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, "refs", "/nonexistent/Dockerfile"], { stdio: ["ignore", "ignore", full] });
        child.on("error", reject);
        child.on("close", resolve);
      });
      expect(code).toBe(2);
    } finally {
      closeSync(full);
    }
  });

  it("a full disk under the output is one line and exit 1", async () => {
    const full = openSync("/dev/full", "w");
    try {
      const run = await refsTo(full, bigDockerfile());
      expect(run.code).toBe(1);
      expect(run.stderr).toBe("basewarm: cannot write the output: ENOSPC: no space left on device, write; check where standard output goes\n");
    } finally {
      closeSync(full);
    }
  });
});
