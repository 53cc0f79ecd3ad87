import { describe, expect, it } from "vitest";
import { humanLogLine } from "../../src/cli/logging.js";

describe("log lines for a person", () => {
  it("shows nested fields as dotted keys, not JSON inside the line", () => {
    const line = JSON.stringify({ level: 30, time: 1, pid: 2, hostname: "h", msg: "warm run finished", health: { runId: 5, outcome: "ok", images: { copied: 2 } }, tags: ["a", "b"] });
    expect(humanLogLine(line)).toBe('basewarm: info: warm run finished (health.runId=5, health.outcome=ok, health.images.copied=2, tags=["a","b"])\n');
  });

  it("keeps a line that is not JSON as it is, and names the level", () => {
    expect(humanLogLine("plain text")).toBe("plain text");
    expect(humanLogLine(JSON.stringify({ level: 40, msg: "image copy failed", error: "x" }))).toBe("basewarm: warning: image copy failed (error=x)\n");
  });
});
