#!/usr/bin/env node
/**
 * Bundle the compiled commands (dist/src/cli/program.js, from `tsc`) and their dependencies into
 * dist/src/cli/bundle/: program.js plus shared chunks, split where program.js imports a command's
 * modules lazily. Node then resolves, reads and compiles a few files instead of a few hundred,
 * which cuts a mirror run's fixed cost from about 0.43 s to 0.25 s here, while `--help` and
 * `refs` only parse what they use (one whole-program file made `--help` slower than the tsc
 * output: every byte is parsed before the first line runs). main.js stays outside, so `--version`
 * still loads nothing, and picks the bundle only when it is not older than the tsc output.
 * better-sqlite3 stays outside: it loads a native addon through `bindings`, which looks for it
 * next to its own package.
 *
 *   node scripts/bundle.mjs [--entry dist/src/cli/program.js] [--outdir dist/src/cli/bundle] [--minify] [--metafile FILE]
 */
import { rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    entry: { type: "string", default: join(root, "dist", "src", "cli", "program.js") },
    outdir: { type: "string", default: join(root, "dist", "src", "cli", "bundle") },
    minify: { type: "boolean", default: false },
    metafile: { type: "string" },
  },
  strict: true,
});

/**
 * zod's `z` namespace carries `z.locales`, the error messages of some forty languages (~360 KB of
 * the bundle, parsed by every command). basewarm speaks English only, which zod loads by itself
 * (locales/en.js), so the namespace of all of them is bundled as an empty one.
 */
const zodWithoutLocales = {
  name: "zod-without-locales",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /node_modules\/zod\/v4\/(classic|core)\/[^/]+$/.test(args.importer) ? { path: "zod-locales", namespace: "zod-without-locales" } : undefined);
    b.onLoad({ filter: /.*/, namespace: "zod-without-locales" }, () => ({ contents: "export {};", loader: "js" }));
  },
};

// Chunk names carry content hashes: clear the folder so no stale chunk lingers beside new ones.
await rm(values.outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { program: values.entry },
  outdir: values.outdir,
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20.18",
  external: ["better-sqlite3"],
  minify: values.minify,
  // Line numbers in stack traces (--debug) still point somewhere useful.
  sourcemap: "linked",
  metafile: values.metafile !== undefined,
  legalComments: "linked",
  logLevel: "warning",
  // The bundled CommonJS dependencies (undici, pino, commander…) call require() for Node's
  // built-ins; an ESM file has no require of its own, so give it one.
  plugins: [zodWithoutLocales],
  banner: { js: "import { createRequire as __basewarmCreateRequire } from 'node:module';\nconst require = __basewarmCreateRequire(import.meta.url);" },
});
if (values.metafile !== undefined) await writeFile(values.metafile, JSON.stringify(result.metafile));
