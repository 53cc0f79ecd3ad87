/**
 * A digest of what a build can see of its context: every file, symlink and folder that
 * `.dockerignore` does not exclude, with its path, mode and content. It is part of an entry's build
 * inputs, so a changed file that a COPY uses rebuilds the entry instead of leaving a stale cache.
 *
 * Ignore rules: BuildKit reads `<Dockerfile>.dockerignore` beside the Dockerfile first, then the
 * context's `.dockerignore`. Matching follows Docker's own rules (moby/patternmatcher), through
 * @balena/dockerignore, a port tested against `docker build` — not a gitignore library, whose `*`
 * and anchoring differ.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, lstatSync, readdirSync, readlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import dockerignoreModule, { type Ignore } from "@balena/dockerignore";
import { BasewarmError } from "../errors.js";
import { readRegularFile } from "../files/index.js";

// A CommonJS module whose `module.exports` is the factory: Node's default import is the factory
// itself, while its typings describe an ES module with a `default` property.
type IgnoreFactory = () => Ignore;
const dockerignore: IgnoreFactory = (dockerignoreModule as unknown as { default?: IgnoreFactory }).default ?? (dockerignoreModule as unknown as IgnoreFactory);

const MAX_IGNORE_FILE_BYTES = 1024 * 1024;
/** A context this large is almost surely a mistake (a home directory); hashing it would take forever. */
export const MAX_CONTEXT_FILES = 100_000;

/** `<Dockerfile>.dockerignore` beside a Dockerfile: BuildKit reads it before the context's own. */
export function besideIgnoreFile(dockerfile: string): string {
  return join(dirname(dockerfile), `${basename(dockerfile)}.dockerignore`);
}

function ignoreFile(context: string, dockerfile: string): string | undefined {
  const beside = besideIgnoreFile(dockerfile);
  if (existsSync(beside)) return beside;
  const inContext = join(context, ".dockerignore");
  return existsSync(inContext) ? inContext : undefined;
}

function ignorePatterns(path: string | undefined): string[] {
  if (path === undefined) return [];
  return readRegularFile(path, { what: "ignore file", maxBytes: MAX_IGNORE_FILE_BYTES }).toString("utf8").split(/\r?\n/);
}

async function hashFile(path: string, into: ReturnType<typeof createHash>): Promise<void> {
  const inner = createHash("sha256");
  for await (const chunk of createReadStream(path)) inner.update(chunk as Buffer);
  into.update(inner.digest("hex"));
}

/**
 * `sha256:<hex>` over the visible context. `dockerfile` is the original Dockerfile path (its own
 * bytes are hashed separately by the caller; here it only locates the ignore file).
 */
export async function contextDigest(context: string, dockerfile: string): Promise<string> {
  const ignore = dockerignore().add(ignorePatterns(ignoreFile(context, dockerfile)));
  const hash = createHash("sha256");
  let count = 0;
  // Walk in sorted order so the digest depends on content only, not on directory order.
  const walk = async (dir: string, rel: string): Promise<void> => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (err) {
      throw new BasewarmError("FILE_UNREADABLE", `build context folder ${dir} cannot be read (${(err as { code?: string }).code ?? "error"}); check its permissions`, { cause: err });
    }
    for (const name of names) {
      const path = join(dir, name);
      const relPath = rel === "" ? name : `${rel}/${name}`;
      const stat = lstatSync(path);
      // Excluded folders are still walked: Docker lets a `!` rule re-include files inside them.
      const excluded = ignore.ignores(relPath);
      if (++count > MAX_CONTEXT_FILES) {
        throw new BasewarmError("CONFIG_INVALID", `build context ${context} has more than ${MAX_CONTEXT_FILES} entries; point the catalog entry's context at the folder the build needs, or add a .dockerignore`);
      }
      if (stat.isDirectory()) {
        if (!excluded) hash.update(`d ${relPath} ${stat.mode & 0o7777}\n`);
        await walk(path, relPath);
      } else if (!excluded) {
        if (stat.isSymbolicLink()) {
          hash.update(`l ${relPath} ${readlinkSync(path)}\n`);
        } else if (stat.isFile()) {
          hash.update(`f ${relPath} ${stat.mode & 0o7777} `);
          await hashFile(path, hash);
          hash.update("\n");
        }
      }
    }
  };
  await walk(context, "");
  return `sha256:${hash.digest("hex")}`;
}
