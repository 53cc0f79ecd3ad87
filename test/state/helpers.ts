import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { build } from "esbuild";
import { isBasewarmError, type ErrorCode } from "../../src/errors.js";

/** A fresh state path in its own temp directory (the directory exists, the file does not). */
export function tempStatePath(): string {
  return join(mkdtempSync(join(tmpdir(), "basewarm-state-")), "state.db");
}

/** The error with `code` a call throws or rejects with, or a failed assertion when it fails otherwise or not at all. */
export async function errorWithCode(code: ErrorCode, fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    if (!isBasewarmError(err, code)) throw new Error(`expected a ${code}, got ${String(err)}`);
    return err;
  }
  throw new Error(`expected a ${code}, got no error`);
}

/** The STATE_ERROR a call throws or rejects with. */
export function stateErrorOf(fn: () => unknown): Promise<Error> {
  return errorWithCode("STATE_ERROR", fn);
}

/**
 * Bundle src/state and the crash workload into one ESM file for child processes, straight from the
 * sources under test (not dist/, which may be stale or not build while others edit). better-sqlite3
 * and pg stay external, pinned to their absolute paths so the bundle can live in a temp directory.
 */
export async function bundleForChildren(): Promise<{ file: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), "basewarm-state-bundle-"));
  const file = join(dir, "state.mjs");
  const require = createRequire(import.meta.url);
  const pinned: Record<string, string> = { "better-sqlite3": require.resolve("better-sqlite3"), pg: require.resolve("pg") };
  await build({
    stdin: {
      contents: `export * from "./src/state/index.ts"; export * from "./test/state/workload.ts";`,
      resolveDir: resolve("."),
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: file,
    logLevel: "silent",
    plugins: [{
      name: "pin-native-and-pg",
      setup(b) {
        b.onResolve({ filter: /^(better-sqlite3|pg)$/ }, (args) => ({ path: pinned[args.path]!, external: true }));
      },
    }],
  });
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A node child running `body` as an ES module with `state` bound to the bundle's exports. */
export class Child {
  readonly process: ChildProcess;
  readonly lines: string[] = [];
  private partial = "";
  private readonly closed: Promise<void>;
  private listeners: (() => void)[] = [];

  constructor(bundle: string, body: string) {
    const script = `const state = await import(${JSON.stringify(bundle)});\n${body}`;
    this.process = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    this.process.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    this.process.stdout!.on("data", (chunk: Buffer) => {
      const text = this.partial + chunk.toString();
      const parts = text.split("\n");
      this.partial = parts.pop() ?? "";
      this.lines.push(...parts);
      for (const listener of this.listeners) listener();
    });
    this.closed = new Promise((res) => this.process.once("close", () => {
      if (stderr.trim() !== "") this.lines.push(`stderr: ${stderr.trim()}`);
      for (const listener of this.listeners) listener();
      res();
    }));
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** Wait for a line satisfying `match`; fails when the child exits first or time runs out. */
  waitFor(match: (line: string) => boolean, timeoutMs = 10_000): Promise<string> {
    return new Promise((res, rej) => {
      const check = (): void => {
        const found = this.lines.find(match);
        if (found !== undefined) {
          done();
          res(found);
        } else if (this.process.exitCode !== null || this.process.signalCode !== null) {
          done();
          rej(new Error(`child exited before the expected line; output: ${this.lines.slice(-5).join(" | ")}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        rej(new Error(`timed out waiting for the child; output: ${this.lines.slice(-5).join(" | ")}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
      };
      this.listeners.push(check);
      check();
    });
  }

  send(line: string): void {
    this.process.stdin!.write(`${line}\n`);
  }

  /** SIGKILL, then wait until the process is gone and its output fully read. */
  async kill(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill("SIGKILL");
    await this.closed;
  }
}

/** Rows of a table in insertion order, without the given columns. */
export function dumpTable(path: string, table: string, without: string[] = []): Record<string, unknown>[] {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all() as Record<string, unknown>[]).map((row) => {
      const copy = { ...row };
      for (const column of without) delete copy[column];
      return copy;
    });
  } finally {
    db.close();
  }
}
