/**
 * The run lock's rules, shared by every backend: which locks conflict, when a holder is presumed
 * dead, and which running runs died with their holder. Pure functions of rows, so both backends
 * decide exactly alike; each backend only reads and writes the rows inside one transaction.
 *
 * Conflicts: a full run (no shard) covers the whole catalog, so it conflicts with every lock. Two
 * shards conflict when they have the same index (same count: the same part; the same index of
 * another count overlaps anyway) or different counts: `0/4` and `1/2` partition the catalog
 * differently and may share entries, so only shards of one partition run side by side.
 */
import { processGone, type ProcessIdentity } from "../process/index.js";
import type { Shard } from "./types.js";

export interface LockRow {
  token: string;
  pid: number;
  hostname: string;
  heartbeatAt: string;
  shard: Shard | null;
}

export interface RunningRun {
  id: number;
  pid: number | null;
  hostname: string | null;
  lockToken: string | null;
}

export function shardsConflict(a: Shard | null, b: Shard | null): boolean {
  if (a === null || b === null) return true;
  return a.count !== b.count || a.index === b.index;
}

/** `2/4`, or `all` for the whole catalog: how messages and reports name what a lock covers. */
export function shardName(shard: Shard | null): string {
  return shard === null ? "all" : `${shard.index}/${shard.count}`;
}

export function validShard(shard: Shard): boolean {
  return Number.isSafeInteger(shard.count) && Number.isSafeInteger(shard.index) && shard.count >= 1 && shard.index >= 0 && shard.index < shard.count;
}

/** Columns to shard (both null for a full run). */
export function shardFromColumns(index: unknown, count: unknown): Shard | null {
  return index === null || index === undefined || count === null || count === undefined ? null : { index: Number(index), count: Number(count) };
}

/**
 * Whether `wanted` can be taken now: blocked while a conflicting holder is live; otherwise the
 * tokens of the conflicting holders to evict (stale heartbeat, or a dead pid on this host).
 */
export function lockDecision(
  rows: readonly LockRow[],
  wanted: Shard | null,
  now: Date,
  staleAfterMs: number,
  self: ProcessIdentity,
): { blocked: true; holder: LockRow } | { blocked: false; evict: string[] } {
  const evict: string[] = [];
  for (const row of rows) {
    if (!shardsConflict(row.shard, wanted)) continue;
    const beat = Date.parse(row.heartbeatAt);
    const stale = Number.isNaN(beat) || now.getTime() - beat > staleAfterMs;
    if (!stale && !processGone(row, self)) return { blocked: true, holder: row };
    evict.push(row.token);
  }
  return { blocked: false, evict };
}

/**
 * A running run is dead when its process is gone from this host, or when it was tied to a lock
 * that is no longer held under its token. Runs from before runs had owners (SQLite schema 1) are
 * judged only when a lock changes hands, as they were then. A run without the lock on another
 * host is left alone: nothing tells us it died.
 */
export function deadRunIds(running: readonly RunningRun[], heldTokens: ReadonlySet<string>, acquiring: boolean, self: ProcessIdentity): number[] {
  return running
    .filter((run) =>
      processGone(run, self) ||
      (run.lockToken !== null && !heldTokens.has(run.lockToken)) ||
      (acquiring && run.pid === null))
    .map((run) => run.id);
}
