#!/usr/bin/env node
/**
 * Bundle the compiled commands (dist/src/cli/program.js, from `tsc`) and their dependencies into
 * one ESM file, dist/src/cli/program.bundle.mjs: Node then resolves, reads and compiles one file
 * instead of a few hundred, which cuts a mirror run's fixed cost by about a third. main.js stays
 * outside, so `--version` still loads nothing (a whole-CLI bundle doubles its cost: every byte is
 * parsed before the first line runs). better-sqlite3 stays outside too: it loads a native addon
 * through `bindings`, which looks for it next to its own package.
 *
 *   node scripts/bundle.mjs [--entry dist/src/cli/program.js] [--out dist/src/cli/program.bundle.mjs] [--minify] [--metafile FILE]
 */
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    entry: { type: "string", default: join(root, "dist", "src", "cli", "program.js") },
    out: { type: "string", default: join(root, "dist", "src", "cli", "program.bundle.mjs") },
    minify: { type: "boolean", default: false },
    metafile: { type: "string" },
  },
  strict: true,
});

const result = await build({
  entryPoints: [values.entry],
  outfile: values.out,
  bundle: true,
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
  banner: { js: "import { createRequire as __basewarmCreateRequire } from 'node:module';\nconst require = __basewarmCreateRequire(import.meta.url);" },
});
if (values.metafile !== undefined) await writeFile(values.metafile, JSON.stringify(result.metafile));
