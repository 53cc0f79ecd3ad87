/**
 * Running a builder process: argv (never a shell), output streamed into a bounded log tail,
 * abort by signal or timeout killing the whole process group.
 */
import { spawn } from "node:child_process";
import { atExit } from "../process/index.js";
import { BasewarmError } from "../errors.js";

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Last lines of stdout and stderr, interleaved as they came. */
  tail: string;
  /** Every line, when `keepAll` was asked (probe parsing); otherwise empty. */
  lines: string[];
  timedOut: boolean;
  aborted: boolean;
}

export interface RunOptions {
  /** The builder's whole environment: passed in by the caller, never taken from this process. */
  env: Record<string, string | undefined>;
  cwd?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  tailLines?: number;
  keepAll?: boolean;
}

/** Spawn `argv`; reject only when the executable cannot be started (ENOENT and the like). */
export function runProcess(argv: string[], options: RunOptions): Promise<ProcessResult> {
  const [program, ...args] = argv;
  if (!program) throw new BasewarmError("USAGE", "empty builder command");
  const tailLines = options.tailLines ?? 50;
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      env: options.env as NodeJS.ProcessEnv,
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // own process group, so an abort kills the builder's children too
    });
    const tail: string[] = [];
    const all: string[] = [];
    const partial = { out: "", err: "" };
    const take = (key: "out" | "err", chunk: Buffer) => {
      const text = partial[key] + chunk.toString("utf8");
      const parts = text.split(/\r?\n/);
      partial[key] = parts.pop() ?? "";
      for (const line of parts) {
        tail.push(line);
        if (tail.length > tailLines) tail.shift();
        if (options.keepAll) all.push(line);
      }
    };
    child.stdout.on("data", (c: Buffer) => take("out", c));
    child.stderr.on("data", (c: Buffer) => take("err", c));
    let timedOut = false;
    let aborted = false;
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = options.timeoutMs ? setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs) : undefined;
    const onAbort = () => {
      aborted = true;
      kill();
    };
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    // Its own process group outlives us: an immediate exit (a second SIGTERM) takes it along.
    const forget = atExit(kill);
    child.on("error", (err) => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      forget();
      reject(err);
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      forget();
      for (const rest of [partial.out, partial.err]) {
        if (!rest) continue;
        tail.push(rest);
        if (options.keepAll) all.push(rest);
      }
      resolve({ code, signal, tail: tail.slice(-tailLines).join("\n"), lines: all, timedOut, aborted });
    });
  });
}

/** Turn a spawn failure into one clear line. */
export function spawnError(program: string, err: unknown, hint: string): BasewarmError {
  const code = (err as { code?: string }).code;
  // A path is what build.executable named: it is wrong, not missing from PATH.
  if (code === "ENOENT") return new BasewarmError("BUILD_FAILED", program.includes("/") ? `${program} does not exist; fix build.executable` : `${program} not found on PATH; ${hint}`);
  if (code === "EACCES") return new BasewarmError("BUILD_FAILED", `${program} is not executable; ${hint}`);
  return new BasewarmError("BUILD_FAILED", `cannot start ${program}: ${(err as Error).message}`);
}

/** The last non-empty line mentioning an error, for a one-line reason. */
export function errorLine(tail: string): string {
  const lines = tail.split("\n").map((l) => l.trim()).filter(Boolean);
  const match = [...lines].reverse().find((l) => /error|failed|denied|unauthorized/i.test(l));
  return (match ?? lines.at(-1) ?? "no output").slice(0, 300);
}
