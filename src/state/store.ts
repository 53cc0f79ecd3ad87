/**
 * basewarm's state: one SQLite file (better-sqlite3, WAL). Every record is its own short transaction,
 * so a process killed at any point leaves a consistent file holding every record it committed; a run
 * left "running" by a dead process is marked abandoned by the next process that opens the file or
 * takes the lock.
 *
 * Callers must pass sanitized text (errors, log tails, summaries): nothing here may hold a secret,
 * and nothing here redacts.
 */
import { randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { BasewarmError } from "../errors.js";
import { applyMigrations } from "./migrations.js";
import { currentProcess, processGone, type ProcessIdentity } from "./liveness.js";
import { invalid, stateError } from "./state-error.js";
import {
  BUILD_OUTCOMES,
  IMAGE_STATUSES,
  RUN_OUTCOMES,
  RUN_TRIGGERS,
  type BuildRecord,
  type HistoryRow,
  type ImageRecord,
  type ImageRow,
  type LockHandle,
  type LockOptions,
  type Resolution,
  type RunOutcome,
  type RunRow,
  type RunTrigger,
  type StateOptions,
} from "./types.js";

/** A lock whose holder has not beaten for 10 minutes is presumed dead. */
export const DEFAULT_LOCK_STALE_MS = 10 * 60 * 1000;
/** Longer than any transaction of ours (all are a few statements), short enough to fail visibly. */
const BUSY_TIMEOUT_MS = 5000;
/** Build logs can be huge; the tail is what explains a failure, and the file must stay small. */
export const LOG_TAIL_MAX = 8000;

type Row = Record<string, unknown>;

/** Run `fn` again while SQLite says BUSY, for up to the busy timeout, sleeping a few ms between tries. */
function retryWhileBusy<T>(fn: () => T): T {
  const until = Date.now() + BUSY_TIMEOUT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      return fn();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code !== "string" || !code.startsWith("SQLITE_BUSY") || Date.now() > until) throw err;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}

interface RunningRow {
  id: number;
  pid: number | null;
  hostname: string | null;
  lock_token: string | null;
}

function nullableString(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function buildFromRow(row: Row): BuildRecord {
  return {
    entry: String(row["entry"]),
    inputsHash: String(row["inputs_hash"]),
    builder: String(row["builder"]),
    builderVersion: String(row["builder_version"]),
    cacheRef: String(row["cache_ref"]),
    durationMs: Number(row["duration_ms"]),
    outcome: row["outcome"] as BuildRecord["outcome"],
    reason: String(row["reason"]),
    logTail: String(row["log_tail"]),
    cacheHitRatio: row["cache_hit_ratio"] === null ? null : Number(row["cache_hit_ratio"]),
    startedAt: String(row["started_at"]),
    runId: Number(row["run_id"]),
  };
}

function imageFromRow(row: Row): ImageRow {
  return {
    runId: row["run_id"] === null ? null : Number(row["run_id"]),
    source: String(row["source"]),
    target: String(row["target"]),
    digest: nullableString(row["digest"]),
    bytes: Number(row["bytes"]),
    status: row["status"] as ImageRow["status"],
    error: nullableString(row["error"]),
    at: String(row["at"]),
  };
}

export class StateStore {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly clock: () => Date;
  private readonly self: ProcessIdentity;
  private readonly statements = new Map<string, Database.Statement>();
  /** The token of the lock this store holds, so the runs it starts are tied to it. */
  private lockToken: string | null = null;

  private constructor(db: Database.Database, path: string, clock: () => Date) {
    this.db = db;
    this.path = path;
    this.clock = clock;
    this.self = currentProcess();
  }

  /** Open (creating and migrating when needed) the state file. The directory must already exist. */
  static open(options: StateOptions): StateStore {
    const { path } = options;
    const dir = dirname(path);
    let dirOk = false;
    try {
      dirOk = statSync(dir).isDirectory();
    } catch {
      dirOk = false;
    }
    if (!dirOk) {
      throw new BasewarmError("STATE_ERROR", `state directory ${dir} does not exist; create it or point state: at a file in an existing directory`);
    }
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (err) {
      throw stateError(path, "open it", err);
    }
    try {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // WAL is persistent; only a new file needs switching, and SQLite answers BUSY at once, without
      // its busy handler, when several processes switch the same new file together.
      if (db.pragma("journal_mode", { simple: true }) !== "wal") retryWhileBusy(() => db.pragma("journal_mode = WAL"));
      // FULL: in WAL mode NORMAL stays consistent on power loss but may forget the last commits;
      // a record we reported (a finished run, a changed digest) must survive, and our write rate is
      // a few records per copied image, so one fsync per commit costs nothing that matters.
      db.pragma("synchronous = FULL");
      applyMigrations(db, path);
    } catch (err) {
      db.close();
      throw stateError(path, "prepare it", err);
    }
    const store = new StateStore(db, path, options.now ?? (() => new Date()));
    try {
      store.abandonDeadRuns(false);
    } catch (err) {
      db.close();
      throw err;
    }
    return store;
  }

  /** Close the file; a lock this store still holds is released first. Closing twice is harmless. */
  close(): void {
    if (!this.db.open) return;
    if (this.lockToken !== null) this.releaseLock(this.lockToken);
    this.statements.clear();
    this.db.close();
  }

  // ---- runs -------------------------------------------------------------------------------

  /** Start a run; while this store holds the lock, the run is tied to it. */
  startRun(trigger: RunTrigger): number {
    this.oneOf("trigger", trigger, RUN_TRIGGERS);
    return this.guard("start a run", () => {
      const info = this.stmt("INSERT INTO runs (started_at, trigger, outcome, pid, hostname, lock_token) VALUES (?, ?, 'running', ?, ?, ?)")
        .run(this.now(), trigger, this.self.pid, this.self.hostname, this.lockToken);
      return Number(info.lastInsertRowid);
    });
  }

  /**
   * Record how a run ended. The process that ran it knows best, so this also overwrites an
   * "abandoned" that another process guessed after taking the lock over.
   */
  finishRun(runId: number, outcome: RunOutcome, summary: unknown): void {
    this.oneOf("run outcome", outcome, RUN_OUTCOMES);
    if (outcome === "running") throw invalid(this.path, `run ${runId} cannot finish as "running"; pass ok, partial, failed or abandoned`);
    this.guard(`finish run ${runId}`, () => {
      const json = JSON.stringify(summary ?? null) ?? "null";
      const info = this.stmt("UPDATE runs SET ended_at = ?, outcome = ?, summary = ? WHERE id = ?").run(this.now(), outcome, json, runId);
      if (info.changes !== 1) throw invalid(this.path, `run ${runId} does not exist; finish the id startRun returned`);
    });
  }

  /** The latest runs, newest first. */
  recentRuns(limit: number): RunRow[] {
    this.count("limit", limit);
    return this.guard("read runs", () =>
      (this.stmt("SELECT id, started_at, ended_at, trigger, outcome, summary FROM runs ORDER BY id DESC LIMIT ?").all(limit) as Row[]).map((r) => ({
        id: Number(r["id"]),
        startedAt: String(r["started_at"]),
        endedAt: nullableString(r["ended_at"]),
        trigger: r["trigger"] as RunTrigger,
        outcome: r["outcome"] as RunOutcome,
        summary: r["summary"] === null ? null : (JSON.parse(String(r["summary"])) as unknown),
      })),
    );
  }

  /** What went wrong in a run: images failed or deferred, builds failed. */
  failuresOfRun(runId: number): { images: ImageRow[]; builds: BuildRecord[] } {
    return this.guard(`read the failures of run ${runId}`, () => ({
      images: (this.stmt("SELECT * FROM images WHERE run_id = ? AND status IN ('failed', 'deferred') ORDER BY id").all(runId) as Row[]).map(imageFromRow),
      builds: (this.stmt("SELECT * FROM builds WHERE run_id = ? AND outcome = 'failed' ORDER BY id").all(runId) as Row[]).map(buildFromRow),
    }));
  }

  // ---- references ----------------------------------------------------------------------------

  /**
   * Record that `ref` resolved to `digest`. A new digest opens a new history period; the same digest
   * as last time only moves the period's last-seen time.
   */
  recordResolution(runId: number | null, ref: string, digest: string, mediaType: string): { changed: boolean; previous?: string } {
    this.text("reference", ref);
    this.text("digest", digest);
    return this.guard(`record the resolution of ${ref}`, () =>
      // IMMEDIATE: read-then-write; a deferred transaction could fail to upgrade under WAL.
      this.db.transaction(() => {
        const at = this.now();
        const last = this.stmt("SELECT id, digest, last_run_id FROM resolutions WHERE ref = ? ORDER BY id DESC LIMIT 1").get(ref) as
          | { id: number; digest: string; last_run_id: number | null }
          | undefined;
        if (last !== undefined && last.digest === digest) {
          const sameRun = runId !== null && last.last_run_id === runId;
          this.stmt("UPDATE resolutions SET last_seen = ?, runs = runs + ?, last_run_id = ? WHERE id = ?").run(at, sameRun ? 0 : 1, runId, last.id);
          return { changed: false };
        }
        this.stmt("INSERT INTO resolutions (ref, digest, media_type, first_seen, last_seen, runs, first_run_id, last_run_id) VALUES (?, ?, ?, ?, ?, 1, ?, ?)")
          .run(ref, digest, mediaType, at, at, runId, runId);
        return last === undefined ? { changed: true } : { changed: true, previous: last.digest };
      }).immediate(),
    );
  }

  lastResolution(ref: string): Resolution | undefined {
    return this.guard(`read the resolution of ${ref}`, () =>
      this.stmt("SELECT digest, media_type AS mediaType, last_seen AS at FROM resolutions WHERE ref = ? ORDER BY id DESC LIMIT 1").get(ref) as Resolution | undefined,
    );
  }

  /** Every period in which a reference kept one digest, oldest first, per reference (all when omitted). */
  history(ref?: string): HistoryRow[] {
    return this.guard("read the history", () => {
      const columns = "SELECT ref, digest, first_seen AS firstSeen, last_seen AS lastSeen, runs FROM resolutions";
      return (ref === undefined
        ? this.stmt(`${columns} ORDER BY ref, id`).all()
        : this.stmt(`${columns} WHERE ref = ? ORDER BY id`).all(ref)) as HistoryRow[];
    });
  }

  /** References whose latest resolution is older than `olderThan`. */
  staleRefs(olderThan: Date): { ref: string; lastResolved: string }[] {
    if (Number.isNaN(olderThan.getTime())) throw invalid(this.path, "staleRefs needs a valid date");
    return this.guard("read stale references", () =>
      this.stmt("SELECT ref, MAX(last_seen) AS lastResolved FROM resolutions GROUP BY ref HAVING MAX(last_seen) < ? ORDER BY ref")
        .all(olderThan.toISOString()) as { ref: string; lastResolved: string }[],
    );
  }

  // ---- images, blobs, builds ---------------------------------------------------------------------

  /** Record one image copy; `error` must already be sanitized. */
  recordImage(runId: number | null, image: ImageRecord): void {
    this.oneOf("image status", image.status, IMAGE_STATUSES);
    this.count("image bytes", image.bytes);
    this.guard(`record image ${image.source}`, () => {
      this.stmt("INSERT INTO images (run_id, source, target, digest, bytes, status, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .run(runId, image.source, image.target, image.digest, image.bytes, image.status, image.error ?? null, this.now());
    });
  }

  /** Record a blob stored in a target repository; the first copy's time is kept. */
  recordBlob(digest: string, size: number, targetRepository: string): void {
    this.text("digest", digest);
    this.count("blob size", size);
    this.guard(`record blob ${digest}`, () => {
      this.stmt("INSERT OR IGNORE INTO blobs (digest, target_repository, size, first_copied_at) VALUES (?, ?, ?, ?)").run(digest, targetRepository, size, this.now());
    });
  }

  /** Repositories of the mirror known to hold a blob (candidates for a cross-repository mount). */
  blobLocations(digest: string): string[] {
    return this.guard(`read blob ${digest}`, () =>
      (this.stmt("SELECT target_repository FROM blobs WHERE digest = ? ORDER BY first_copied_at, target_repository LIMIT 8").all(digest) as { target_repository: string }[])
        .map((r) => r.target_repository),
    );
  }

  /** Distinct blobs copied (each counted once, whatever the repositories), optionally since a time. */
  blobStats(since?: Date): { blobs: number; bytes: number } {
    if (since !== undefined && Number.isNaN(since.getTime())) throw invalid(this.path, "blobStats needs a valid date");
    return this.guard("read blob totals", () => {
      const row = this.stmt(
        "SELECT COUNT(*) AS blobs, COALESCE(SUM(size), 0) AS bytes FROM (SELECT digest, MAX(size) AS size FROM blobs WHERE first_copied_at >= ? GROUP BY digest)",
      ).get(since === undefined ? "" : since.toISOString()) as { blobs: number; bytes: number };
      return { blobs: Number(row.blobs), bytes: Number(row.bytes) };
    });
  }

  /** Record one admin build; `reason` and `logTail` must already be sanitized. */
  recordBuild(runId: number, build: BuildRecord): void {
    this.oneOf("build outcome", build.outcome, BUILD_OUTCOMES);
    if (!Number.isFinite(build.durationMs) || build.durationMs < 0) throw invalid(this.path, `build duration ${build.durationMs} ms is not a non-negative number`);
    if (build.cacheHitRatio !== null && !(build.cacheHitRatio >= 0 && build.cacheHitRatio <= 1)) {
      throw invalid(this.path, `cache hit ratio ${build.cacheHitRatio} is outside 0..1`);
    }
    this.guard(`record the build of ${build.entry}`, () => {
      this.stmt(`INSERT INTO builds (run_id, entry, inputs_hash, builder, builder_version, cache_ref, started_at, duration_ms, outcome, reason, log_tail, cache_hit_ratio)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(runId, build.entry, build.inputsHash, build.builder, build.builderVersion, build.cacheRef, build.startedAt ?? this.now(),
          Math.round(build.durationMs), build.outcome, build.reason, build.logTail.slice(-LOG_TAIL_MAX), build.cacheHitRatio);
    });
  }

  /** The latest build of an entry whose outcome was ok. */
  lastGoodBuild(entry: string): BuildRecord | undefined {
    return this.guard(`read the builds of ${entry}`, () => {
      const row = this.stmt("SELECT * FROM builds WHERE entry = ? AND outcome = 'ok' ORDER BY id DESC LIMIT 1").get(entry) as Row | undefined;
      return row === undefined ? undefined : buildFromRow(row);
    });
  }

  // ---- the run lock ------------------------------------------------------------------------------

  /**
   * Take the single run lock (shared by every process using this file), or return null while a live
   * holder has it. A holder whose heartbeat is older than `staleAfterMs`, or whose pid is dead on this
   * host, is taken over, and the runs it left running become abandoned.
   */
  acquireLock(options: LockOptions = {}): LockHandle | null {
    const staleAfterMs = options.staleAfterMs ?? DEFAULT_LOCK_STALE_MS;
    if (!Number.isFinite(staleAfterMs) || staleAfterMs <= 0) throw invalid(this.path, `lock staleness ${staleAfterMs} ms must be a positive number`);
    const token = randomUUID();
    const taken = this.guard("take the run lock", () =>
      // IMMEDIATE: the check and the take happen under SQLite's write lock, atomically across processes.
      this.db.transaction(() => {
        const now = this.clock();
        const holder = this.stmt("SELECT pid, hostname, heartbeat_at FROM lock WHERE id = 1").get() as { pid: number; hostname: string; heartbeat_at: string } | undefined;
        if (holder !== undefined) {
          const beat = Date.parse(holder.heartbeat_at);
          const stale = Number.isNaN(beat) || now.getTime() - beat > staleAfterMs;
          if (!stale && !processGone(holder, this.self)) return false;
        }
        const at = now.toISOString();
        this.stmt("INSERT OR REPLACE INTO lock (id, pid, hostname, token, acquired_at, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?)")
          .run(this.self.pid, this.self.hostname, token, at, at);
        this.markAbandoned(true, at);
        return true;
      }).immediate(),
    );
    if (!taken) return null;
    this.lockToken = token;
    return {
      token,
      heartbeat: () => this.guard("refresh the run lock", () => {
        const held = this.stmt("UPDATE lock SET heartbeat_at = ? WHERE id = 1 AND token = ?").run(this.now(), token).changes === 1;
        if (!held && this.lockToken === token) this.lockToken = null;
        return held;
      }),
      release: () => {
        if (this.db.open) this.releaseLock(token);
      },
    };
  }

  /** SQLite's own check of the file: "ok", or its findings joined by "; ". */
  integrityCheck(): string {
    return this.guard("check its integrity", () =>
      (this.db.pragma("integrity_check") as { integrity_check: string }[]).map((r) => r.integrity_check).join("; "),
    );
  }

  // ---- internals --------------------------------------------------------------------------------

  private releaseLock(token: string): void {
    this.guard("release the run lock", () => this.stmt("DELETE FROM lock WHERE id = 1 AND token = ?").run(token));
    if (this.lockToken === token) this.lockToken = null;
  }

  /**
   * A running run is dead when its process is gone from this host, or when it was tied to a lock
   * that is no longer held under its token. Runs from before runs had owners (schema 1) are judged
   * only when the lock changes hands, as they were then. A run without the lock on another host is
   * left alone: nothing tells us it died.
   */
  private deadRuns(acquiring: boolean): number[] {
    const current = (this.stmt("SELECT token FROM lock WHERE id = 1").get() as { token: string } | undefined)?.token ?? null;
    const running = this.stmt("SELECT id, pid, hostname, lock_token FROM runs WHERE outcome = 'running'").all() as RunningRow[];
    return running
      .filter((run) =>
        processGone(run, this.self) ||
        (run.lock_token !== null && run.lock_token !== current) ||
        (acquiring && run.pid === null))
      .map((run) => run.id);
  }

  private markAbandoned(acquiring: boolean, at: string): void {
    for (const id of this.deadRuns(acquiring)) {
      this.stmt("UPDATE runs SET outcome = 'abandoned', ended_at = COALESCE(ended_at, ?) WHERE id = ? AND outcome = 'running'").run(at, id);
    }
  }

  /** At open: abandon the runs of dead processes, taking the write lock only when there are some. */
  private abandonDeadRuns(acquiring: boolean): void {
    this.guard("abandon the runs of dead processes", () => {
      if (this.deadRuns(acquiring).length === 0) return;
      this.db.transaction(() => this.markAbandoned(acquiring, this.now())).immediate();
    });
  }

  private now(): string {
    const date = this.clock();
    if (Number.isNaN(date.getTime())) throw invalid(this.path, "the clock returned an invalid date");
    return date.toISOString();
  }

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private guard<T>(what: string, fn: () => T): T {
    if (!this.db.open) throw invalid(this.path, `cannot ${what}: the store is closed`);
    try {
      return fn();
    } catch (err) {
      throw stateError(this.path, what, err);
    }
  }

  private oneOf(name: string, value: string, allowed: readonly string[]): void {
    if (!allowed.includes(value)) throw invalid(this.path, `${name} ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`);
  }

  private count(name: string, value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw invalid(this.path, `${name} ${value} is not a non-negative integer`);
  }

  private text(name: string, value: string): void {
    if (typeof value !== "string" || value.length === 0) throw invalid(this.path, `${name} must be a non-empty string`);
  }
}
