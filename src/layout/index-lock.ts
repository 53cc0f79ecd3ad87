/**
 * index.json is rewritten read-modify-write, so two writers at once would each drop the other's
 * new entry. A lock file beside it serializes the rewrites. Only they are locked: blobs are named
 * by their digest and land by rename, so writers at once agree on them. The lock file appears whole
 * (written aside, then link(2), which fails when the name exists), so its holder can always be
 * read: a holder that died is taken over, a live one is waited for. Hand-written: the npm lock
 * libraries judge staleness by age alone, and a long copy may hold a lock for a long time.
 */
import { link, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BasewarmError, isBasewarmError } from "../errors.js";
import { readRegularFile } from "../files/index.js";
import { currentProcess, processGone, type ProcessIdentity } from "../process/index.js";
import { tempPath } from "./leftovers.js";

const INDEX_LOCK_FILE = ".basewarm-index.lock";
const POLL_MS = 20;
/** A rewrite takes milliseconds: a holder this long is stuck, and the user is told which one. */
export const INDEX_LOCK_WAIT_MS = 60_000;

/** Who holds the lock file, undefined when it is gone, null when it is not one of ours. */
function holderOf(path: string): ProcessIdentity | undefined | null {
  let text: string;
  try {
    text = readRegularFile(path, { what: "layout lock", maxBytes: 4096 }).toString("utf8");
  } catch (err) {
    // Released between our link and this read: try again at once.
    return isBasewarmError(err, "FILE_NOT_FOUND") ? undefined : null;
  }
  try {
    const parsed = JSON.parse(text) as Partial<ProcessIdentity>;
    return typeof parsed.pid === "number" && typeof parsed.hostname === "string" ? { pid: parsed.pid, hostname: parsed.hostname } : null;
  } catch {
    return null;
  }
}

export async function withIndexLock<T>(dir: string, fn: () => Promise<T>, options: { waitMs: number }): Promise<T> {
  const lock = join(dir, INDEX_LOCK_FILE);
  const self = currentProcess();
  const mine = tempPath(dir);
  await writeFile(mine, JSON.stringify(self), { flag: "wx" });
  try {
    const deadline = Date.now() + options.waitMs;
    for (;;) {
      try {
        await link(mine, lock);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = holderOf(lock);
      // Two takers of one dead holder's lock could both remove it, one the other's new lock: that
      // needs a crash and two new writers in the same millisecond, and costs one index entry.
      if (holder && processGone(holder, self)) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() >= deadline) {
        const who = holder ? `pid ${holder.pid} on ${holder.hostname}` : holder === null ? "a lock file basewarm did not write" : "another writer";
        throw new BasewarmError("LOCKED", `OCI layout ${dir}: index.json has been locked by ${who} for ${Math.round(options.waitMs / 1000)} s; wait for that copy to finish, or remove ${lock} if no such process runs`);
      }
      if (holder !== undefined) await new Promise((res) => setTimeout(res, POLL_MS));
    }
  } finally {
    await rm(mine, { force: true });
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}
