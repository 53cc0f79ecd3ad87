import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { expect } from "vitest";

export const CLI = resolve("dist/src/cli/main.js");

/** How Node prints a process warning: `(node:1234) MaxListenersExceededWarning: …`. */
export const NODE_WARNING = /^\(node:\d+\) (\[[^\]]+\] )?\w*Warning\b[^\n]*/m;

/** Node warnings printed by processes from startBasewarm; test/setup.ts fails the test that started them. */
export const startedProcessWarnings: string[] = [];

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the compiled basewarm CLI as a user would (a separate process). */
export function basewarm(args: string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; wrapper?: string[] } = {}): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    // A wrapper (e.g. setpriv) runs Node as its last arguments.
    const [program, ...wrapped] = [...(options.wrapper ?? []), process.execPath, CLI, ...args] as [string, ...string[]];
    const child = spawn(program, wrapped, {
      cwd: options.cwd,
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: options.env?.["HOME"] ?? tmpdir(), ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      // A Node warning (a leaked listener, a deprecation) is noise a user must never see: every
      // command run by the tests fails on one.
      const warning = NODE_WARNING.exec(stderr);
      if (warning) reject(new Error(`basewarm ${args.join(" ")} printed a Node warning: ${warning[0]}`));
      else resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Start the CLI and hand back the process, for signal tests. */
export function startBasewarm(args: string[], env: Record<string, string> = {}): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: tmpdir(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  child.on("close", () => {
    const warning = NODE_WARNING.exec(output);
    if (warning) startedProcessWarnings.push(`basewarm ${args.join(" ")}: ${warning[0]}`);
  });
  return { child, output: () => output };
}

/** A temp workspace with the given files; returns its directory. */
export function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "basewarm-ws-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** Parse a command's JSON output; on failure, say what the command printed on stderr. */
export function jsonOf<T>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`expected JSON on stdout (exit ${run.code}); stderr: ${run.stderr.slice(0, 2000)}; stdout: ${run.stdout.slice(0, 500)}`);
  }
}

/** An error a user meets: this exit status, one line on stderr, no stack trace. */
export function expectOneLineError(run: CliRun, pattern: RegExp, code = 2): void {
  expect(run.code, run.stderr).toBe(code);
  const lines = run.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^basewarm: /);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}
