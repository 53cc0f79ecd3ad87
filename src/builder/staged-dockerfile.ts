/**
 * The rewritten Dockerfile a build is given, in a folder of its own. Its `<Dockerfile>.dockerignore`
 * goes with it: BuildKit looks for that file beside the Dockerfile it is handed, so without the
 * copy an admin build fell back to the context's `.dockerignore`, saw other files than tenants
 * building the original do, and warmed a cache their COPY steps never hit.
 */
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "../files/index.js";
import { besideIgnoreFile } from "./context-digest.js";

export interface StagedDockerfile {
  dockerfile: string;
  /** Remove the folder; harmless twice. */
  remove(): void;
}

export function stageDockerfile(text: string, original: string): StagedDockerfile {
  const dir = makeTempDir("basewarm-build-");
  const dockerfile = join(dir.path, "Dockerfile");
  try {
    writeFileSync(dockerfile, text);
    const ignore = besideIgnoreFile(original);
    if (existsSync(ignore)) copyFileSync(ignore, besideIgnoreFile(dockerfile));
  } catch (err) {
    dir.remove();
    throw err;
  }
  return { dockerfile, remove: dir.remove };
}
