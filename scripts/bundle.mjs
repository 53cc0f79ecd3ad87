#!/usr/bin/env node
/**
 * Bundle the compiled commands (dist/src/cli/program.js, from `tsc`) and their dependencies into
 * one CommonJS file, dist/src/cli/bundle/program.cjs, then write V8's code cache for it
 * (scripts/code-cache.mjs). main.js loads it through src/cli/program-loader.ts: one file read and
 * compiled from the cache instead of a few hundred modules resolved, read and parsed. CommonJS,
 * because V8's code cache can be handed to a vm.Script and not (on Node 20) to an ES module.
 * Whitespace and syntax are minified (a smaller file to read and hash: a 1-image no-op measured
 * ~7 ms faster than unminified), names are not, so stack traces under --debug and CPU profiles
 * still name functions; program.cjs.map maps their line:column back to src/. main.js stays
 * outside, so `--version` still loads nothing. better-sqlite3 stays outside: it loads a native
 * addon through `bindings`, which looks for it next to its own package.
 *
 *   node scripts/bundle.mjs [--entry dist/src/cli/program.js] [--outdir dist/src/cli/bundle] [--metafile FILE] [--no-code-cache]
 */
import { execFileSync } from "node:child_process";
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
    metafile: { type: "string" },
    "no-code-cache": { type: "boolean", default: false },
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

/**
 * node:http2, with the tls it pulls in, cost every run ~5 ms to load (Node 20) and is never used:
 * undici's HTTP/2 client requires it inside a try and goes on without it, and undici speaks HTTP/2
 * only when a dispatcher sets `allowH2`, which basewarm's do not. So there the require fails.
 */
const withoutHttp2 = {
  name: "without-http2",
  setup(b) {
    b.onResolve({ filter: /^node:http2$/ }, (args) =>
      /node_modules\/undici\/lib\/dispatcher\/client-h2\.js$/.test(args.importer) ? { path: "no-http2", namespace: "without-http2" } : undefined);
    b.onLoad({ filter: /^no-http2$/, namespace: "without-http2" }, () => ({
      contents: 'throw new Error("basewarm speaks HTTP/1.1 only: node:http2 is left out of its bundle");',
      loader: "js",
    }));
  },
};

// A bundle left from an earlier build (and its cache) must not outlive this one.
await rm(values.outdir, { recursive: true, force: true });
const outfile = join(values.outdir, "program.cjs");
const result = await build({
  entryPoints: [values.entry],
  outfile,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20.18",
  external: ["better-sqlite3"],
  minifyWhitespace: true,
  minifySyntax: true,
  // Line numbers in stack traces (--debug) still point somewhere useful.
  sourcemap: "linked",
  metafile: values.metafile !== undefined,
  legalComments: "linked",
  logLevel: "warning",
  plugins: [zodWithoutLocales, withoutHttp2],
  // Modules that find files next to themselves read import.meta.url, which CommonJS has not. The
  // banner goes before esbuild's "use strict", so it says it again: ES modules are strict code.
  define: { "import.meta.url": "__basewarmModuleUrl" },
  banner: { js: "\"use strict\";\nvar __basewarmModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
if (values.metafile !== undefined) await writeFile(values.metafile, JSON.stringify(result.metafile));
if (!values["no-code-cache"]) {
  // The cache only makes start-up faster: a build whose training fails still works, so it warns.
  try {
    execFileSync(process.execPath, [join(root, "scripts", "code-cache.mjs"), "--bundle", outfile], { stdio: "inherit" });
  } catch {
    process.stderr.write("bundle: warning: no code cache was written (see above); basewarm works without it, only starts slower\n");
  }
}
