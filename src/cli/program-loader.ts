/**
 * Loading the commands. `npm run build` bundles them into one CommonJS file
 * (dist/src/cli/bundle/program.cjs) and writes V8's compiled code of a training run beside it
 * (scripts/code-cache.mjs). Compiling through vm.Script with that cache skips most parsing and
 * compiling: a 1-image no-op mirror measured 228 → 166 ms on Node 20, and the gain is there on the
 * first run in a fresh container, which a cache written at run time (Node 22's
 * `module.enableCompileCache`, kept in a temp folder) never gives a CronJob.
 *
 * V8 checks that a cache fits its version and flags, but of the source only its length, and a
 * release build does not check the cache's own checksum: a flipped byte crashed Node 20 with a
 * fatal error. So the cache file starts with two SHA-256s, of the bundle it was made for and of
 * V8's data, and is used only when both match (hashing both costs ~2 ms). Anything that does not
 * fit (another bundle, another Node, a Node flag, a damaged file) is compiled afresh: slower, never
 * wrong.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";
import { keepWebAssemblyAtBaseline } from "../registry/wasm-tiering.js";

type RunCli = typeof import("./program.js").runCli;

/** What became of the code cache: used, refused by V8, made for another bundle, damaged, or none. */
export type CodeCacheUse = "used" | "rejected" | "other-bundle" | "damaged" | "absent" | "not-bundled";

export interface LoadedProgram {
  runCli: RunCli;
  codeCache: CodeCacheUse;
  /** The cache file's bytes for what V8 has compiled so far (undefined when not bundled). */
  cacheBytes(): Buffer | undefined;
}

const HERE = dirname(fileURLToPath(import.meta.url));
export const BUNDLE_FILE = join(HERE, "bundle", "program.cjs");
/** Where a bundle's code cache lives: beside it. */
export const codeCacheFileFor = (bundle: string): string => `${bundle}.code-cache`;
const HASH_BYTES = 32;
const HEADER_BYTES = 2 * HASH_BYTES;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest();

/**
 * The bundled commands when the bundle is at least as new as the compiled program (a bundle older
 * than a fresh `tsc` is stale), otherwise the compiled modules. `useCache: false` compiles afresh.
 */
export async function loadProgram(options: { useCache?: boolean; bundle?: string } = {}): Promise<LoadedProgram> {
  const bundle = resolve(options.bundle ?? BUNDLE_FILE);
  const mtime = (file: string) => statSync(file, { throwIfNoEntry: false })?.mtimeMs;
  const bundled = mtime(bundle);
  const compiled = mtime(join(HERE, "program.js"));
  if (bundled === undefined || (compiled !== undefined && bundled < compiled)) {
    // Node >= 22.1 can keep the compiled modules on disk between runs; Node 20 cannot.
    (await import("node:module") as { enableCompileCache?: () => unknown }).enableCompileCache?.();
    const { runCli } = await import("./program.js");
    return { runCli, codeCache: "not-bundled", cacheBytes: () => undefined };
  }
  return loadBundle(bundle, codeCacheFileFor(bundle), options.useCache ?? true);
}

/** Node's CommonJS wrapper, so the bundle sees the require, module and __filename it expects. */
const WRAPPER = ["(function (exports, require, module, __filename, __dirname) {", "\n})"] as const;

function loadBundle(file: string, cacheFile: string, useCache: boolean): LoadedProgram {
  // V8 flags are part of what a cache must match: set them before compiling, as the training did.
  keepWebAssemblyAtBaseline();
  const source = readFileSync(file);
  // The hash covers exactly what V8 compiles: the bundle inside the wrapper.
  const hash = createHash("sha256").update(WRAPPER[0]).update(source).update(WRAPPER[1]).digest();
  let cachedData: Buffer | undefined;
  let use: CodeCacheUse = "absent";
  const stored = useCache ? readIfThere(cacheFile) : undefined;
  if (stored && stored.length > HEADER_BYTES) {
    const data = stored.subarray(HEADER_BYTES);
    if (!stored.subarray(0, HASH_BYTES).equals(hash)) use = "other-bundle";
    else if (!stored.subarray(HASH_BYTES, HEADER_BYTES).equals(sha256(data))) use = "damaged";
    else cachedData = data;
  }
  const script = new Script(WRAPPER[0] + source.toString("utf8") + WRAPPER[1], {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  if (cachedData) use = script.cachedDataRejected === true ? "rejected" : "used";
  const module = { exports: {} as { runCli?: RunCli } };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, dirname(file));
  const runCli = module.exports.runCli;
  if (typeof runCli !== "function") throw new Error(`${file} does not export runCli; rebuild with \`npm run build\``);
  return {
    runCli,
    codeCache: use,
    cacheBytes: () => {
      const data = script.createCachedData();
      return Buffer.concat([hash, sha256(data), data]);
    },
  };
}

function readIfThere(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined; // no cache (or an unreadable one) only means compiling afresh
  }
}
