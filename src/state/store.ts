/**
 * The state contract: what basewarm records about its runs, whatever database holds it. Two
 * backends implement it: SQLite (./sqlite.ts, the embedded default for one host) and PostgreSQL
 * (./postgres.ts, for shards on several hosts); `openStateStore` (./open.ts) picks one from the
 * `state:` setting. Every method is asynchronous (PostgreSQL's client is) and every record is
 * committed, in its own transaction, before its promise resolves: a process killed at any point
 * leaves every record it was told about.
 *
 * Callers pass sanitized text (errors, log tails, summaries): nothing here may hold a secret, and
 * nothing here redacts. Every failure is a one-line BasewarmError with code STATE_ERROR naming the
 * state.
 */
import type {
  BuildRecord,
  HistoryRow,
  ImageRecord,
  ImageRow,
  LockHandle,
  LockOptions,
  BlobLocation,
  MirroredImage,
  Resolution,
  RunOutcome,
  RunRow,
  RunTrigger,
} from "./types.js";

/** A lock whose holder has not beaten for 10 minutes is presumed dead. */
export const DEFAULT_LOCK_STALE_MS = 10 * 60 * 1000;

export interface StateStore {
  /** How messages name this state: `state file PATH` or `state database postgres://user@host:port/db`. */
  readonly label: string;

  /** Start a run; while this store holds a lock, the run is tied to it and records its shard. */
  startRun(trigger: RunTrigger): Promise<number>;
  /**
   * Record how a run ended. The process that ran it knows best, so this also overwrites an
   * "abandoned" that another process guessed after taking the lock over.
   */
  finishRun(runId: number, outcome: RunOutcome, summary: unknown): Promise<void>;
  /** The latest runs, newest first. */
  recentRuns(limit: number): Promise<RunRow[]>;
  /** What went wrong in a run: images failed or deferred, builds failed. */
  failuresOfRun(runId: number): Promise<{ images: ImageRow[]; builds: BuildRecord[] }>;

  /**
   * Record that `ref` resolved to `digest`. A new digest opens a new history period; the same
   * digest as last time only moves the period's last-seen time.
   */
  recordResolution(runId: number | null, ref: string, digest: string, mediaType: string): Promise<{ changed: boolean; previous?: string }>;
  lastResolution(ref: string): Promise<Resolution | undefined>;
  /** Every period in which a reference kept one digest, oldest first, per reference (all when omitted). */
  history(ref?: string): Promise<HistoryRow[]>;
  /** References whose latest resolution is older than `olderThan`. */
  staleRefs(olderThan: Date): Promise<{ ref: string; lastResolved: string }[]>;

  /** Record one image copy; `error` must already be sanitized. */
  recordImage(runId: number | null, image: ImageRecord): Promise<void>;
  /**
   * The digest last copied (or found unchanged) from `source` to `target`: what the mirror holds
   * under that name. A failed copy never counts, since it pushes no tag.
   */
  lastMirrored(source: string, target: string): Promise<MirroredImage | undefined>;
  /**
   * Remember that these repositories of `registry` hold these blobs, so a later run mounts a blob
   * into a new repository instead of pulling it again. A hint only: a registry may have deleted it.
   */
  recordBlobLocations(registry: string, locations: readonly BlobLocation[]): Promise<void>;
  /** Repositories of `registry` remembered to hold `digest`, most recently seen first, at most `limit`. */
  blobLocations(registry: string, digest: string, limit: number): Promise<string[]>;
  /** Record one admin build; `reason` and `logTail` must already be sanitized. */
  recordBuild(runId: number, build: BuildRecord): Promise<void>;
  /** The latest build of an entry whose outcome was ok. */
  lastGoodBuild(entry: string): Promise<BuildRecord | undefined>;

  /**
   * Take the run lock for a shard (or, without one, for the whole catalog), or get null while a
   * live holder of a conflicting lock has it (see ./locks.ts for which conflict). A conflicting
   * holder whose heartbeat is older than `staleAfterMs`, or whose pid is dead on this host, is
   * taken over, and the runs it left running become abandoned. One store holds one lock at a time.
   */
  acquireLock(options?: LockOptions): Promise<LockHandle | null>;

  /** Release the lock this store still holds, then close. Closing twice is harmless. */
  close(): Promise<void>;
}
