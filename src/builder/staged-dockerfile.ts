/**
 * The rewritten Dockerfile a build is given, in a folder of its own. Its `<Dockerfile>.dockerignore`
 * goes with it: BuildKit looks for that file beside the Dockerfile it is handed, so without the
 * copy an admin build fell back to the context's `.dockerignore`, saw other files than tenants
 * building the original do, and warmed a cache their COPY steps never hit.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { besideIgnoreFile } from "./context-digest.js";

export interface StagedDockerfile {
  dockerfile: string;
  /** Remove the folder; harmless twice. */
  remove(): void;
}

export function stageDockerfile(text: string, original: string): StagedDockerfile {
  const dir = mkdtempSync(join(tmpdir(), "basewarm-build-"));
  const dockerfile = join(dir, "Dockerfile");
  try {
    writeFileSync(dockerfile, text);
    const ignore = besideIgnoreFile(original);
    if (existsSync(ignore)) copyFileSync(ignore, besideIgnoreFile(dockerfile));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { dockerfile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
