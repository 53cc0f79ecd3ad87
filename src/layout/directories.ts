/**
 * A layout's directories, made one level at a time. Not `mkdir(dir, { recursive: true })`: Node's
 * retries a level for as long as mkdir(2) answers ENOENT, and procfs answers ENOENT for any new name
 * under /proc, which exists, so `oci:/proc/x` spun at 100% CPU and did not even hear SIGTERM. Here
 * each missing level gets one mkdir, so any path ends in as many calls as it has levels.
 */
import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";

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
async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
