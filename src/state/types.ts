/** The records basewarm keeps in its state file, as callers see them. Timestamps are ISO 8601 UTC strings. */

export const RUN_TRIGGERS = ["schedule", "manual", "mirror", "cli"] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

export const RUN_OUTCOMES = ["running", "ok", "partial", "failed", "abandoned"] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

export const IMAGE_STATUSES = ["copied", "unchanged", "failed", "deferred"] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

export const BUILD_OUTCOMES = ["ok", "failed", "skipped"] as const;
export type BuildOutcome = (typeof BUILD_OUTCOMES)[number];

/** One deterministic part of the catalog: `index` of `count`, 0-based. */
export interface Shard {
  index: number;
  count: number;
}

export interface StateOptions {
  /** The SQLite file; its directory must exist. */
  path: string;
  /** Clock for every timestamp the store writes (tests pin it). */
  now?: () => Date;
  /**
   * The caller only reads (status, history, rewrite): a file this user may not write (a read-only
   * mount, another owner) is opened read-only instead of failing. Nothing is migrated or marked.
   */
  readOnly?: boolean;
}

export interface RunRow {
  id: number;
  startedAt: string;
  endedAt: string | null;
  trigger: RunTrigger;
  outcome: RunOutcome;
  summary: unknown;
  /** The shard the run was locked for; null for a full run or a run without the lock (mirror). */
  shard: Shard | null;
}

export interface ImageRecord {
  source: string;
  target: string;
  digest: string | null;
  bytes: number;
  status: ImageStatus;
  /** Already sanitized by the caller: no credentials, tokens or signed URLs. */
  error?: string;
}

export interface ImageRow {
  runId: number | null;
  source: string;
  target: string;
  digest: string | null;
  bytes: number;
  status: ImageStatus;
  error: string | null;
  at: string;
}

export interface BuildRecord {
  entry: string;
  inputsHash: string;
  builder: string;
  builderVersion: string;
  cacheRef: string;
  durationMs: number;
  outcome: BuildOutcome;
  reason: string;
  /** Already sanitized by the caller; only the last LOG_TAIL_MAX characters are kept. */
  logTail: string;
  cacheHitRatio: number | null;
  /** Defaults to the store's clock when recording; always set when read back. */
  startedAt?: string;
  /** Set when read back. */
  runId?: number;
}

export interface HistoryRow {
  ref: string;
  digest: string;
  firstSeen: string;
  lastSeen: string;
  /** Runs that resolved this digest in this period (a resolution outside any run counts as one). */
  runs: number;
}

/** A repository of a target registry that held a blob when a run last placed or saw it there. */
export interface BlobLocation {
  digest: string;
  repository: string;
}

/** What the mirror last received or confirmed for a source at a target name. */
export interface MirroredImage {
  /** The digest the mirror holds (a platform-filtered index has its own). */
  digest: string;
  /** When the copy (or the check that found it unchanged) was recorded. */
  at: string;
}

export interface Resolution {
  digest: string;
  mediaType: string;
  /** When this digest was last seen for the reference. */
  at: string;
}

export interface LockHandle {
  readonly token: string;
  /** What the lock covers: a shard, or null for the whole catalog. */
  readonly shard: Shard | null;
  /** Refresh the heartbeat; false when the lock was taken over (the caller should stop its run). */
  heartbeat(): Promise<boolean>;
  /** Give the lock up; harmless when it was already taken over or released. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** A holder that has not beaten for this long is presumed dead. Default 10 minutes. */
  staleAfterMs?: number;
  /** Lock only this shard of the catalog; without it the lock covers the whole catalog. */
  shard?: Shard;
}
