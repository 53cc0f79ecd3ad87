/**
 * Exit hooks unwind newest first, so a builder started inside a temp folder is killed before the
 * folder is removed (the serve test's second SIGTERM checks the whole thing with buildah).
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const HOOKS = pathToFileURL(resolve("dist/src/process/index.js")).href;

describe("atExit", () => {
  it("runs the hooks newest first at exit, each once, and skips a forgotten one", async () => {
    const script = `
      const { atExit } = await import(${JSON.stringify(HOOKS)});
      const say = (t) => () => process.stdout.write(t + " ");
      atExit(say("folder"));
      const forget = atExit(say("forgotten"));
      atExit(say("builder"));
      atExit(() => { throw new Error("one failed hook does not stop the rest"); });
      forget();
      process.exit(0);`;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script]);
    expect(stdout.trim()).toBe("builder folder");
  });
});
