/**
 * The mirror step of a run (and of `basewarm mirror`): copy every needed image into the target,
 * record each resolution and outcome in the state file, and summarize.
 */
import { Copier, type CopyResult, type ProgressEvent } from "../copy/index.js";
import { mirrorTarget } from "../naming/index.js";
import { parsePlatform } from "../oci/index.js";
import type { Config } from "../config/index.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../log/index.js";
import type { Reference } from "../reference/index.js";
import type { RegistryClient } from "../registry/index.js";
import type { BlobLocation, StateStore } from "../state/index.js";

export interface MirrorItem {
  reference: Reference;
  platforms: string[];
}

export interface MirrorSummary {
  images: number;
  copied: number;
  unchanged: number;
  failed: number;
  deferred: number;
  bytes: number;
  blobsCopied: number;
  blobsMounted: number;
  blobsSkipped: number;
  seconds: number;
}

export interface MirrorReport {
  images: (CopyResult & { changedUpstream: boolean; previousDigest: string | null })[];
  summary: MirrorSummary;
}

export interface MirrorOptions {
  client: RegistryClient;
  config: Config;
  items: MirrorItem[];
  state?: StateStore;
  runId?: number | null;
  force?: boolean;
  logger: Logger;
  /** Stop: no new image starts and transfers in flight are aborted. */
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

export async function mirrorImages(options: MirrorOptions): Promise<MirrorReport> {
  const started = Date.now();
  const { config, state } = options;
  // Blobs this run placed, by target registry: remembered for the runs after it.
  const placed = new Map<string, BlobLocation[]>();
  const copier = new Copier({
    client: options.client,
    blobConcurrency: config.concurrency.blobs,
    imageConcurrency: config.concurrency.images,
    rateLimitReserve: config.mirror.rateLimitReserve,
    logger: options.logger,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(state ? {
      // Two: the first may be the very repository asking.
      knownBlobLocations: (registry: string, digest: string) => state.blobLocations(registry, digest, 2),
      onBlobPlaced: (registry: string, repository: string, digest: string) => {
        let list = placed.get(registry);
        if (!list) placed.set(registry, (list = []));
        list.push({ digest, repository });
      },
    } : {}),
  });
  const requests = options.items.map((item) => ({
    source: item.reference,
    target: mirrorTarget(item.reference, config.target),
    ...(item.platforms.length ? { platforms: item.platforms.map(parsePlatform) } : {}),
    ...(options.force ? { force: true } : {}),
    ...(config.mirror.referrers ? { referrers: true } : {}),
  }));
  const results = await copier.copyAll(requests);
  // In order, one record after another: the state keeps them in the order of the results.
  const images: (CopyResult & { changedUpstream: boolean; previousDigest: string | null })[] = [];
  for (const result of results) {
    let changedUpstream = false;
    let previousDigest: string | null = null;
    // The upstream digest is worth recording even when the copy then failed.
    if (state && result.sourceDigest) {
      const recorded = await state.recordResolution(options.runId ?? null, result.source, result.sourceDigest, result.mediaType ?? "");
      changedUpstream = recorded.changed && recorded.previous !== undefined;
      previousDigest = recorded.previous ?? null;
    }
    await state?.recordImage(options.runId ?? null, {
      source: result.source,
      target: result.target,
      digest: result.digest,
      bytes: result.bytes,
      status: result.status,
      ...(result.error === undefined ? {} : { error: result.error }),
    });
    images.push({ ...result, changedUpstream, previousDigest });
  }
  for (const [registry, locations] of placed) await state?.recordBlobLocations(registry, locations);
  const count = (status: CopyResult["status"]) => results.filter((r) => r.status === status).length;
  return {
    images,
    summary: {
      images: results.length,
      copied: count("copied"),
      unchanged: count("unchanged"),
      failed: count("failed"),
      deferred: count("deferred"),
      bytes: copier.totals.bytes,
      blobsCopied: copier.totals.blobsCopied,
      blobsMounted: copier.totals.blobsMounted,
      blobsSkipped: copier.totals.blobsSkipped,
      seconds: (Date.now() - started) / 1000,
    },
  };
}

export interface MirrorRunOptions extends Omit<MirrorOptions, "state" | "runId"> {
  state: StateStore;
  /** Per-entry catalog problems found while gathering the items: they make the run partial. */
  problems: string[];
}

/** `basewarm mirror`: a recorded mirror step on its own, outside a warm run. */
export async function mirrorRun(options: MirrorRunOptions): Promise<{ report: MirrorReport; failed: boolean }> {
  const { state } = options;
  const runId = await state.startRun("mirror");
  try {
    const report = await mirrorImages({ ...options, runId });
    const outcome = runOutcome({
      aborted: options.signal?.aborted ?? false,
      failures: report.summary.failed + options.problems.length,
      successes: report.summary.copied + report.summary.unchanged,
    });
    await state.finishRun(runId, outcome, { mirror: report.summary, problems: options.problems });
    // Anything but ok (a failure, or a stop before the work was done) is a failed command.
    return { report, failed: outcome !== "ok" };
  } catch (err) {
    await state.finishRun(runId, "failed", { error: errorMessage(err) });
    throw err;
  }
}

/** One report for two mirror steps of the same run (the catalog's images, then ONBUILD's). */
export function mergeMirrorReports(a: MirrorReport, b: MirrorReport): MirrorReport {
  const sum = { ...a.summary };
  for (const key of Object.keys(sum) as (keyof MirrorSummary)[]) sum[key] = a.summary[key] + b.summary[key];
  return { images: [...a.images, ...b.images], summary: sum };
}

/** A run's outcome: abandoned when stopped; else ok, partial (some work failed) or failed (nothing succeeded). */
export function runOutcome(counts: { aborted: boolean; failures: number; successes: number }): "ok" | "partial" | "failed" | "abandoned" {
  if (counts.aborted) return "abandoned";
  if (counts.failures === 0) return "ok";
  return counts.successes > 0 ? "partial" : "failed";
}
