/**
 * One warm run: catalog → extract → resolve → mirror → build → record.
 * Every step records into the state file as it goes, so a run killed half-way leaves a
 * consistent history and the next run simply finishes the work (the registry is the source
 * of truth: copies and builds are idempotent).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILDKIT_CACHE_TAG, type Builder } from "../builder/index.js";
import { loadCatalog, type Catalog, type CatalogEntry, type CatalogProblem } from "../catalog/index.js";
import type { LoadedConfig } from "../config/index.js";
import { targetReference } from "../copy/index.js";
import { rewriteDockerfile } from "../dockerfile/index.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../log/index.js";
import type { RegistryClient } from "../registry/index.js";
import type { RunTrigger, StateStore } from "../state/index.js";
import { mirrorImages, type MirrorItem, type MirrorReport } from "./mirror.js";
import { verifyBuildahCache, verifyBuildkitCache, type CacheCheck } from "./verify-cache.js";
import type { ProgressEvent } from "../copy/index.js";

export type BuildOutcome = "built" | "skipped" | "failed";

export interface BuildReport {
  entry: string;
  outcome: BuildOutcome;
  reason: string;
  cacheRef: string;
  inputsHash: string;
  durationMs: number;
  cacheCheck?: CacheCheck;
  hitRatio?: number;
  logTail?: string;
}

export interface RunReport {
  runId: number;
  outcome: "ok" | "partial" | "failed" | "abandoned";
  trigger: RunTrigger;
  mirror: MirrorReport;
  builds: BuildReport[];
  problems: CatalogProblem[];
  seconds: number;
}

export interface WarmRunOptions {
  loaded: LoadedConfig;
  client: RegistryClient;
  state: StateStore;
  builder: Builder;
  logger: Logger;
  trigger: RunTrigger;
  /** Deterministic shard of the catalog: `{ index, count }`, index 0-based. */
  shard?: { index: number; count: number };
  /** Aborted on SIGTERM: no new builds start; the run is recorded as abandoned. */
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

function shardOf(key: string, count: number): number {
  return createHash("sha256").update(key).digest().readUInt32BE(0) % count;
}

/** Keep only this shard's entries and images; an image used by several shards goes to its own hash. */
export function shardCatalog(catalog: Catalog, shard: { index: number; count: number }): Catalog {
  const entries = catalog.entries.filter((e) => shardOf(`entry:${e.name}`, shard.count) === shard.index);
  const images = new Map([...catalog.images].filter(([key, need]) => {
    const usedBy = need.sites.flatMap((s) => (s.kind === "dockerfile" ? [s.entry] : []));
    if (usedBy.some((name) => entries.some((e) => e.name === name))) return true;
    return usedBy.length === 0 && shardOf(`image:${key}`, shard.count) === shard.index;
  }));
  return { ...catalog, entries, images };
}

export async function warmRun(options: WarmRunOptions): Promise<RunReport> {
  const started = Date.now();
  const { loaded, client, state, builder, logger } = options;
  const { config } = loaded;
  let catalog = loadCatalog(loaded);
  if (options.shard) catalog = shardCatalog(catalog, options.shard);
  const runId = state.startRun(options.trigger);
  logger.info({ runId, entries: catalog.entries.length, images: catalog.images.size }, "warm run started");
  try {
    const items: MirrorItem[] = [...catalog.images.values()].map((need) => ({ reference: need.reference, platforms: need.platforms }));
    const mirror = await mirrorImages({ client, config, items, state, runId, logger, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
    const builds: BuildReport[] = [];
    if (builder.driver !== "none") {
      const builderVersion = await builder.version();
      for (const entry of catalog.entries) {
        if (options.signal?.aborted) break;
        builds.push(await buildEntry(options, catalog, entry, mirror, builderVersion, runId));
      }
    }
    const aborted = options.signal?.aborted ?? false;
    const failures = mirror.summary.failed + builds.filter((b) => b.outcome === "failed").length + catalog.problems.length;
    const successes = mirror.summary.copied + mirror.summary.unchanged + builds.filter((b) => b.outcome !== "failed").length;
    const outcome = aborted ? "abandoned" : failures === 0 ? "ok" : successes > 0 ? "partial" : "failed";
    const report: RunReport = { runId, outcome, trigger: options.trigger, mirror, builds, problems: catalog.problems, seconds: (Date.now() - started) / 1000 };
    state.finishRun(runId, outcome, {
      mirror: mirror.summary,
      builds: { built: builds.filter((b) => b.outcome === "built").length, skipped: builds.filter((b) => b.outcome === "skipped").length, failed: builds.filter((b) => b.outcome === "failed").length },
      problems: catalog.problems.map((p) => p.message),
    });
    return report;
  } catch (err) {
    state.finishRun(runId, "failed", { error: errorMessage(err) });
    throw err;
  }
}

async function buildEntry(options: WarmRunOptions, catalog: Catalog, entry: CatalogEntry, mirror: MirrorReport, builderVersion: string, runId: number): Promise<BuildReport> {
  const { loaded, client, state, builder, logger } = options;
  const { config } = loaded;
  const cacheRef = `${config.target.registry}/${entry.cacheRepository}`;
  const base: Omit<BuildReport, "outcome" | "reason" | "durationMs" | "inputsHash"> = { entry: entry.name, cacheRef };
  const record = (report: BuildReport): BuildReport => {
    state.recordBuild(runId, {
      entry: entry.name,
      inputsHash: report.inputsHash,
      builder: builder.driver,
      builderVersion,
      cacheRef,
      durationMs: report.durationMs,
      outcome: report.outcome === "built" ? "ok" : report.outcome,
      reason: report.reason,
      logTail: report.logTail ?? "",
      cacheHitRatio: report.hitRatio ?? null,
    });
    return report;
  };
  if (!entry.build) return record({ ...base, outcome: "skipped", reason: "build: false in the catalog", inputsHash: "", durationMs: 0 });

  // Map every base image to its mirror copy, pinned by the digest the mirror holds.
  const uses = catalog.entryImages.get(entry.name) ?? [];
  const pinned = new Map<string, string>();
  for (const use of uses) {
    const result = mirror.images.find((r) => r.source === use.normalized);
    if (!result || result.status === "failed" || result.status === "deferred" || !result.digest) {
      return record({ ...base, outcome: "skipped", reason: `base image ${use.normalized} is not in the mirror (${result?.error ?? "not mirrored"})`, inputsHash: "", durationMs: 0 });
    }
    pinned.set(use.normalized, targetReference(use.reference, config.target).pinned(result.digest).toString());
  }
  const original = readFileSync(entry.dockerfile);
  const rewritten = rewriteDockerfile(original, (use) => pinned.get(use.normalized), {
    file: entry.dockerfile,
    buildArgs: entry.buildArgs,
    ...(entry.target === undefined ? {} : { target: entry.target }),
    ...(entry.platforms[0] === undefined ? {} : { platform: entry.platforms[0] }),
  });
  for (const use of rewritten.unrewritten) {
    if (use.kind !== "syntax") logger.warn({ entry: entry.name, line: use.line, ref: use.ref }, "image reference left as written (built from variables)");
  }
  const inputsHash = createHash("sha256").update(JSON.stringify({
    dockerfile: createHash("sha256").update(original).digest("hex"),
    buildArgs: Object.entries(entry.buildArgs).sort(),
    target: entry.target ?? null,
    platforms: entry.platforms,
    bases: [...pinned.entries()].sort(),
    builder: builder.driver,
    builderVersion,
    cacheRef,
  })).digest("hex");

  const cacheState = async (): Promise<CacheCheck> => {
    const repo = { registry: config.target.registry, repository: entry.cacheRepository };
    return builder.driver === "buildah" ? verifyBuildahCache(client, repo) : verifyBuildkitCache(client, repo, BUILDKIT_CACHE_TAG);
  };

  const last = state.lastGoodBuild(entry.name);
  if (last && last.inputsHash === inputsHash) {
    const check = await cacheState().catch((err: unknown) => ({ ok: false, manifests: 0, blobs: 0, problems: [errorMessage(err)] }));
    if (check.ok) return record({ ...base, outcome: "skipped", reason: "inputs unchanged since the last good build and the cache is in the mirror", inputsHash, durationMs: 0, cacheCheck: check });
    logger.info({ entry: entry.name, problems: check.problems }, "cache missing in the mirror: rebuilding");
  }

  const dir = mkdtempSync(join(tmpdir(), "basewarm-build-"));
  const dockerfile = join(dir, "Dockerfile");
  writeFileSync(dockerfile, rewritten.text);
  const started = Date.now();
  try {
    const request = {
      entry: entry.name,
      dockerfile,
      context: entry.context,
      buildArgs: entry.buildArgs,
      ...(entry.target === undefined ? {} : { target: entry.target }),
      platforms: entry.platforms,
      cacheRef,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const result = await builder.build(request);
    if (!result.ok) {
      return record({ ...base, outcome: "failed", reason: `build failed: ${result.error ?? "see log tail"}`, inputsHash, durationMs: Date.now() - started, logTail: result.logTail });
    }
    const check = await cacheState();
    if (!check.ok) {
      return record({ ...base, outcome: "failed", reason: `cache check failed: ${check.problems.slice(0, 3).join("; ")}`, inputsHash, durationMs: Date.now() - started, cacheCheck: check, logTail: result.logTail });
    }
    let hitRatio: number | undefined;
    if (builder.probe && config.build.probe) {
      const probe = await builder.probe(request);
      hitRatio = probe.hitRatio;
      if (probe.steps > 0 && probe.cachedSteps === 0) {
        return record({ ...base, outcome: "failed", reason: `cache probe on empty storage reused 0 of ${probe.steps} steps`, inputsHash, durationMs: Date.now() - started, cacheCheck: check, hitRatio: probe.hitRatio, logTail: probe.logTail });
      }
    }
    return record({ ...base, outcome: "built", reason: last ? "inputs changed or cache missing" : "first build", inputsHash, durationMs: Date.now() - started, cacheCheck: check, ...(hitRatio === undefined ? {} : { hitRatio }), logTail: result.logTail });
  } catch (err) {
    return record({ ...base, outcome: "failed", reason: errorMessage(err), inputsHash, durationMs: Date.now() - started });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
