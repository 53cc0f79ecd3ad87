/**
 * The build step of a run for one catalog entry: rewrite its Dockerfile to the mirror, build when
 * its inputs changed or its cache is missing, check the cache is really in the mirror, and probe it
 * from empty storage.
 */
import { createHash } from "node:crypto";
import { BUILDKIT_CACHE_TAG, contextDigest, stageDockerfile, type Builder } from "../builder/index.js";
import type { CatalogEntry } from "../catalog/index.js";
import type { Config } from "../config/index.js";
import type { ImageUse } from "../dockerfile/index.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../log/index.js";
import type { RegistryClient } from "../registry/index.js";
import type { StateStore } from "../state/index.js";
import type { MirrorReport } from "./mirror.js";
import { rewriteToMirror } from "./pin.js";
import { verifyBuildahCache, verifyBuildkitCache, type CacheCheck } from "./verify-cache.js";

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
  /** The cache probe on an empty builder: steps taken from the cache, of all, and the ones missed. */
  probe?: { steps: number; cached: number; missed: string[] };
  logTail?: string;
}

export interface BuildEntryOptions {
  config: Config;
  client: RegistryClient;
  state: StateStore;
  builder: Builder;
  logger: Logger;
  runId: number;
  builderVersion: string;
  mirror: MirrorReport;
  /** The images this entry's Dockerfile pulls (from the catalog). */
  uses: ImageUse[];
  readFile: (path: string) => Uint8Array;
  signal?: AbortSignal;
}

export async function buildEntry(options: BuildEntryOptions, entry: CatalogEntry): Promise<BuildReport> {
  const { config, client, state, builder, logger, runId, builderVersion, mirror } = options;
  const cacheRef = entry.cache.toString();
  const base: Omit<BuildReport, "outcome" | "reason" | "durationMs" | "inputsHash"> = { entry: entry.name, cacheRef };
  const record = async (report: BuildReport): Promise<BuildReport> => {
    await state.recordBuild(runId, {
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

  // Every base image must be in the mirror; the build pins each by the digest the mirror holds.
  const pinned = new Map<string, string>();
  for (const use of options.uses) {
    const result = mirror.images.find((r) => r.source === use.normalized);
    if (!result || result.status === "failed" || result.status === "deferred" || !result.digest) {
      return record({ ...base, outcome: "skipped", reason: `base image ${use.normalized} is not in the mirror (${result?.error ?? "not mirrored"})`, inputsHash: "", durationMs: 0 });
    }
    pinned.set(use.normalized, result.digest);
  }
  const original = options.readFile(entry.dockerfile);
  const rewritten = rewriteToMirror(original, config.target, (use) => pinned.get(use.normalized), {
    file: entry.dockerfile,
    buildArgs: entry.buildArgs,
    ...(entry.target === undefined ? {} : { target: entry.target }),
    ...(entry.platforms[0] === undefined ? {} : { platform: entry.platforms[0] }),
  }, entry.platforms);
  for (const use of rewritten.unrewritten) {
    if (use.kind !== "syntax") logger.warn({ entry: entry.name, line: use.line, ref: use.ref }, "image reference left as written (built from variables)");
  }
  const inputsHash = createHash("sha256").update(JSON.stringify({
    dockerfile: createHash("sha256").update(original).digest("hex"),
    // What COPY/ADD can see: a changed file must rebuild, or the warm cache goes stale.
    context: await contextDigest(entry.context, entry.dockerfile),
    network: config.build.network,
    buildArgs: Object.entries(entry.buildArgs).sort(),
    target: entry.target ?? null,
    platforms: entry.platforms,
    bases: [...pinned.entries()].sort(),
    builder: builder.driver,
    builderVersion,
    cacheRef,
  })).digest("hex");

  const cacheState = async (): Promise<CacheCheck> =>
    builder.driver === "buildah" ? verifyBuildahCache(client, entry.cache) : verifyBuildkitCache(client, entry.cache, BUILDKIT_CACHE_TAG);

  const last = await state.lastGoodBuild(entry.name);
  // Why the entry is built, as the report says it: an operator asks why a night's builds ran.
  let why = last ? "inputs changed since the last good build" : "first build";
  if (last && last.inputsHash === inputsHash) {
    const check = await cacheState().catch((err: unknown) => ({ ok: false, manifests: 0, blobs: 0, problems: [errorMessage(err)] }));
    if (check.ok) return record({ ...base, outcome: "skipped", reason: "inputs unchanged since the last good build and the cache is in the mirror", inputsHash, durationMs: 0, cacheCheck: check });
    why = `inputs unchanged, but the cache is not whole in the mirror (${check.problems.slice(0, 2).join("; ") || "no detail"})`;
    logger.info({ entry: entry.name, problems: check.problems }, "cache missing in the mirror: rebuilding");
  }

  const staged = stageDockerfile(rewritten.text, entry.dockerfile);
  const { dockerfile } = staged;
  const started = Date.now();
  try {
    const request = {
      entry: entry.name,
      dockerfile,
      context: entry.context,
      buildArgs: entry.buildArgs,
      ...(entry.target === undefined ? {} : { target: entry.target }),
      platforms: entry.platforms,
      cache: entry.cache,
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
    let probed: Pick<BuildReport, "hitRatio" | "probe"> = {};
    if (builder.probe && config.build.probe) {
      const probe = await builder.probe(request);
      probed = { hitRatio: probe.hitRatio, probe: { steps: probe.steps, cached: probe.cachedSteps, missed: probe.missed } };
      // Right after the admin build exported it, a fresh builder must find every step in the cache:
      // a miss means tenants miss too (a step that is not reproducible, or a network-mode mismatch).
      if (probe.cachedSteps < probe.steps) {
        const missed = probe.missed.slice(0, 3).join("; ") + (probe.missed.length > 3 ? ` (and ${probe.missed.length - 3} more)` : "");
        return record({ ...base, outcome: "failed", reason: `cache probe on an empty builder reused ${probe.cachedSteps} of ${probe.steps} steps; missed: ${missed}`, inputsHash, durationMs: Date.now() - started, cacheCheck: check, ...probed, logTail: probe.logTail });
      }
    }
    return record({ ...base, outcome: "built", reason: why, inputsHash, durationMs: Date.now() - started, cacheCheck: check, ...probed, logTail: result.logTail });
  } catch (err) {
    return record({ ...base, outcome: "failed", reason: errorMessage(err), inputsHash, durationMs: Date.now() - started });
  } finally {
    staged.remove();
  }
}
