/**
 * `basewarm status`: what the state knows about recent runs (of every shard), the failures of each
 * shard's last run, stale references, and — for monitoring — whether every shard is healthy.
 */
import { shardName, type BuildRecord, type ImageRow, type RunRow, type StateStore } from "../state/index.js";

export interface ShardStatus {
  /** `0/4`, or `all` for runs over the whole catalog. */
  shard: string;
  last: RunRow;
  failures: { images: ImageRow[]; builds: BuildRecord[] };
  /** Images left for a later run at the rate-limit reserve: by design, so not failures. */
  deferred: DeferredImage[];
}

export interface DeferredImage extends ImageRow {
  /** When a run last copied the image or found it unchanged in the mirror; null when never. */
  lastMirrored: string | null;
}

export interface StateStatus {
  runs: RunRow[];
  /** The last run of each watched shard (mirror-only runs stand with `all`; see watchedRuns). */
  shards: ShardStatus[];
  /** Shards of the watched count with no recent run: an Indexed Job's index that never started. */
  neverRan: string[];
  stale: { ref: string; lastResolved: string }[];
}

/** How many recent runs are looked at to find each shard's last one. */
const RUNS_SCANNED = 200;

/**
 * The last run of each shard the deployment runs now, from recent runs (newest first).
 * - Sharded: the newest sharded run is newer than every full run (`run`/`serve` without --shard).
 *   Its count's shards are watched (a count given up, 4 shards now 8, never comes back), and the
 *   whole catalog (`all`) only while a run of it (a one-off `mirror`) is newer than every shard run.
 * - Otherwise the newest full run covers every shard's work: only `all` is watched, so going back
 *   from shards to one run does not leave the old shards failing `--check --max-age` for weeks.
 */
export function watchedRuns(recent: readonly RunRow[]): Map<string, RunRow> {
  const newestSharded = recent.find((run) => run.shard !== null);
  const newestFull = recent.find((run) => run.shard === null && run.trigger !== "mirror");
  const sharded = newestSharded !== undefined && (newestFull === undefined || newestSharded.id > newestFull.id);
  const watched = new Map<string, RunRow>();
  for (const run of recent) {
    const keep = run.shard === null
      ? !sharded || run.id > (newestSharded?.id ?? 0)
      : sharded && run.shard.count === newestSharded?.shard?.count;
    if (!keep) continue;
    const key = shardName(run.shard);
    if (!watched.has(key)) watched.set(key, run);
  }
  return watched;
}

/**
 * The shards of the watched count (the newest sharded run's, see watchedRuns) that no recent run
 * is of. Only that count's: shards of a count given up are not demanded forever.
 */
export function shardsNeverRun(watched: ReadonlyMap<string, RunRow>): string[] {
  const count = [...watched.values()].find((run) => run.shard !== null)?.shard?.count ?? 0;
  return Array.from({ length: count }, (_, index) => shardName({ index, count })).filter((name) => !watched.has(name));
}

export async function stateStatus(state: StateStore, options: { staleBefore: Date; runs?: number }): Promise<StateStatus> {
  const recent = await state.recentRuns(RUNS_SCANNED);
  const lastByShard = watchedRuns(recent);
  const shards: ShardStatus[] = [];
  for (const [shard, last] of [...lastByShard].sort(([a], [b]) => a.localeCompare(b))) {
    const { images, builds } = await state.failuresOfRun(last.id);
    const deferred: DeferredImage[] = [];
    for (const image of images.filter((i) => i.status === "deferred")) {
      deferred.push({ ...image, lastMirrored: (await state.lastMirrored(image.source, image.target))?.at ?? null });
    }
    shards.push({ shard, last, failures: { images: images.filter((i) => i.status !== "deferred"), builds }, deferred });
  }
  return { runs: recent.slice(0, options.runs ?? 10), shards, neverRan: shardsNeverRun(lastByShard), stale: await state.staleRefs(options.staleBefore) };
}

/**
 * Problems a monitor must see, one line each: a shard whose last run failed, was partial or was
 * abandoned, or is older than `maxAgeMs`; a shard that never ran; an image deferred whose mirror
 * copy is older than `staleMs` (or missing); no runs at all.
 */
export function healthProblems(status: StateStatus, now: Date, limits: { staleMs: number; maxAgeMs?: number }): string[] {
  if (status.shards.length === 0) return ["no runs recorded yet"];
  const { staleMs, maxAgeMs } = limits;
  const problems: string[] = [];
  for (const { shard, last, deferred } of status.shards) {
    if (last.outcome === "failed" || last.outcome === "partial" || last.outcome === "abandoned") {
      problems.push(`shard ${shard}: last run ${last.id} ${last.outcome} (started ${last.startedAt})`);
    }
    const age = now.getTime() - Date.parse(last.startedAt);
    if (maxAgeMs !== undefined && age > maxAgeMs) {
      problems.push(`shard ${shard}: last run ${last.id} started ${last.startedAt}, more than ${durationText(maxAgeMs)} ago`);
    }
    // A run that defers an image is ok, and a deferral records no resolution; an image deferred
    // run after run (the budget never lasts to reach it) would otherwise go unnoticed for good.
    for (const image of deferred) {
      if (image.lastMirrored === null) problems.push(`shard ${shard}: image ${image.source} deferred (rate limit), never mirrored`);
      else if (now.getTime() - Date.parse(image.lastMirrored) > staleMs) {
        problems.push(`shard ${shard}: image ${image.source} deferred (rate limit), last mirrored ${image.lastMirrored}, more than ${durationText(staleMs)} ago`);
      }
    }
  }
  for (const shard of status.neverRan) problems.push(neverRanText(shard));
  return problems;
}

export function neverRanText(shard: string): string {
  return `shard ${shard}: never ran (not among the last ${RUNS_SCANNED} runs)`;
}

/**
 * What a run's summary says went wrong besides images and builds: catalog problems (a Dockerfile
 * missing or unreadable) and the error that ended a run. The summary is the run's own JSON, so
 * only strings are taken from it.
 */
export function runProblems(summary: unknown): string[] {
  if (summary === null || typeof summary !== "object") return [];
  const { problems, error } = summary as { problems?: unknown; error?: unknown };
  const lines = Array.isArray(problems) ? problems.filter((p): p is string => typeof p === "string") : [];
  return typeof error === "string" ? [...lines, `run stopped: ${error}`] : lines;
}

/** A --max-age as the user likely wrote it: 7 h, 2 d, 90 min, 30 s. */
function durationText(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["min", 60_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  }
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}
