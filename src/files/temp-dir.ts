/**
 * A temporary folder that goes away even when the process does not get to clean up: removed by
 * `remove()`, and otherwise by an `exit` hook, which runs on a second SIGTERM's immediate exit too.
 * Credentials, rewritten Dockerfiles and buildah's vfs storage (a full copy per layer) live in one.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { atExit } from "../process/index.js";

export interface TempDir {
  path: string;
  /** Remove it now; harmless twice. */
  remove(): void;
}

export function makeTempDir(prefix: string, base: string = tmpdir()): TempDir {
  const path = mkdtempSync(join(base, prefix));
  // A few retries: a builder killed a moment ago may still be finishing a write in it.
  const removeNow = () => rmSync(path, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
  const forget = atExit(removeNow);
  return {
    path,
    remove: () => {
      forget();
      removeNow();
    },
  };
}
