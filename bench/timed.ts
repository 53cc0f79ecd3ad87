/**
 * Run a command as a user would, under /usr/bin/time when it exists, and read back its peak RSS
 * and CPU time. Every tool the bench compares (basewarm, skopeo) goes through this one function,
 * so they pay the same fork/exec and are measured the same way.
 */
import { execFile } from "node:child_process";
import { access, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TimedRun {
  /** Wall time of the whole process, from spawn to exit, in seconds. */
  seconds: number;
  stdout: string;
  /** Peak RSS in KiB and user + system CPU seconds, when /usr/bin/time is available. */
  maxRssKiB: number | undefined;
  cpuSeconds: number | undefined;
}

let timeAvailable: Promise<boolean> | undefined;

function hasTime(): Promise<boolean> {
  timeAvailable ??= access("/usr/bin/time").then(() => true, () => false);
  return timeAvailable;
}

export class CommandFailed extends Error {
  readonly stderr: string;
  constructor(command: string, stderr: string) {
    super(`${command} failed: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
    this.stderr = stderr;
  }
}

let counter = 0;

export async function timedRun(command: string, args: string[], options: { workDir: string; env?: NodeJS.ProcessEnv; label?: string }): Promise<TimedRun> {
  const timeFile = join(options.workDir, `time-${process.pid}-${counter++}.txt`);
  const timed = await hasTime();
  const [cmd, argv] = timed ? ["/usr/bin/time", ["-f", "%M %U %S", "-o", timeFile, command, ...args]] : [command, args];
  const started = performance.now();
  let stdout: string;
  try {
    ({ stdout } = await run(cmd, argv, { maxBuffer: 256 << 20, ...(options.env ? { env: options.env } : {}) }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new CommandFailed(options.label ?? command, e.stderr || e.message);
  }
  const seconds = (performance.now() - started) / 1000;
  if (!timed) return { seconds, stdout, maxRssKiB: undefined, cpuSeconds: undefined };
  // The last line: /usr/bin/time puts "Command exited with non-zero status" lines before it.
  const line = (await readFile(timeFile, "utf8")).trim().split("\n").pop() ?? "";
  await rm(timeFile, { force: true });
  const [rss, user, sys] = line.split(" ").map(Number);
  const ok = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n);
  return { seconds, stdout, maxRssKiB: ok(rss) ? rss : undefined, cpuSeconds: ok(user) && ok(sys) ? user + sys : undefined };
}
