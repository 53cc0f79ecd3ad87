#!/usr/bin/env node
/**
 * Write the V8 code cache of the bundled commands (see src/cli/program-loader.ts). It loads the
 * bundle in this process, runs what every mirror or warm run starts with — `--help`, `refs` of a
 * small Dockerfile, and `mirror` of no image into a state in a temp folder (no network) — and
 * saves the code V8 compiled on the way. Then a fresh Node loads the bundle with it and must say
 * "used"; otherwise this warns (the commands still work, compiled afresh each run), or, with
 * --strict, fails.
 *
 * The Node that runs this must be the one that runs basewarm: the service image runs it in its
 * runtime stage. scripts/bundle.mjs runs it after every build. V8 flags given to this Node (on its
 * command line or in NODE_OPTIONS, e.g. --stack-trace-limit, or on Node 20 even
 * --max-old-space-size) would be baked into the cache and make plain runs refuse it, so it starts
 * itself again without them.
 *
 *   node scripts/code-cache.mjs [--bundle dist/src/cli/bundle/program.cjs] [--strict]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const loaderUrl = pathToFileURL(join(root, "dist", "src", "cli", "program-loader.js")).href;
const { values } = parseArgs({
  options: {
    bundle: { type: "string", default: join(root, "dist", "src", "cli", "bundle", "program.cjs") },
    strict: { type: "boolean", default: false },
  },
  strict: true,
});
const plainEnv = { ...process.env };
delete plainEnv.NODE_OPTIONS;
if (process.env.NODE_OPTIONS || process.execArgv.length > 0) {
  const again = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit", env: plainEnv });
  process.exit(again.status ?? 1);
}
const bundle = resolve(values.bundle);
const { loadProgram, codeCacheFileFor } = await import(loaderUrl);
const cacheFile = codeCacheFileFor(bundle);

const program = await loadProgram({ bundle, useCache: false });
if (program.codeCache === "not-bundled") throw new Error(`code-cache: no current bundle at ${bundle}; run scripts/bundle.mjs`);

const work = mkdtempSync(join(tmpdir(), "basewarm-code-cache-"));
try {
  const dockerfile = join(work, "Dockerfile");
  writeFileSync(dockerfile, "ARG BASE=alpine:3.20\nFROM ${BASE} AS base\nRUN true\nFROM base\nCOPY --from=busybox:1.36 /bin/true /true\n");
  const config = join(work, "basewarm.json");
  writeFileSync(config, JSON.stringify({ target: { registry: "127.0.0.1:9" }, state: join(work, "state.db"), images: [] }));
  const quiet = { stdout: () => true, stderr: () => true };
  const env = { ...process.env, DOCKER_CONFIG: join(work, "docker") };
  for (const argv of [["--help"], ["refs", "--json", dockerfile], ["mirror", "--config", config, "--json"]]) {
    const code = await program.runCli(argv, quiet, env);
    if (code !== 0) throw new Error(`code-cache: \`basewarm ${argv.join(" ")}\` exited ${code} while training`);
  }
  // Written whole, then renamed: a run starting meanwhile sees the old cache or the new one.
  const temp = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(temp, program.cacheBytes());
  renameSync(temp, cacheFile);
} finally {
  rmSync(work, { recursive: true, force: true });
}

const check = `const { loadProgram } = await import(${JSON.stringify(loaderUrl)}); process.stdout.write((await loadProgram({ bundle: ${JSON.stringify(bundle)} })).codeCache);`;
const use = execFileSync(process.execPath, ["--input-type=module", "-e", check], { encoding: "utf8", env: plainEnv });
if (use === "used") {
  process.stdout.write(`code-cache: ${cacheFile} written and used by a fresh Node ${process.version}\n`);
} else {
  process.stderr.write(`code-cache: ${values.strict ? "" : "warning: "}a fresh Node ${process.version} did not use the cache it wrote (${use}); basewarm still works, compiling its code on every start\n`);
  if (values.strict) process.exitCode = 1;
}
