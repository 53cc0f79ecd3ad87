/**
 * `npm run bench`: `basewarm mirror` as users run it (a child process, like `skopeo sync`) against
 * `skopeo sync` and a transfer floor, on a synthetic set in local registries, plus the copy engine
 * inside this process as an extra row; then no-op re-runs, start-up, a scaling run over small
 * images and the memory of a 1 GiB copy. The machine is shared and noisy, so each cold copy goes
 * into a fresh registry, rounds run in a rotating order (A,B,C then B,C,A …) and medians are
 * reported. A missed target is reported, not fatal.
 *
 *   node dist/bench/main.js [--quick] [--json FILE] [--markdown] [--reps N] [--cli PATH]
 *                           [--scaling 24,96,384|none] [--scaling-reps N] [--startup-reps N]
 *                           [--skip-big] [--big-mib N]
 *                           [--blob-concurrency N] [--per-registry N] [--image-concurrency N]
 *
 * --quick: 3 rounds, scaling over 24 and 96 images, a 256 MiB big blob (about a third of the time).
 * --markdown: print the README's Benchmark measurements (the report, fenced) instead of the text.
 * --render FILE: print the report of a run saved with --json, without measuring again.
 */
import { execFile } from "node:child_process";
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { Copier, type CopyResult } from "../src/copy/index.js";
import { mirrorReference } from "../src/naming/index.js";
import { parseReference } from "../src/reference/index.js";
import { RegistryClient } from "../src/registry/index.js";
import { startRegistry, type RunningRegistry } from "../testkit/index.js";
import { runBigBlob } from "./big.js";
import { basewarmMirror, DEFAULT_CLI, writeMirrorConfig, type Concurrency } from "./command.js";
import { renderBlobMemory, runBlobMemory } from "./blob-memory.js";
import { renderFleet, runFleet } from "./fleet.js";
import { measure } from "./measure.js";
import { MB, renderMarkdown, renderReport, targets, type BenchResults, type ColdTool, type NoopTool, type Sample } from "./report.js";
import { runScaling } from "./scaling.js";
import { skopeoSync, skopeoTargetRepository, writeSyncYaml } from "./skopeo.js";
import { measureStartup } from "./startup.js";
import { makeSyntheticSet, pushSyntheticSet, type BenchImage } from "./synthetic.js";
import { transferFloor } from "./transfer-floor.js";
import { verifyTarget } from "./verify.js";

const run = promisify(execFile);

interface Options {
  json: string | undefined;
  render: string | undefined;
  markdown: boolean;
  skipBig: boolean;
  reps: number;
  bigMiB: number;
  cli: string;
  scaling: number[];
  scalingReps: number;
  startupReps: number;
  concurrency: Concurrency;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "string" },
      render: { type: "string" },
      markdown: { type: "boolean", default: false },
      "skip-big": { type: "boolean", default: false },
      reps: { type: "string" },
      "big-mib": { type: "string" },
      cli: { type: "string", default: DEFAULT_CLI },
      scaling: { type: "string" },
      "scaling-reps": { type: "string" },
      "startup-reps": { type: "string" },
      "blob-concurrency": { type: "string" },
      "per-registry": { type: "string" },
      "image-concurrency": { type: "string" },
    },
    strict: true,
  });
  const quick = values.quick;
  const positive = (name: string, raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    return n;
  };
  const optional = (name: string, raw: string | undefined) => (raw === undefined ? undefined : positive(name, raw));
  const scalingRaw = values.scaling ?? (quick ? "24,96" : "24,96,384");
  return {
    json: values.json,
    render: values.render,
    markdown: values.markdown,
    skipBig: values["skip-big"],
    reps: positive("reps", values.reps ?? (quick ? "3" : "5")),
    bigMiB: positive("big-mib", values["big-mib"] ?? (quick ? "256" : "1024")),
    cli: values.cli,
    scaling: scalingRaw === "none" ? [] : scalingRaw.split(",").map((s) => positive("scaling", s.trim())),
    scalingReps: positive("scaling-reps", values["scaling-reps"] ?? "3"),
    startupReps: positive("startup-reps", values["startup-reps"] ?? (quick ? "5" : "10")),
    concurrency: {
      blobs: optional("blob-concurrency", values["blob-concurrency"]),
      perRegistry: optional("per-registry", values["per-registry"]),
      images: optional("image-concurrency", values["image-concurrency"]),
    },
  };
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Where each tool puts a source repository in its target registry. */
function targetRepository(tool: ColdTool, source: RunningRegistry, repository: string): string {
  if (tool === "skopeo") return skopeoTargetRepository("mirror", repository);
  if (tool === "floor") return `mirror/${repository}`;
  return mirrorReference(parseReference(`${source.host}/${repository}`), { registry: "target.invalid", prefix: "mirror" }).repository;
}

/** The engine inside this process, as a new process would start it: new client, new copier. */
async function engineCopy(concurrency: Concurrency, source: RunningRegistry, target: RunningRegistry, images: BenchImage[], wanted: CopyResult["status"]): Promise<void> {
  const client = new RegistryClient(concurrency.perRegistry === undefined ? {} : { perHostConcurrency: concurrency.perRegistry });
  const copier = new Copier({
    client,
    ...(concurrency.blobs === undefined ? {} : { blobConcurrency: concurrency.blobs }),
    ...(concurrency.images === undefined ? {} : { imageConcurrency: concurrency.images }),
  });
  let results: CopyResult[];
  try {
    results = await copier.copyAll(images.map((i) => {
      const src = parseReference(`${source.host}/${i.repository}:${i.tag}`);
      return { source: src, target: mirrorReference(src, { registry: target.host, prefix: "mirror" }) };
    }));
  } finally {
    await client.close();
  }
  const bad = results.filter((r) => r.status !== wanted);
  if (bad.length > 0) throw new Error(`engine: ${bad.length} image(s) not ${wanted}: ${bad.slice(0, 3).map((r) => `${r.source} ${r.status} ${r.error ?? ""}`).join("; ")}`);
}

/** The commit the engine was built from, and whether src/ had uncommitted changes. */
async function engineVersion(): Promise<string> {
  // scripts/bench-node24.sh runs the bench in a copy without .git: it names the checkout to ask.
  const checkout = process.env["BASEWARM_BENCH_CHECKOUT"] || dirname(fileURLToPath(import.meta.url));
  const git = (args: string[]) => run("git", args, { cwd: checkout }).then((r) => r.stdout.trim(), () => "");
  const commit = await git(["rev-parse", "--short", "HEAD"]);
  if (!commit) return "unknown (not a git checkout)";
  const dirty = await git(["status", "--porcelain", "--", ":/src"]);
  return `src at ${commit}${dirty ? " plus uncommitted changes in src/" : ""}`;
}

/** Round `rep` of a rotation: A,B,C then B,C,A then C,A,B … */
function rotated<T>(items: readonly T[], rep: number): T[] {
  return items.map((_, i) => items[(i + rep) % items.length] as T);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.render) {
    const saved = JSON.parse(await readFile(options.render, "utf8")) as BenchResults;
    process.stdout.write(options.markdown ? renderMarkdown(saved) : renderReport(saved));
    return;
  }
  await run("skopeo", ["--version"]).catch(() => {
    throw new Error("skopeo is not installed or not on PATH; the benchmark compares against `skopeo sync` (Debian: apt-get install skopeo)");
  });
  await access(options.cli).catch(() => {
    throw new Error(`no CLI at ${options.cli}; run \`npm run build\` first or pass --cli PATH`);
  });
  const benchStarted = performance.now();
  // Before measuring: the checkout may move while the bench runs.
  const engine = await engineVersion();
  const work = await mkdtemp(join(tmpdir(), "basewarm-bench-"));
  const registries = new Set<RunningRegistry>();
  const start = async () => {
    const r = await startRegistry();
    registries.add(r);
    return r;
  };
  const stop = async (r: RunningRegistry | undefined) => {
    if (!r) return;
    registries.delete(r);
    await r.stop();
  };

  try {
    log(`start-up: ${options.startupReps} rounds`);
    const startup = await measureStartup(options.cli, options.startupReps, work);

    const set = makeSyntheticSet();
    const multiArch = set.images.filter((i) => i.image.children.length > 0).length;
    const docker = set.images.filter((i) => i.image.mediaType.includes("docker")).length;
    log(`set: ${set.images.length} images (${multiArch} multi-arch, ${docker} Docker v2), ${set.uniqueBlobs} unique blobs, ${(set.uniqueBytes / MB).toFixed(1)} MB unique`);
    const source = await start();
    await pushSyntheticSet(source.url, set);
    log("pushed to the source registry");
    const yaml = join(work, "sync.yaml");
    await writeSyncYaml(yaml, source.host, set.images);

    // basewarm's command keeps a config and a state file per target, as a user's would.
    const configs = new Map<RunningRegistry, string>();
    const configFor = async (target: RunningRegistry): Promise<string> => {
      let path = configs.get(target);
      if (!path) {
        path = join(work, `basewarm-${configs.size}.json`);
        await writeMirrorConfig(path, { source, target, images: set.images, state: join(work, `state-${configs.size}.db`), concurrency: options.concurrency });
        configs.set(target, path);
      }
      return path;
    };
    const copy = (tool: ColdTool, target: RunningRegistry, wanted: CopyResult["status"]): Promise<Sample> => measure(source, target, async () => {
      if (tool === "skopeo") {
        const r = await skopeoSync({ yaml, targetHost: target.host, prefix: "mirror", workDir: work });
        return { inProcess: false, maxRssKiB: r.maxRssKiB, cpuSeconds: r.cpuSeconds };
      }
      if (tool === "basewarm") {
        const r = await basewarmMirror({ cli: options.cli, config: await configFor(target), workDir: work, wanted });
        return { inProcess: false, maxRssKiB: r.maxRssKiB, cpuSeconds: r.cpuSeconds };
      }
      if (tool === "engine") await engineCopy(options.concurrency, source, target, set.images, wanted);
      else await transferFloor(set.images, { sourceUrl: source.url, targetUrl: target.url, targetRepository: (r) => targetRepository("floor", source, r), streams: 8 });
      return { inProcess: true };
    });
    const requests = (s: Sample) => s.sourceRequests + s.targetRequests;

    // Cold copies: each into a fresh registry, in a rotating order so no tool always goes first.
    const cold: BenchResults["cold"] = { basewarm: [], engine: [], skopeo: [], floor: [] };
    const problems: string[] = [];
    const kept: Partial<Record<ColdTool, RunningRegistry>> = {};
    const coldTools: ColdTool[] = ["basewarm", "skopeo", "floor", "engine"];
    for (let rep = 0; rep < options.reps; rep++) {
      for (const tool of rotated(coldTools, rep)) {
        const target = await start();
        if (tool === "basewarm") await configFor(target);
        const sample = await copy(tool, target, "copied");
        cold[tool].push(sample);
        log(`cold ${rep + 1}/${options.reps} ${tool.padEnd(8)} ${sample.seconds.toFixed(2)} s, ${requests(sample)} requests`);
        problems.push(...(await verifyTarget(tool, target, set.images, (r) => targetRepository(tool, source, r))));
        await stop(kept[tool]);
        kept[tool] = target;
      }
    }
    await stop(kept.floor);

    // No-op: the last targets again; the command with its state file, the engine with a new copier.
    const noop: BenchResults["noop"] = { basewarm: [], engine: [], skopeo: [] };
    const noopTools: NoopTool[] = ["basewarm", "skopeo", "engine"];
    for (let rep = 0; rep < options.reps; rep++) {
      for (const tool of rotated(noopTools, rep)) {
        const sample = await copy(tool, kept[tool] as RunningRegistry, "unchanged");
        noop[tool].push(sample);
        log(`no-op ${rep + 1}/${options.reps} ${tool.padEnd(8)} ${sample.seconds.toFixed(2)} s, ${requests(sample)} requests`);
      }
    }
    for (const tool of noopTools) problems.push(...(await verifyTarget(tool, kept[tool] as RunningRegistry, set.images, (r) => targetRepository(tool, source, r))));
    const fleet = await runFleet({ reps: options.reps, cli: options.cli, workDir: work, source, images: set.images, concurrency: options.concurrency, start, stop, log });
    const memory = await runBlobMemory({ reps: options.reps, cli: options.cli, workDir: work, source, images: set.images, concurrency: options.concurrency, start, stop, log });
    for (const r of [...registries]) await stop(r);

    const scaling = options.scaling.length === 0
      ? undefined
      : await runScaling({ sizes: options.scaling, reps: options.scalingReps, cli: options.cli, workDir: work, concurrency: options.concurrency, start, stop, log });

    const big = options.skipBig ? undefined : await runBigBlob({ mib: options.bigMiB, blobConcurrency: options.concurrency.blobs, perRegistry: options.concurrency.perRegistry, log });

    const results: BenchResults = {
      date: new Date(Date.now() - (performance.now() - benchStarted)).toISOString(),
      engine,
      cpus: availableParallelism(),
      node: process.version,
      cli: relative(process.cwd(), options.cli) || options.cli,
      options: { reps: options.reps, blobConcurrency: options.concurrency.blobs, perRegistry: options.concurrency.perRegistry, imageConcurrency: options.concurrency.images, bigMiB: options.bigMiB },
      set: { images: set.images.length, multiArch, docker, manifests: set.manifests, uniqueBlobs: set.uniqueBlobs, uniqueBytes: set.uniqueBytes },
      cold,
      noop,
      startup,
      scaling,
      problems,
      big,
      seconds: (performance.now() - benchStarted) / 1000,
    };
    process.stdout.write(options.markdown ? renderMarkdown(results) : renderReport(results));
    const extra = renderFleet(fleet, set.images.length) + renderBlobMemory(memory);
    process.stdout.write(options.markdown ? "```\n" + extra + "```\n" : extra);
    if (options.json) await writeFile(options.json, JSON.stringify({ ...results, targets: targets(results) }, null, 2) + "\n");
  } finally {
    for (const r of [...registries]) await r.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
