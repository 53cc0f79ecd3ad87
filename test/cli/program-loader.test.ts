/**
 * The shipped build's code cache (src/cli/program-loader.ts, written by scripts/code-cache.mjs):
 * a fresh Node uses it; a cache that does not fit the bundle is never used, however it fails to fit,
 * and the commands then still work; and what the bundle leaves out (node:http2) stays out.
 * Each case runs in its own Node, as a user's run would: the loader sets V8 flags for its process.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const LOADER = pathToFileURL(resolve("dist/src/cli/program-loader.js")).href;
const BUNDLE = resolve("dist/src/cli/bundle/program.cjs");
// Beside the shipped bundle, so a copy finds node_modules the way the real one does.
const work = mkdtempSync(resolve("dist/.program-loader-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Loaded {
  codeCache: string;
  help: { code: number; out: string };
  http2Loaded?: boolean;
}

/** Load a bundle in a fresh Node, run `--help` (and, asked for, a mirror of no image) through it. */
async function loadIn(bundle: string, options: { mirrorConfig?: string; nodeArgs?: string[] } = {}): Promise<Loaded> {
  const script = `
    const { loadProgram } = await import(${JSON.stringify(LOADER)});
    const program = await loadProgram({ bundle: ${JSON.stringify(bundle)} });
    let out = "";
    const io = { stdout: (t) => { out += t; return true; }, stderr: (t) => { out += t; return true; } };
    const code = await program.runCli(["--help"], io, {});
    const result = { codeCache: program.codeCache, help: { code, out } };
    const config = ${JSON.stringify(options.mirrorConfig ?? null)};
    if (config) {
      const mirror = await program.runCli(["mirror", "--config", config, "--json"], io, { HOME: ${JSON.stringify(work)} });
      if (mirror !== 0) throw new Error("mirror exited " + mirror + ": " + out);
      result.http2Loaded = process.moduleLoadList.some((m) => m === "NativeModule http2");
    }
    process.stdout.write(JSON.stringify(result));`;
  const { stdout } = await run(process.execPath, [...(options.nodeArgs ?? []), "--input-type=module", "-e", script], { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } });
  return JSON.parse(stdout) as Loaded;
}

/** A copy of the shipped bundle and its cache in a folder of its own; `edit` changes the copy. */
function copyOfBundle(name: string, edit?: { source?: (text: string) => string; cache?: (bytes: Buffer) => Buffer | undefined }): string {
  const dir = mkdtempSync(join(work, `${name}-`));
  const bundle = join(dir, "program.cjs");
  const text = readFileSync(BUNDLE, "utf8");
  writeFileSync(bundle, edit?.source ? edit.source(text) : text);
  const cache = readFileSync(`${BUNDLE}.code-cache`);
  const edited = edit?.cache ? edit.cache(cache) : cache;
  if (edited) writeFileSync(`${bundle}.code-cache`, edited);
  return bundle;
}

const HELP_LINE = "Usage: basewarm [options] [command]";

describe("the code cache of the shipped build", () => {
  it("is used by a fresh Node, and a run through it works", async () => {
    const loaded = await loadIn(BUNDLE);
    expect(loaded.codeCache).toBe("used");
    expect(loaded.help).toMatchObject({ code: 0, out: expect.stringContaining(HELP_LINE) });
  });

  it("is not used for a bundle of the same length that differs (V8 itself only compares lengths): the new text runs", async () => {
    const from = "Keep base images mirrored and a global BuildKit cache warm";
    const to = from.toUpperCase();
    expect(readFileSync(BUNDLE, "utf8")).toContain(from);
    const bundle = copyOfBundle("same-length", { source: (t) => t.replace(from, to) });
    expect(readFileSync(bundle).length).toBe(readFileSync(BUNDLE).length);
    const loaded = await loadIn(bundle);
    expect(loaded.codeCache).toBe("other-bundle");
    expect(loaded.help).toMatchObject({ code: 0, out: expect.stringContaining(to) });
  });

  it("is refused under other V8 flags, and the commands still work", async () => {
    // --no-opt on every Node; Node 20 refuses it even for --max-old-space-size, Node 24 leaves heap sizes out.
    const loaded = await loadIn(BUNDLE, { nodeArgs: ["--no-opt"] });
    expect(loaded.codeCache).toBe("rejected");
    expect(loaded.help).toMatchObject({ code: 0, out: expect.stringContaining(HELP_LINE) });
  });

  it("is strict code, as the ES modules it was bundled from were", () => {
    expect(readFileSync(BUNDLE, "utf8").startsWith('"use strict";')).toBe(true);
  });

  it("is skipped with its bundle when the bundle is older than the compiled program (a `tsc` since the last bundle)", async () => {
    const bundle = copyOfBundle("stale");
    const long = new Date(Date.now() - 3600_000 * 24 * 365);
    utimesSync(bundle, long, long);
    const loaded = await loadIn(bundle);
    expect(loaded.codeCache).toBe("not-bundled");
    expect(loaded.help).toMatchObject({ code: 0, out: expect.stringContaining(HELP_LINE) });
  });

  it("is written by scripts/code-cache.mjs for plain runs even when NODE_OPTIONS carries a V8 flag", async () => {
    const bundle = copyOfBundle("rewritten", { cache: () => undefined });
    const { stdout } = await run(process.execPath, [resolve("scripts/code-cache.mjs"), "--bundle", bundle, "--strict"], {
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", NODE_OPTIONS: "--stack-trace-limit=20" },
    });
    expect(stdout).toContain("written and used by a fresh Node");
    expect((await loadIn(bundle)).codeCache).toBe("used");
  });

  it("is named under --debug, so an operator can see whether start-up used it", async () => {
    const { stderr } = await run(process.execPath, [resolve("dist/src/cli/main.js"), "refs", "--debug", join(work, "missing-Dockerfile")]).catch((err: { stderr: string }) => err);
    expect(stderr).toMatch(/^basewarm: debug: code cache used$/m);
  });

  it("is not used when damaged: V8 would crash on it, so it never sees it", async () => {
    // A flipped byte in V8's data (past both hashes): handed to V8, this one stopped Node 20 with
    // "Fatal error … unreachable code".
    const middle = copyOfBundle("flipped", { cache: (bytes) => Buffer.from(bytes.map((b, i) => (i >= bytes.length / 2 && i < bytes.length / 2 + 100 ? b ^ 0xff : b))) });
    const cut = copyOfBundle("cut", { cache: (bytes) => bytes.subarray(0, bytes.length - 1000) });
    for (const bundle of [middle, cut]) {
      const loaded = await loadIn(bundle);
      expect(loaded.codeCache).toBe("damaged");
      expect(loaded.help).toMatchObject({ code: 0, out: expect.stringContaining(HELP_LINE) });
    }
  });

  it("is refused by V8 when made by another V8 (its header names the version), and the commands are compiled afresh", async () => {
    const bundle = copyOfBundle("other-v8", {
      cache: (bytes) => {
        const data = Buffer.from(bytes.subarray(64));
        data.writeUInt32LE((data.readUInt32LE(4) + 1) >>> 0, 4); // V8's version hash follows its magic number
        return Buffer.concat([bytes.subarray(0, 32), createHash("sha256").update(data).digest(), data]);
      },
    });
    const loaded = await loadIn(bundle);
    expect(loaded.codeCache).toBe("rejected");
    expect(loaded.help).toMatchObject({ code: 0, out: expect.stringContaining(HELP_LINE) });
  });

  it("may be missing or shorter than its header", async () => {
    for (const cache of [() => undefined, () => Buffer.alloc(10)]) {
      const loaded = await loadIn(copyOfBundle("absent", { cache }));
      expect(loaded.codeCache).toBe("absent");
      expect(loaded.help.code).toBe(0);
    }
  });

  it("comes with a bundle that leaves node:http2 out: a mirror run never loads it", async () => {
    const config = join(work, "empty.json");
    writeFileSync(config, JSON.stringify({ target: { registry: "127.0.0.1:9" }, state: join(work, "state.db"), images: [] }));
    const loaded = await loadIn(BUNDLE, { mirrorConfig: config });
    expect(loaded.http2Loaded).toBe(false);
    // The same run on the tsc output (nothing left out) does load it: the check can fail.
    const script = `
      const { runCli } = await import(${JSON.stringify(pathToFileURL(resolve("dist/src/cli/program.js")).href)});
      const io = { stdout: () => true, stderr: () => true };
      await runCli(["mirror", "--config", ${JSON.stringify(config)}, "--json"], io, { HOME: ${JSON.stringify(work)} });
      process.stdout.write(String(process.moduleLoadList.includes("NativeModule http2")));`;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script]);
    expect(stdout).toBe("true");
  });
});
