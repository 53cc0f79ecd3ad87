/**
 * A layout's directories, made one level at a time. Not `mkdir(dir, { recursive: true })`: Node's
 * retries a level for as long as mkdir(2) answers ENOENT, and procfs answers ENOENT for any new name
 * under /proc, which exists, so `oci:/proc/x` spun at 100% CPU and did not even hear SIGTERM. Here
 * each missing level gets one mkdir, so any path ends in as many calls as it has levels.
 */
import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { BasewarmError } from "../errors.js";

/** Make `dir` and its missing parents; a level another writer makes meanwhile is fine. */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  // Each step is a shorter path, and dirname("/") is "/": the walk ends.
  for (let at = dir; dirname(at) !== at && !(await exists(at)); at = dirname(at)) missing.unshift(at);
  for (const level of missing) {
    await mkdir(level).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    });
  }
}

/** Whether something is at `path`; a level that cannot be looked at counts as missing, and its mkdir says why. */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Why the file system refused a write, per errno; the others (ENOSPC, EIO…) stay as Node says them. */
const REFUSALS: Record<string, (where: string) => string> = {
  ENOENT: (where) => `${where} refuses new entries (ENOENT)`,
  ENOTDIR: (where) => `${where} is not a directory`,
  EACCES: (where) => `${where}: permission denied`,
  EPERM: (where) => `${where}: permission denied`,
  EROFS: (where) => `${where} is on a read-only file system`,
};

/**
 * A refused write in a layout as the user's problem, in one line: which layout, which directory
 * refused (the parent of what was being made), what to do. Anything else is returned as it was.
 */
export function writeProblem(layoutDir: string, err: unknown): unknown {
  const { code, path } = err as NodeJS.ErrnoException;
  const refusal = code === undefined ? undefined : REFUSALS[code];
  if (refusal === undefined || path === undefined) return err;
  return new BasewarmError("FILE_UNWRITABLE", `OCI layout ${layoutDir} cannot be written: ${refusal(dirname(path))}; name a directory you can write to`, { cause: err });
}
