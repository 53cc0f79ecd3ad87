/**
 * Names of the temp files a writer keeps inside a layout, carrying who wrote them, so that the
 * files of a writer that died (SIGKILL, OOM, power loss) can be told from a live writer's and
 * removed by the next one. A pid means something only on its own host, hence the host name too.
 */
import { randomUUID } from "node:crypto";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { currentProcess, processGone } from "../process/index.js";

const TEMP = /^\.basewarm-(.+)-(\d+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

/** Whether a directory entry is a basewarm writer's temp file (its own, or one a dead writer left). */
export function isTempName(name: string): boolean {
  return TEMP.test(name);
}

/** A fresh temp file name in `dir`, owned by this process. */
export function tempPath(dir: string): string {
  const self = currentProcess();
  return join(dir, `.basewarm-${self.hostname}-${self.pid}-${randomUUID()}.tmp`);
}

/** Remove the temp files of writers that are gone; a live writer's, or another host's, stay. */
export async function sweepDeadTemps(dir: string): Promise<void> {
  const self = currentProcess();
  for (const name of await readdir(dir).catch(() => [])) {
    const match = TEMP.exec(name);
    if (match && processGone({ hostname: match[1] ?? null, pid: Number(match[2]) }, self)) await rm(join(dir, name), { force: true });
  }
}
