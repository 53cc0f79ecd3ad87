/**
 * `npm run bench`: basewarm's mirror engine against `skopeo sync` and against a transfer floor,
 * on a synthetic set in local registries; then a no-op re-run and the memory of a 1 GiB copy.
 * The machine is shared and noisy, so each cold copy is repeated into fresh registries in a
 * rotating order and medians and ratios are reported. A missed target is reported, not fatal.
 *
 *   node dist/bench/main.js [--json FILE] [--skip-big] [--reps N] [--big-mib N]
 *                           [--blob-concurrency N] [--per-registry N] [--image-concurrency N]
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { Copier, type CopyResult } from "../src/copy/index.js";
import { mirrorReference } from "../src/naming/index.js";
import { parseReference, Reference } from "../src/reference/index.js";
import { RegistryClient } from "../src/registry/index.js";
import { flatten, startRegistry, type RunningRegistry } from "../testkit/index.js";
import { runBigBlob } from "./big.js";
import { bytesServed, entriesSince, logMark, profile } from "./registry-log.js";
import { MB, renderReport, targets, type BenchResults, type Sample } from "./report.js";
import { skopeoSync, skopeoTargetRepository, writeSyncYaml } from "./skopeo.js";
import { makeSyntheticSet, pushSyntheticSet, type BenchImage } from "./synthetic.js";
import { transferFloor } from "./transfer-floor.js";

const run = promisify(execFile);

type Tool = "basewarm" | "skopeo" | "floor";

interface Options {
  json: string | undefined;
  skipBig: boolean;
  reps: number;
  bigMiB: number;
  /** Undefined: the engine's own default. */
  blobConcurrency: number | undefined;
  perRegistry: number | undefined;
  imageConcurrency: number | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: "string" },
      "skip-big": { type: "boolean", default: false },
      reps: { type: "string", default: "5" },
      "big-mib": { type: "string", default: "1024" },
      "blob-concurrency": { type: "string" },
      "per-registry": { type: "string" },
      "image-concurrency": { type: "string" },
    },
    strict: true,
  });
  const positive = (name: string, raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    return n;
  };
  const optional = (name: string, raw: string | undefined) => (raw === undefined ? undefined : positive(name, raw));
  return {
    json: values.json,
    skipBig: values["skip-big"],
    reps: positive("reps", values.reps),
    bigMiB: positive("big-mib", values["big-mib"]),
    blobConcurrency: optional("blob-concurrency", values["blob-concurrency"]),
    perRegistry: optional("per-registry", values["per-registry"]),
    imageConcurrency: optional("image-concurrency", values["image-concurrency"]),
  };
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Where each tool puts a source repository in its target registry. */
function targetRepository(tool: Tool, source: RunningRegistry, repository: string): string {
  if (tool === "skopeo") return skopeoTargetRepository("mirror", repository);
  if (tool === "floor") return `mirror/${repository}`;
  return mirrorReference(parseReference(`${source.host}/${repository}`), { registry: "target.invalid", prefix: "mirror" }).repository;
}

/** Every tag at the target resolves to the source digest and every child manifest is there. */
async function verifyTarget(tool: Tool, source: RunningRegistry, target: RunningRegistry, images: BenchImage[]): Promise<string[]> {
  const client = new RegistryClient();
  const problems: string[] = [];
  try {
    for (const { repository, tag, image } of images) {
      const repo = targetRepository(tool, source, repository);
      const ref = new Reference({ registry: target.host, repository: repo, tag });
      try {
        const got = await client.manifestGet(ref);
        if (got.digest !== image.digest) problems.push(`${tool}: ${repo}:${tag} is ${got.digest}, the source has ${image.digest}`);
        for (const child of flatten(image).manifests) {
          if (child !== image && !(await client.manifestHead(ref.pinned(child.digest)))) problems.push(`${tool}: ${repo}@${child.digest} missing`);
        }
      } catch (err) {
        problems.push(`${tool}: ${repo}:${tag}: ${(err as Error).message}`);
      }
    }
  } finally {
    await client.close();
  }
  return problems;
}

/** One basewarm run as a new process would do it: new client, new copier, nothing remembered. */
async function basewarmCopy(options: Options, source: RunningRegistry, target: RunningRegistry, images: BenchImage[], wanted: CopyResult["status"]): Promise<void> {
  const client = new RegistryClient(options.perRegistry === undefined ? {} : { perHostConcurrency: options.perRegistry });
  const copier = new Copier({
    client,
    ...(options.blobConcurrency === undefined ? {} : { blobConcurrency: options.blobConcurrency }),
    ...(options.imageConcurrency === undefined ? {} : { imageConcurrency: options.imageConcurrency }),
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
  if (bad.length > 0) throw new Error(`basewarm: ${bad.length} image(s) not ${wanted}: ${bad.slice(0, 3).map((r) => `${r.source} ${r.status} ${r.error ?? ""}`).join("; ")}`);
}

/** Time a body and read what the source and the target registries served meanwhile. */
async function measure(source: RunningRegistry, target: RunningRegistry, body: () => Promise<number | undefined>): Promise<Sample> {
  const sourceMark = await logMark(source);
  const targetMark = await logMark(target);
  const started = performance.now();
  const maxRssKiB = await body();
  const seconds = (performance.now() - started) / 1000;
  const fromSource = await entriesSince(source, sourceMark);
  const atTarget = await entriesSince(target, targetMark);
  return {
    seconds,
    bytesPulled: bytesServed(fromSource.filter((e) => e.method === "GET")),
    sourceRequests: fromSource.length,
    targetRequests: atTarget.length,
    profile: { source: profile(fromSource), target: profile(atTarget) },
    ...(maxRssKiB === undefined ? {} : { maxRssKiB }),
  };
}

/** The commit the engine was built from, and whether src/ had uncommitted changes. */
async function engineVersion(): Promise<string> {
  const git = (args: string[]) => run("git", args, { cwd: dirname(fileURLToPath(import.meta.url)) }).then((r) => r.stdout.trim(), () => "");
  const commit = await git(["rev-parse", "--short", "HEAD"]);
  if (!commit) return "unknown (not a git checkout)";
  const dirty = await git(["status", "--porcelain", "--", ":/src"]);
  return `src at ${commit}${dirty ? " plus uncommitted changes in src/" : ""}`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  await run("skopeo", ["--version"]).catch(() => {
    throw new Error("skopeo is not installed or not on PATH; the benchmark compares against `skopeo sync` (Debian: apt-get install skopeo)");
  });
  const benchStarted = performance.now();
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
    const set = makeSyntheticSet();
    const multiArch = set.images.filter((i) => i.image.children.length > 0).length;
    const docker = set.images.filter((i) => i.image.mediaType.includes("docker")).length;
    log(`set: ${set.images.length} images (${multiArch} multi-arch, ${docker} Docker v2), ${set.uniqueBlobs} unique blobs, ${(set.uniqueBytes / MB).toFixed(1)} MB unique`);
    const source = await start();
    await pushSyntheticSet(source.url, set);
    log("pushed to the source registry");
    const yaml = join(work, "sync.yaml");
    await writeSyncYaml(yaml, source.host, set.images);

    const copy = (tool: Tool, target: RunningRegistry, wanted: CopyResult["status"]) => measure(source, target, async () => {
      if (tool === "skopeo") return (await skopeoSync({ yaml, targetHost: target.host, prefix: "mirror", workDir: work })).maxRssKiB;
      if (tool === "basewarm") await basewarmCopy(options, source, target, set.images, wanted);
      else await transferFloor(set.images, { sourceUrl: source.url, targetUrl: target.url, targetRepository: (r) => targetRepository("floor", source, r), streams: 8 });
      return undefined;
    });

    // Cold copies: each into a fresh registry, in a rotating order so no tool always goes first.
    const cold: BenchResults["cold"] = { basewarm: [], skopeo: [], floor: [] };
    const problems: string[] = [];
    const kept: Partial<Record<Tool, RunningRegistry>> = {};
    const tools: Tool[] = ["basewarm", "skopeo", "floor"];
    for (let rep = 0; rep < options.reps; rep++) {
      for (let i = 0; i < tools.length; i++) {
        const tool = tools[(i + rep) % tools.length] as Tool;
        const target = await start();
        const sample = await copy(tool, target, "copied");
        cold[tool].push(sample);
        log(`cold ${rep + 1}/${options.reps} ${tool.padEnd(8)} ${sample.seconds.toFixed(2)} s, ${sample.sourceRequests + sample.targetRequests} requests`);
        problems.push(...(await verifyTarget(tool, source, target, set.images)));
        await stop(kept[tool]);
        kept[tool] = target;
      }
    }
    await stop(kept.floor);

    // No-op: the last targets again, with a new copier and client (no memory of the first run).
    const noop: BenchResults["noop"] = { basewarm: [], skopeo: [] };
    for (let rep = 0; rep < options.reps; rep++) {
      for (const tool of rep % 2 === 0 ? (["basewarm", "skopeo"] as const) : (["skopeo", "basewarm"] as const)) {
        const sample = await copy(tool, kept[tool] as RunningRegistry, "unchanged");
        noop[tool].push(sample);
        log(`no-op ${rep + 1}/${options.reps} ${tool.padEnd(8)} ${sample.seconds.toFixed(2)} s, ${sample.sourceRequests + sample.targetRequests} requests`);
      }
    }
    for (const tool of ["basewarm", "skopeo"] as const) problems.push(...(await verifyTarget(tool, source, kept[tool] as RunningRegistry, set.images)));
    for (const r of [...registries]) await stop(r);

    const big = options.skipBig ? undefined : await runBigBlob({ mib: options.bigMiB, blobConcurrency: options.blobConcurrency, perRegistry: options.perRegistry, log });

    const results: BenchResults = {
      engine: await engineVersion(),
      cpus: availableParallelism(),
      node: process.version,
      options: { reps: options.reps, blobConcurrency: options.blobConcurrency, perRegistry: options.perRegistry, imageConcurrency: options.imageConcurrency, bigMiB: options.bigMiB },
      set: { images: set.images.length, multiArch, docker, manifests: set.manifests, uniqueBlobs: set.uniqueBlobs, uniqueBytes: set.uniqueBytes },
      cold,
      noop,
      problems,
      big,
      seconds: (performance.now() - benchStarted) / 1000,
    };
    process.stdout.write(renderReport(results));
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
