/**
 * One warm run: catalog → extract → resolve → mirror → build → record.
 * Every step records into the state file as it goes, so a run killed half-way leaves a
 * consistent history and the next run simply finishes the work (the registry is the source
 * of truth: copies and builds are idempotent).
 */
import { createHash } from "node:crypto";
import type { Builder } from "../builder/index.js";
import { loadCatalog, type Catalog, type CatalogProblem, type CatalogSource } from "../catalog/index.js";
import type { Config } from "../config/index.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../log/index.js";
import type { RegistryClient } from "../registry/index.js";
import type { RunTrigger, StateStore } from "../state/index.js";
import { buildEntry, type BuildReport } from "./build-entry.js";
import { mergeMirrorReports, mirrorImages, runOutcome, type MirrorItem, type MirrorReport } from "./mirror.js";
import { mirrorReference } from "../naming/index.js";
import { readOnbuild } from "../onbuild/index.js";
import type { ProgressEvent } from "../copy/index.js";

export type { BuildOutcome, BuildReport } from "./build-entry.js";

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
  config: Config;
  /** What the catalog is made of (see run/catalog.ts `catalogSource`). */
  catalog: CatalogSource;
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

/**
 * Keep only this shard's entries, images and problems; an image used by several shards goes to its
 * own hash. A problem goes with its entry (a broken entry is in no shard's entries, but its name
 * still hashes to one), a catalog-wide one by where it is in the config: each is reported once
 * across the fleet, by one shard, not by every shard of an Indexed Job.
 */
export function shardCatalog(catalog: Catalog, shard: { index: number; count: number }): Catalog {
  const entries = catalog.entries.filter((e) => shardOf(`entry:${e.name}`, shard.count) === shard.index);
  const problems = catalog.problems.filter((p) => shardOf(p.entry === undefined ? `problem:${p.origin}` : `entry:${p.entry}`, shard.count) === shard.index);
  const images = new Map([...catalog.images].filter(([key, need]) => {
    const usedBy = need.sites.flatMap((s) => (s.kind === "dockerfile" ? [s.entry] : []));
    if (usedBy.some((name) => entries.some((e) => e.name === name))) return true;
    return usedBy.length === 0 && shardOf(`image:${key}`, shard.count) === shard.index;
  }));
  return { ...catalog, entries, images, problems };
}

export async function warmRun(options: WarmRunOptions): Promise<RunReport> {
  const started = Date.now();
  const { config, client, state, builder, logger } = options;
  // Builder preflight before any registry work: a missing binary, plugin or daemon is one clear
  // line now, not a failure after a long mirror step.
  const builderVersion = builder.driver === "none" ? "none" : await builder.version();
  let catalog = loadCatalog(options.catalog);
  if (options.shard) catalog = shardCatalog(catalog, options.shard);
  const runId = await state.startRun(options.trigger);
  logger.info({ runId, entries: catalog.entries.length, images: catalog.images.size }, "warm run started");
  try {
    const items: MirrorItem[] = [...catalog.images.values()].map((need) => ({ reference: need.reference, platforms: need.platforms }));
    const mirrorStep = (batch: MirrorItem[]) => mirrorImages({
      client, config, items: batch, state, runId, logger,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    let mirror = await mirrorStep(items);
    // Images the mirrored bases' ONBUILD triggers pull join the catalog and are mirrored now. A
    // stopped run reads no triggers: every read would fail as aborted and pass for a problem.
    const onbuild = options.signal?.aborted ? [] : await followOnbuild(client, config, catalog, mirror, logger);
    if (onbuild.length > 0 && !options.signal?.aborted) mirror = mergeMirrorReports(mirror, await mirrorStep(onbuild));
    const builds: BuildReport[] = [];
    if (builder.driver !== "none") {
      for (const entry of catalog.entries) {
        if (options.signal?.aborted) break;
        builds.push(await buildEntry({
          config, client, state, builder, logger, runId, builderVersion, mirror,
          uses: catalog.entryImages.get(entry.name) ?? [],
          readFile: options.catalog.readFile,
          ...(options.signal ? { signal: options.signal } : {}),
        }, entry));
      }
    }
    const aborted = options.signal?.aborted ?? false;
    const failures = mirror.summary.failed + builds.filter((b) => b.outcome === "failed").length + catalog.problems.length;
    const successes = mirror.summary.copied + mirror.summary.unchanged + builds.filter((b) => b.outcome !== "failed").length;
    const outcome = runOutcome({ aborted, failures, successes });
    const report: RunReport = { runId, outcome, trigger: options.trigger, mirror, builds, problems: catalog.problems, seconds: (Date.now() - started) / 1000 };
    // Image and build failures are logged where they happen; catalog problems only here, so a
    // pod log names the Dockerfile that is missing, not just a count.
    for (const problem of catalog.problems) logger.warn({ runId, code: problem.code, error: problem.message }, "catalog problem");
    await state.finishRun(runId, outcome, {
      mirror: mirror.summary,
      builds: { built: builds.filter((b) => b.outcome === "built").length, skipped: builds.filter((b) => b.outcome === "skipped").length, failed: builds.filter((b) => b.outcome === "failed").length },
      problems: catalog.problems.map((p) => p.message),
    });
    return report;
  } catch (err) {
    await state.finishRun(runId, "failed", { error: errorMessage(err) });
    throw err;
  }
}

/**
 * Read the ONBUILD triggers of every image the mirror now holds and add the images they pull to
 * the catalog (provenance "ONBUILD of IMAGE"); a malformed trigger or an unreadable config is a
 * catalog problem for that image, never a crash. Returns what still has to be mirrored.
 */
async function followOnbuild(client: RegistryClient, config: Config, catalog: Catalog, mirror: MirrorReport, logger: Logger): Promise<MirrorItem[]> {
  const added: MirrorItem[] = [];
  for (const result of mirror.images) {
    if ((result.status !== "copied" && result.status !== "unchanged") || !result.digest) continue;
    const need = catalog.images.get(result.source);
    if (!need) continue;
    let found;
    try {
      found = await readOnbuild(client, result.source, mirrorReference(need.reference, config.target).pinned(result.digest));
    } catch {
      break; // stopped while reading: the run is abandoned, and this is no problem of the image
    }
    catalog.problems.push(...found.problems);
    for (const image of found.images) {
      const key = image.use.reference.toString();
      const site = { kind: "onbuild" as const, origin: image.provenance, trigger: image.trigger };
      const existing = catalog.images.get(key);
      if (existing) {
        existing.sites.push(site);
        continue;
      }
      catalog.images.set(key, { reference: image.use.reference, platforms: need.platforms, sites: [site] });
      added.push({ reference: image.use.reference, platforms: need.platforms });
      logger.info({ image: key, provenance: image.provenance }, "ONBUILD trigger pulls an image: mirroring it too");
    }
  }
  return added;
}
