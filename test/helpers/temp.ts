import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * Fresh temp dirs named `basewarm-PREFIX-…`, all removed after the file's tests (some hold layers
 * of hundreds of MiB). Call at the top of a test file; the returned function makes one dir.
 */
export function useTempDirs(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), `basewarm-${prefix}-`));
    made.push(dir);
    return dir;
  };
}
