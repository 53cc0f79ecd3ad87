/**
 * `npm run bench`: basewarm's mirror engine against `skopeo sync` and against a transfer floor,
 * on a synthetic set in local registries; then a no-op re-run and the memory of a 1 GiB copy.
 * The machine is shared and noisy, so each cold copy is repeated into fresh registries in a
 * rotating order and medians and ratios are reported. A missed target is reported, not fatal.
 *
 *   node dist/bench/main.js [--json FILE] [--skip-big] [--reps N] [--big-mib N]
 *                           [--blob-concurrency N] [--per-registry N] [--image-concurrency N]
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Copier, targetReference, type CopyResult } from "../src/copy/index.js";
import { parseReference, Reference } from "../src/reference/index.js";
import { RegistryClient } from "../src/registry/index.js";
import { flatten, startRegistry, type RunningRegistry } from "../testkit/index.js";
import type { BigCopyReport } from "./big-copy.js";
import { pushBigImage } from "./big-image.js";
import { transferFloor } from "./transfer-floor.js";
import { bytesServed, entriesSince, logMark, profile } from "./registry-log.js";
import { fixed, MB, median, table, targetLines, type Target } from "./report.js";
import { skopeoSync, skopeoTargetRepository, writeSyncYaml } from "./skopeo.js";
import { makeSyntheticSet, pushSyntheticSet, type BenchImage } from "./synthetic.js";

type Tool = "basewarm" | "skopeo" | "floor";

interface Options {
  json: string | undefined;
  skipBig: boolean;
  reps: number;
  bigMiB: number;
  blobConcurrency: number;
  perRegistry: number;
  imageConcurrency: number;
}

interface Sample {
  seconds: number;
  /** Bytes the source registry served (blobs and manifests). */
  bytesPulled: number;
  sourceRequests: number;
  targetRequests: number;
  profile: { source: Record<string, number>; target: Record<string, number> };
  maxRssKiB?: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: "string" },
      "skip-big": { type: "boolean", default: false },
      reps: { type: "string", default: "5" },
      "big-mib": { type: "string", default: "1024" },
      "blob-concurrency": { type: "string", default: "8" },
      "per-registry": { type: "string", default: "8" },
      "image-concurrency": { type: "string", default: "8" },
    },
    strict: true,
  });
  const positive = (name: string, raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    return n;
  };
  return {
    json: values.json,
    skipBig: values["skip-big"],
    reps: positive("reps", values.reps),
    bigMiB: positive("big-mib", values["big-mib"]),
    blobConcurrency: positive("blob-concurrency", values["blob-concurrency"]),
    perRegistry: positive("per-registry", values["per-registry"]),
    imageConcurrency: positive("image-concurrency", values["image-concurrency"]),
  };
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Where each tool puts a source repository in its target registry. */
function targetRepository(tool: Tool, source: RunningRegistry, repository: string): string {
  if (tool === "skopeo") return skopeoTargetRepository("mirror", repository);
  if (tool === "floor") return `mirror/${repository}`;
  return targetReference(parseReference(`${source.host}/${repository}`), { registry: "target.invalid", prefix: "mirror" }).repository;
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
        if (got.digest !== image.digest) problems.push(`${tool}: ${repo}:${tag} is ${got.digest}, source has ${image.digest}`);
        for (const child of flatten(image).manifests) {
          if (child === image) continue;
          if (!(await client.manifestHead(ref.pinned(child.digest)))) problems.push(`${tool}: ${repo}@${child.digest} missing`);
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

async function basewarmCopy(options: Options, source: RunningRegistry, target: RunningRegistry, images: BenchImage[]): Promise<CopyResult[]> {
  const client = new RegistryClient({ perHostConcurrency: options.perRegistry });
  const copier = new Copier({ client, blobConcurrency: options.blobConcurrency, imageConcurrency: options.imageConcurrency });
  try {
    return await copier.copyAll(images.map((i) => {
      const src = parseReference(`${source.host}/${i.repository}:${i.tag}`);
      return { source: src, target: targetReference(src, { registry: target.host, prefix: "mirror" }) };
    }));
  } finally {
    await client.close();
  }
}

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

function requireStatus(results: CopyResult[], wanted: CopyResult["status"]): void {
  const bad = results.filter((r) => r.status !== wanted);
  if (bad.length > 0) throw new Error(`basewarm: ${bad.length} image(s) not ${wanted}: ${bad.slice(0, 3).map((r) => `${r.source} ${r.status} ${r.error ?? ""}`).join("; ")}`);
}

async function runBigBlob(options: Options): Promise<(BigCopyReport & { verified: boolean }) | undefined> {
  const size = options.bigMiB * 1024 * 1024;
  const source = await startRegistry();
  let target: RunningRegistry | undefined;
  try {
    log(`big blob: generating and pushing a ${options.bigMiB} MiB layer as a stream`);
    const big = await pushBigImage(source.host, size);
    target = await startRegistry();
    const script = join(dirname(fileURLToPath(import.meta.url)), "big-copy.js");
    const args = [script, `${source.host}/${big.repository}:${big.tag}`, target.host, String(options.blobConcurrency), String(options.perRegistry)];
    log("big blob: copying in a child process");
    const report = await new Promise<BigCopyReport>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
      child.on("error", reject);
      child.on("exit", (code) => {
        if (code !== 0) return reject(new Error(`big-copy child exited with ${code}`));
        try {
          resolve(JSON.parse(out.trim().split("\n").pop() ?? "") as BigCopyReport);
        } catch (err) {
          reject(new Error(`big-copy child printed no report: ${(err as Error).message}`));
        }
      });
    });
    const client = new RegistryClient();
    const targetRepo = targetReference(parseReference(`${source.host}/${big.repository}`), { registry: target.host, prefix: "mirror" }).repository;
    const head = await client.manifestHead(new Reference({ registry: target.host, repository: targetRepo, tag: big.tag }));
    const layer = await client.blobHead({ registry: target.host, repository: targetRepo }, big.layerDigest);
    await client.close();
    return { ...report, verified: head?.digest === big.digest && layer === size };
  } finally {
    // Each registry holds a full copy of the blob: remove them as soon as the copy is measured.
    await target?.stop();
    await source.stop();
  }
}

/** The commit the engine was built from, and whether src/ had uncommitted changes. */
async function engineVersion(): Promise<string> {
  const git = (args: string[]) => new Promise<string>((resolve) => {
    execFile("git", args, { cwd: dirname(fileURLToPath(import.meta.url)) }, (err, stdout) => resolve(err ? "" : stdout.trim()));
  });
  const commit = await git(["rev-parse", "--short", "HEAD"]);
  if (!commit) return "unknown (not a git checkout)";
  const dirty = await git(["status", "--porcelain", "--", ":/src"]);
  return `src at ${commit}${dirty ? " plus uncommitted changes in src/" : ""}`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const benchStarted = performance.now();
  const work = await mkdtemp(join(tmpdir(), "basewarm-bench-"));
  const registries: RunningRegistry[] = [];
  const start = async () => {
    const r = await startRegistry();
    registries.push(r);
    return r;
  };
  const stop = async (r: RunningRegistry) => {
    registries.splice(registries.indexOf(r), 1);
    await r.stop();
  };

  try {
    let t = performance.now();
    const set = makeSyntheticSet();
    const tags = set.images.length;
    const multi = set.images.filter((i) => i.image.children.length > 0).length;
    const docker = set.images.filter((i) => i.image.mediaType.includes("docker")).length;
    log(`set: ${tags} images (${multi} multi-arch, ${docker} Docker v2, ${tags - docker} OCI), ${set.manifests} manifests, ${set.uniqueBlobs} unique blobs, ${(set.uniqueBytes / MB).toFixed(1)} MB unique; generated in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const source = await start();
    t = performance.now();
    await pushSyntheticSet(source.url, set);
    log(`pushed to the source registry in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const yaml = join(work, "sync.yaml");
    await writeSyncYaml(yaml, source.host, set.images);

    const run = async (tool: Tool, target: RunningRegistry): Promise<Sample> => measure(source, target, async () => {
      if (tool === "basewarm") {
        requireStatus(await basewarmCopy(options, source, target, set.images), "copied");
        return undefined;
      }
      if (tool === "skopeo") return (await skopeoSync({ yaml, targetHost: target.host, prefix: "mirror", workDir: work })).maxRssKiB;
      await transferFloor(set.images, { sourceUrl: source.url, targetUrl: target.url, targetRepository: (r) => targetRepository("floor", source, r), streams: 8 });
      return undefined;
    });

    // Cold copies: each into a fresh registry, in a rotating order so no tool always goes first.
    const cold: Record<Tool, Sample[]> = { basewarm: [], skopeo: [], floor: [] };
    const problems: string[] = [];
    const kept: Partial<Record<Tool, RunningRegistry>> = {};
    const tools: Tool[] = ["basewarm", "skopeo", "floor"];
    for (let rep = 0; rep < options.reps; rep++) {
      const order = tools.map((_, i) => tools[(i + rep) % tools.length] as Tool);
      for (const tool of order) {
        const target = await start();
        const sample = await run(tool, target);
        cold[tool].push(sample);
        log(`cold ${rep + 1}/${options.reps} ${tool.padEnd(8)} ${sample.seconds.toFixed(2)} s, ${sample.sourceRequests + sample.targetRequests} requests`);
        problems.push(...(await verifyTarget(tool, source, target, set.images)));
        const previous = kept[tool];
        kept[tool] = target;
        if (previous) await stop(previous);
      }
    }
    if (kept.floor) await stop(kept.floor);

    // No-op: the same targets again, with a new copier and client (no memory of the first run).
    const noop: Record<"basewarm" | "skopeo", Sample[]> = { basewarm: [], skopeo: [] };
    for (let rep = 0; rep < options.reps; rep++) {
      const order: ("basewarm" | "skopeo")[] = rep % 2 === 0 ? ["basewarm", "skopeo"] : ["skopeo", "basewarm"];
      for (const tool of order) {
        const target = kept[tool] as RunningRegistry;
        const sample = await measure(source, target, async () => {
          if (tool === "basewarm") {
            requireStatus(await basewarmCopy(options, source, target, set.images), "unchanged");
            return undefined;
          }
          return (await skopeoSync({ yaml, targetHost: target.host, prefix: "mirror", workDir: work })).maxRssKiB;
        });
        noop[tool].push(sample);
        log(`no-op ${rep + 1}/${options.reps} ${tool.padEnd(8)} ${sample.seconds.toFixed(2)} s, ${sample.sourceRequests + sample.targetRequests} requests`);
      }
    }
    for (const tool of ["basewarm", "skopeo"] as const) problems.push(...(await verifyTarget(tool, source, kept[tool] as RunningRegistry, set.images)));
    for (const r of [...registries]) await stop(r);

    const big = options.skipBig ? undefined : await runBigBlob(options);

    // Report.
    const med = (samples: Sample[]) => ({
      seconds: median(samples.map((s) => s.seconds)),
      mb: median(samples.map((s) => s.bytesPulled)) / MB,
      requests: median(samples.map((s) => s.sourceRequests + s.targetRequests)),
      rss: samples.some((s) => s.maxRssKiB !== undefined) ? Math.max(...samples.map((s) => s.maxRssKiB ?? 0)) * 1024 / MB : undefined,
    });
    const m = {
      basewarmCold: med(cold.basewarm), skopeoCold: med(cold.skopeo), floor: med(cold.floor),
      basewarmNoop: med(noop.basewarm), skopeoNoop: med(noop.skopeo),
    };
    const perTag = (n: number) => `${n} (${(n / tags).toFixed(2)}/img)`;
    const rows: string[][] = [
      ["basewarm cold", fixed(m.basewarmCold.seconds), fixed(m.basewarmCold.mb, 1), perTag(m.basewarmCold.requests), "–", `${fixed(m.skopeoCold.seconds / m.basewarmCold.seconds)}× faster`],
      ["skopeo sync cold", fixed(m.skopeoCold.seconds), fixed(m.skopeoCold.mb, 1), perTag(m.skopeoCold.requests), fixed(m.skopeoCold.rss, 0), "1.00×"],
      ["floor", fixed(m.floor.seconds), fixed(m.floor.mb, 1), perTag(m.floor.requests), "–", `${fixed(m.skopeoCold.seconds / m.floor.seconds)}× faster`],
      ["basewarm no-op", fixed(m.basewarmNoop.seconds), fixed(m.basewarmNoop.mb, 1), perTag(m.basewarmNoop.requests), "–", `${fixed(m.skopeoNoop.seconds / m.basewarmNoop.seconds)}× faster`],
      ["skopeo no-op", fixed(m.skopeoNoop.seconds), fixed(m.skopeoNoop.mb, 1), perTag(m.skopeoNoop.requests), fixed(m.skopeoNoop.rss, 0), "1.00×"],
      big
        ? [`big blob (${options.bigMiB} MiB)`, fixed(big.seconds), fixed(big.bytes / MB, 1), "–", fixed(big.maxRssKiB * 1024 / MB, 0), "–"]
        : ["big blob", "skipped", "", "", "", ""],
    ];
    const noopPerTag = m.basewarmNoop.requests / tags;
    const targets: Target[] = [
      { name: "cold ≥ 2× faster than skopeo sync", value: `${fixed(m.skopeoCold.seconds / m.basewarmCold.seconds)}×`, pass: m.skopeoCold.seconds / m.basewarmCold.seconds >= 2 },
      { name: "cold within 10 % of the floor", value: `${fixed(m.basewarmCold.seconds / m.floor.seconds)}× the floor's time`, pass: m.basewarmCold.seconds <= 1.1 * m.floor.seconds },
      { name: "no-op ≤ 2 requests per tag", value: `${fixed(noopPerTag)} per tag (source + target)`, pass: noopPerTag <= 2 },
      { name: "no-op faster than skopeo sync", value: `${fixed(m.basewarmNoop.seconds)} s vs ${fixed(m.skopeoNoop.seconds)} s`, pass: m.basewarmNoop.seconds < m.skopeoNoop.seconds },
      ...(big ? [{ name: "big blob peak RSS < 150 MB", value: `${fixed(big.maxRssKiB * 1024 / MB, 0)} MB${big.verified && big.status === "copied" ? "" : ` (copy ${big.status}${big.verified ? "" : ", NOT verified"})`}`, pass: big.maxRssKiB * 1024 < 150 * MB && big.verified }] : []),
    ];

    const out = process.stdout;
    out.write(`\nbasewarm mirror benchmark — ${tags} images (${multi} multi-arch, ${docker} Docker v2), ${set.manifests} manifests, ${set.uniqueBlobs} unique blobs, ${(set.uniqueBytes / MB).toFixed(1)} MB unique\n`);
    out.write(`engine: ${await engineVersion()}\n`);
    out.write(`${availableParallelism()} CPUs, node ${process.version}; median of ${options.reps}, each cold copy into a fresh registry; basewarm blobs ${options.blobConcurrency}, per registry ${options.perRegistry}, images ${options.imageConcurrency}\n\n`);
    out.write(table(["", "wall (s)", "pulled (MB)", "requests", "peak RSS (MB)", "vs skopeo"], rows) + "\n");
    out.write("wall: median; pulled: bytes the source registry served; requests: source + target registry requests;\n");
    out.write("peak RSS: skopeo's (/usr/bin/time) and the big-blob copy's own process (basewarm and the floor run in the bench process).\n\n");
    out.write(problems.length === 0
      ? `✓ digests: all ${tags} tags and their child manifests identical to the source in the basewarm, skopeo and floor targets\n`
      : `✗ digests: ${problems.length} problem(s)\n${problems.slice(0, 10).map((p) => `  ${p}`).join("\n")}\n`);
    out.write(targetLines(targets) + "\n\n");
    const kinds = (p: Record<string, number>) => Object.entries(p).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ");
    out.write("requests by kind (first run; source | target):\n");
    for (const [name, s] of [["basewarm cold", cold.basewarm[0]], ["skopeo cold", cold.skopeo[0]], ["floor", cold.floor[0]], ["basewarm no-op", noop.basewarm[0]], ["skopeo no-op", noop.skopeo[0]]] as const) {
      if (s) out.write(`  ${name.padEnd(15)} ${kinds(s.profile.source)} | ${kinds(s.profile.target)}\n`);
    }
    out.write(`\nbench took ${((performance.now() - benchStarted) / 1000).toFixed(0)} s\n`);

    if (options.json) {
      await writeFile(options.json, JSON.stringify({
        options: { ...options, json: undefined },
        engine: await engineVersion(),
        machine: { cpus: availableParallelism(), node: process.version },
        set: { images: tags, multiArch: multi, docker, manifests: set.manifests, uniqueBlobs: set.uniqueBlobs, uniqueBytes: set.uniqueBytes },
        medians: m,
        samples: { cold, noop },
        bigBlob: big ?? null,
        digestsIdentical: problems.length === 0,
        problems,
        targets,
      }, null, 2) + "\n");
    }
  } finally {
    for (const r of [...registries]) await r.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
