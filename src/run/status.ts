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
}

export interface StateStatus {
  runs: RunRow[];
  /** The last warm run of each shard (mirror-only runs stand with `all`). */
  shards: ShardStatus[];
  stale: { ref: string; lastResolved: string }[];
}

/** How many recent runs are looked at to find each shard's last one. */
const RUNS_SCANNED = 200;

export async function stateStatus(state: StateStore, options: { staleBefore: Date; runs?: number }): Promise<StateStatus> {
  const recent = await state.recentRuns(RUNS_SCANNED);
  const lastByShard = new Map<string, RunRow>();
  for (const run of recent) {
    const key = shardName(run.shard);
    if (!lastByShard.has(key)) lastByShard.set(key, run);
  }
  const shards: ShardStatus[] = [];
  for (const [shard, last] of [...lastByShard].sort(([a], [b]) => a.localeCompare(b))) {
    shards.push({ shard, last, failures: await state.failuresOfRun(last.id) });
  }
  return { runs: recent.slice(0, options.runs ?? 10), shards, stale: await state.staleRefs(options.staleBefore) };
}

/**
 * Problems a monitor must see, one line each: a shard whose last run failed, was partial or was
 * abandoned, or is older than `maxAgeMs`; no runs at all.
 */
export function healthProblems(status: StateStatus, now: Date, maxAgeMs?: number): string[] {
  if (status.shards.length === 0) return ["no runs recorded yet"];
  const problems: string[] = [];
  for (const { shard, last } of status.shards) {
    if (last.outcome === "failed" || last.outcome === "partial" || last.outcome === "abandoned") {
      problems.push(`shard ${shard}: last run ${last.id} ${last.outcome} (started ${last.startedAt})`);
    }
    const age = now.getTime() - Date.parse(last.startedAt);
    if (maxAgeMs !== undefined && age > maxAgeMs) {
      problems.push(`shard ${shard}: last run ${last.id} started ${last.startedAt}, more than ${Math.round(maxAgeMs / 60_000)} min ago`);
    }
  }
  return problems;
}
