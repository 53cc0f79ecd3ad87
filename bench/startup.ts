/**
 * Start-up, measured apart from any registry.
 *
 * `measureStartup` (used by main.ts): `basewarm --version` as a user runs it, or `--help` while the
 * CLI has no `--version`, labelled so.
 *
 * Run as a script, `npm run bench:startup` breaks start-up down:
 *   - each dependency and each of our modules imported alone in a fresh Node (its own cost plus
 *     whatever it imports), and our modules alone once every dependency is already loaded;
 *   - `--help` and an empty mirror of the shipped build (main.js, loading the CommonJS bundle with
 *     its code cache) against the same bundle without its cache, the tsc output alone and ESM
 *     bundles (one file, minified).
 *
 *   node dist/bench/startup.js [--cli dist/src/cli/main.js] [--reps N] [--json FILE]
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs, promisify } from "node:util";
import { DEFAULT_CLI } from "./command.js";
import { fixed, median, table, type StartupResult, type StartupSample } from "./report.js";
import { timedRun } from "./timed.js";

const run = promisify(execFile);

async function hasVersionFlag(cli: string): Promise<boolean> {
  try {
    const { stdout } = await run(process.execPath, [cli, "--version"]);
    return /\d+\.\d+\.\d+/.test(stdout);
  } catch {
    return false;
  }
}

export async function measureStartup(cli: string, reps: number, workDir: string): Promise<StartupResult> {
  const args = (await hasVersionFlag(cli)) ? ["--version"] : ["--help"];
  const samples: StartupSample[] = [];
  const node: StartupSample[] = [];
  const sample = async (argv: string[]): Promise<StartupSample> => {
    const r = await timedRun(process.execPath, argv, { workDir });
    return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, maxRssKiB: r.maxRssKiB };
  };
  // Alternate, so a burst of load on the shared machine hits both alike.
  for (let i = 0; i < reps; i++) {
    samples.push(await sample([cli, ...args]));
    node.push(await sample(["-e", "0"]));
  }
  return { args, samples, node };
}

// ---- the breakdown (script only) ----

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DEPENDENCIES = ["undici", "zod", "yaml", "commander", "pino", "better-sqlite3", "node-cron", "p-limit"];
const OURS = ["errors", "reference/index", "naming/index", "config/index", "log/index", "registry/index", "copy/index", "state/index", "catalog/index", "dockerfile/index", "builder/index", "schedule/index", "run/mirror", "run/warm-run", "cli/program", "cli/commands/mirror"];

/** Milliseconds spent in `await import(...)` of the specifiers, in one fresh Node, after `preload`. */
async function importTime(preload: string[], specifiers: string | string[]): Promise<number> {
  const code = [
    `for (const s of ${JSON.stringify(preload)}) await import(s);`,
    "const t = performance.now();",
    `for (const s of ${JSON.stringify([specifiers].flat())}) await import(s);`,
    "process.stdout.write(String(performance.now() - t));",
  ].join("\n");
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", code], { cwd: ROOT });
  return Number(stdout);
}

async function medianOf(reps: number, f: () => Promise<number>): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < reps; i++) values.push(await f());
  return median(values);
}

interface Variant {
  name: string;
  argv: string[];
}

/** Build each way of shipping the CLI into `dir`; the shipped build is the first. */
async function variants(cli: string, dir: string): Promise<Variant[]> {
  // main.js loads the split bundle `npm run build` ships; the tsc output alone is entered through
  // program.js, as main.js would without a bundle.
  const program = join(dirname(cli), "program.js");
  const entry = `import { runCli } from ${JSON.stringify(program)};\nrunCli(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n`;
  await writeFile(join(dir, "tsc-entry.mjs"), entry);
  const loader = pathToFileURL(join(dirname(cli), "program-loader.js")).href;
  const uncached = `const { loadProgram } = await import(${JSON.stringify(loader)});\nconst { runCli } = await loadProgram({ useCache: false });\nprocess.exitCode = await runCli(process.argv.slice(2));\n`;
  await writeFile(join(dir, "uncached-entry.mjs"), uncached);
  const out: Variant[] = [
    { name: "shipped: main.js (bundle + code cache)", argv: [cli] },
    { name: "the shipped bundle, no code cache", argv: [join(dir, "uncached-entry.mjs")] },
    { name: "tsc output alone (program.js)", argv: [join(dir, "tsc-entry.mjs")] },
  ];
  const esbuild = await import("esbuild");
  const common = {
    bundle: true,
    platform: "node" as const,
    target: "node20.18",
    external: ["better-sqlite3"],
    logLevel: "error" as const,
  };
  const requireBanner = { js: "import { createRequire as __cr } from 'node:module';\nconst require = __cr(import.meta.url);" };
  await esbuild.build({ ...common, entryPoints: [join(dir, "tsc-entry.mjs")], outfile: join(dir, "esm.mjs"), format: "esm", banner: requireBanner });
  out.push({ name: "esbuild bundle, ESM, one file", argv: [join(dir, "esm.mjs")] });
  await esbuild.build({ ...common, entryPoints: [join(dir, "tsc-entry.mjs")], outfile: join(dir, "esm-min.mjs"), format: "esm", minify: true, banner: requireBanner });
  out.push({ name: "esbuild bundle, ESM, one file, minified", argv: [join(dir, "esm-min.mjs")] });
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { cli: { type: "string", default: DEFAULT_CLI }, reps: { type: "string", default: "7" }, json: { type: "string" } },
    strict: true,
  });
  const reps = Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, got ${JSON.stringify(values.reps)}`);
  const cli = values.cli;
  const distSrc = dirname(dirname(cli));
  // Inside dist/, so the bundles find better-sqlite3 (left outside them) in node_modules.
  const work = await mkdtemp(join(distSrc, "..", ".startup-"));
  try {
    process.stderr.write("[startup] imports, each alone in a fresh Node\n");
    const imports: [string, number][] = [];
    for (const dep of DEPENDENCIES) imports.push([dep, await medianOf(reps, () => importTime([], dep))]);
    const ours = OURS.map((m) => [m, pathToFileURL(join(distSrc, `${m}.js`)).href] as const);
    for (const [name, url] of ours) imports.push([`src/${name}`, await medianOf(reps, () => importTime([], url)).catch(() => Number.NaN)]);
    // What `mirror` loads of ours (the CLI loads command modules lazily, so name them).
    const mirrorModules = ["cli/program", "cli/runtime", "config/index", "run/mirror", "run/catalog", "state/index"].map((m) => pathToFileURL(join(distSrc, `${m}.js`)).href);
    const oursOnly = await medianOf(reps, () => importTime(DEPENDENCIES, mirrorModules)).catch(() => Number.NaN);

    process.stderr.write("[startup] --help and an empty mirror run of each build\n");
    // `mirror` with no images: every module the command loads, the state file and a run record,
    // no network; the fixed cost every mirror run pays before its first request.
    const config = join(work, "empty.json");
    await writeFile(config, JSON.stringify({ target: { registry: "127.0.0.1:9" }, state: join(work, "state.db"), images: [] }));
    const commands: [string, string[]][] = [["--help", ["--help"]], ["mirror, 0 images", ["mirror", "--config", config, "--json"]]];
    const list = await variants(cli, work);
    const key = (v: Variant, c: string) => `${v.name}\u0000${c}`;
    const samples = new Map<string, StartupSample[]>();
    // Warm the code cache once, then rotate through the variants.
    for (const v of list) await timedRun(process.execPath, [...v.argv, "--help"], { workDir: work });
    for (let i = 0; i < reps; i++) {
      for (const v of list.map((_, j) => list[(i + j) % list.length] as Variant)) {
        for (const [name, args] of commands) {
          const r = await timedRun(process.execPath, [...v.argv, ...args], { workDir: work });
          const k = key(v, name);
          samples.set(k, [...(samples.get(k) ?? []), { seconds: r.seconds, cpuSeconds: r.cpuSeconds, maxRssKiB: r.maxRssKiB }]);
        }
      }
    }
    const node = await medianOf(reps, async () => (await timedRun(process.execPath, ["-e", "0"], { workDir: work })).seconds);
    const nodeCpu = await medianOf(reps, async () => (await timedRun(process.execPath, ["-e", "0"], { workDir: work })).cpuSeconds ?? Number.NaN);
    const builds: { name: string; command: string; wall: number; cpu: number; rss: number }[] = [];
    for (const v of list) {
      for (const [name] of commands) {
        const s = samples.get(key(v, name)) ?? [];
        builds.push({
          name: v.name,
          command: name,
          wall: median(s.map((x) => x.seconds)),
          cpu: median(s.flatMap((x) => (x.cpuSeconds === undefined ? [] : [x.cpuSeconds]))),
          rss: median(s.flatMap((x) => (x.maxRssKiB === undefined ? [] : [x.maxRssKiB]))) / 1024,
        });
      }
    }
    const sizes = new Map(await Promise.all(list.map(async (v) => [v.name, (await readFile(v.argv[0] as string)).length] as const)));

    const lines = [
      "",
      `start-up breakdown — node ${process.version}, median of ${reps}; \`node -e 0\` took ${fixed(node)} s wall, ${fixed(nodeCpu)} s CPU in the same run`,
      "",
      table(["import (alone, fresh Node)", "ms"], [...imports.map(([name, ms]) => [name, fixed(ms, 0)]), ["our modules for `mirror`, dependencies already loaded", fixed(oursOnly, 0)]]),
      "",
      table(["build", "command", "wall (s)", "CPU (s)", "peak RSS (MB)", "entry file (KB)"], builds.map((b) => [b.name, b.command, fixed(b.wall), fixed(b.cpu), fixed(b.rss, 0), fixed((sizes.get(b.name) ?? 0) / 1024, 0)])),
      "",
    ];
    process.stdout.write(lines.join("\n"));
    if (values.json) await writeFile(values.json, JSON.stringify({ node: process.version, reps, nodeSeconds: node, nodeCpuSeconds: nodeCpu, imports, oursOnly, builds }, null, 2) + "\n");
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith("startup.js")) {
  main().catch((err: unknown) => {
    process.stderr.write(`startup bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
