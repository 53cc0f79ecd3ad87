/**
 * The SQLite backend: one file (better-sqlite3, WAL), the embedded default for one host. WAL needs
 * shared memory, so the file must never sit on a network volume shared by several hosts: that is
 * what the PostgreSQL backend is for. Every record is its own short transaction, so a process killed
 * at any point leaves a consistent file holding every record it committed; a run left "running" by
 * a dead process is marked abandoned by the next process that opens the file or takes a lock.
 *
 * The work is synchronous (better-sqlite3); the methods are async only to share the contract.
 */
import { randomUUID } from "node:crypto";
import { accessSync, constants, statSync } from "node:fs";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { BasewarmError } from "../errors.js";
import { readRegularFile } from "../files/index.js";
import { checkBlobLocations, checkBuild, checkFinish, checkImage, checkLockOptions, checkTrigger, clockNow, count, LOG_TAIL_MAX, text, validDate } from "./checks.js";
import { deadRunIds, lockDecision, shardFromColumns, type LockRow, type RunningRun } from "./locks.js";
import { applyMigrations, checkSchemaVersion } from "./migrations.js";
import { currentProcess, type ProcessIdentity } from "../process/index.js";
import { buildFromRow, imageFromRow, runFromRow, type Row } from "./rows.js";
import { invalid, stateError } from "./state-error.js";
import { DEFAULT_LOCK_STALE_MS, type StateStore } from "./store.js";
import type { BlobLocation, BuildRecord, HistoryRow, ImageRecord, ImageRow, LockHandle, LockOptions, MirroredImage, Resolution, RunOutcome, RunRow, RunTrigger, Shard, StateOptions } from "./types.js";

/** Longer than any transaction of ours (all are a few statements), short enough to fail visibly. */
const BUSY_TIMEOUT_MS = 5000;

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

/**
 * Why the state directory cannot hold the file, in the user's terms, or undefined when it can.
 * Where the file should be is the config's doing (CONFIG_INVALID, exit 2); an I/O failure on a
 * directory that is there is not (STATE_ERROR, exit 1).
 */
function directoryProblem(dir: string): BasewarmError | undefined {
  const config = (message: string) => new BasewarmError("CONFIG_INVALID", message);
  try {
    if (statSync(dir).isDirectory()) return undefined;
    return config(`state directory ${dir} does not exist as a directory (it is a file); point state: at a file in an existing directory`);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === "ENOENT") return config(`state directory ${dir} does not exist; create it or point state: at a file in an existing directory`);
    if (code === "ENOTDIR") return config(`state directory ${dir} does not exist: a part of its path is a file; point state: at a file in an existing directory`);
    if (code === "EACCES" || code === "EPERM") return config(`state directory ${dir} cannot be reached: permission denied (${String(code)}); let this user search and write it, or point state: elsewhere`);
    const detail = err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err);
    return new BasewarmError("STATE_ERROR", `state directory ${dir} cannot be read: ${detail}; check it, or point state: elsewhere`);
  }
}

/** Whether this user may write the file and create its -wal and -shm beside it. */
function mayWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    accessSync(dirname(path), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** A state read into memory (read-only, no writer): years of history are a few MB; past this, it is not ours. */
const MAX_READ_ONLY_STATE_BYTES = 1024 * 1024 * 1024;

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

export class SqliteStateStore implements StateStore {
  readonly path: string;
  readonly label: string;
  private readonly db: Database.Database;
  private readonly clock: () => Date;
  private readonly self: ProcessIdentity;
  private readonly statements = new Map<string, Database.Statement>();
  /** The lock this store holds, so the runs it starts are tied to it and know their shard. */
  private held: { token: string; shard: Shard | null } | null = null;

  private constructor(db: Database.Database, path: string, clock: () => Date) {
    this.db = db;
    this.path = path;
    this.label = `state file ${path}`;
    this.clock = clock;
    this.self = currentProcess();
  }

  /** Open (creating and migrating when needed) the state file. The directory must already exist. */
  static open(options: StateOptions): SqliteStateStore {
    const { path } = options;
    const problem = directoryProblem(dirname(path));
    if (problem !== undefined) throw problem;
    if (isDirectory(path)) throw new BasewarmError("CONFIG_INVALID", `state file ${path} is a directory; point state: at a file, e.g. ${join(path, "basewarm.db")}`);
    if (options.readOnly && !mayWrite(path)) return SqliteStateStore.openReadOnly(path, options);
    const label = `state file ${path}`;
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (err) {
      throw stateError(label, "open it", err);
    }
    try {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // WAL is persistent; only a new file needs switching, and SQLite answers BUSY at once, without
      // its busy handler, when several processes switch the same new file together.
      if (db.pragma("journal_mode", { simple: true }) !== "wal") retryWhileBusy(() => db.pragma("journal_mode = WAL"));
      // NORMAL: in WAL mode a commit is durable against a killed process (SIGKILL, OOM) and the file
      // stays consistent on power loss, which may only forget the last commits — and the registry,
      // not this file, is the source of truth: the next run resolves and records them again.
      // FULL cost one fsync per record: measured 720–1300 ms for a 96-image no-op (two records per
      // image), against 15–131 ms with NORMAL.
      db.pragma("synchronous = NORMAL");
      applyMigrations(db, path);
    } catch (err) {
      db.close();
      throw stateError(label, "prepare it", err);
    }
    const store = new SqliteStateStore(db, path, options.now ?? (() => new Date()));
    try {
      store.abandonDeadRuns();
    } catch (err) {
      db.close();
      throw err;
    }
    return store;
  }

  /**
   * A reader's view of a file this user may not write. WAL needs its -shm file: while a writer has
   * the file open it is there and SQLite reads through it; otherwise nobody may create it here, so
   * the file is read into memory (no writer means every commit is in the main file), marked as a
   * rollback-journal database in the copy's header (bytes 18–19) so SQLite opens it without one.
   */
  private static openReadOnly(path: string, options: StateOptions): SqliteStateStore {
    const label = `state file ${path}`;
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      checkSchemaVersion(db, path);
    } catch (err) {
      db?.close();
      db = undefined;
      const code = (err as { code?: unknown }).code;
      if (code !== "SQLITE_CANTOPEN" && code !== "SQLITE_READONLY_DIRECTORY") throw err instanceof BasewarmError ? err : stateError(label, "read it", err);
    }
    if (db === undefined) {
      try {
        const bytes = readRegularFile(path, { what: "state file", maxBytes: MAX_READ_ONLY_STATE_BYTES });
        if (bytes.length >= 20) bytes[18] = bytes[19] = 1;
        db = new Database(bytes, { readonly: true });
        checkSchemaVersion(db, path);
      } catch (err) {
        db?.close();
        throw err instanceof BasewarmError ? err : stateError(label, "read it", err);
      }
    }
    return new SqliteStateStore(db, path, options.now ?? (() => new Date()));
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    try {
      if (this.held !== null) this.releaseLock(this.held.token);
    } finally {
      // A release that failed (a full disk) must not keep the file open: the lock row left behind
      // is taken over once this process is gone.
      this.statements.clear();
      this.db.close();
    }
  }

  // ---- runs -------------------------------------------------------------------------------

  async startRun(trigger: RunTrigger): Promise<number> {
    checkTrigger(this.label, trigger);
    return this.guard("start a run", () => {
      const shard = this.held?.shard ?? null;
      const info = this.stmt("INSERT INTO runs (started_at, trigger, outcome, pid, hostname, lock_token, shard_index, shard_count) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)")
        .run(this.now(), trigger, this.self.pid, this.self.hostname, this.held?.token ?? null, shard?.index ?? null, shard?.count ?? null);
      return Number(info.lastInsertRowid);
    });
  }

  async finishRun(runId: number, outcome: RunOutcome, summary: unknown): Promise<void> {
    const json = checkFinish(this.label, runId, outcome, summary);
    this.guard(`finish run ${runId}`, () => {
      const info = this.stmt("UPDATE runs SET ended_at = ?, outcome = ?, summary = ? WHERE id = ?").run(this.now(), outcome, json, runId);
      if (info.changes !== 1) throw invalid(this.label, `run ${runId} does not exist; finish the id startRun returned`);
    });
  }

  async recentRuns(limit: number): Promise<RunRow[]> {
    count(this.label, "limit", limit);
    return this.guard("read runs", () =>
      (this.stmt("SELECT id, started_at, ended_at, trigger, outcome, summary, shard_index, shard_count FROM runs ORDER BY id DESC LIMIT ?").all(limit) as Row[]).map(runFromRow),
    );
  }

  async failuresOfRun(runId: number): Promise<{ images: ImageRow[]; builds: BuildRecord[] }> {
    return this.guard(`read the failures of run ${runId}`, () => ({
      images: (this.stmt("SELECT * FROM images WHERE run_id = ? AND status IN ('failed', 'deferred') ORDER BY id").all(runId) as Row[]).map(imageFromRow),
      builds: (this.stmt("SELECT * FROM builds WHERE run_id = ? AND outcome = 'failed' ORDER BY id").all(runId) as Row[]).map(buildFromRow),
    }));
  }

  // ---- references ------------------------------------------------------------------------

  async recordResolution(runId: number | null, ref: string, digest: string, mediaType: string): Promise<{ changed: boolean; previous?: string }> {
    text(this.label, "reference", ref);
    text(this.label, "digest", digest);
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

  async lastResolution(ref: string): Promise<Resolution | undefined> {
    return this.guard(`read the resolution of ${ref}`, () =>
      this.stmt("SELECT digest, media_type AS mediaType, last_seen AS at FROM resolutions WHERE ref = ? ORDER BY id DESC LIMIT 1").get(ref) as Resolution | undefined,
    );
  }

  async history(ref?: string): Promise<HistoryRow[]> {
    return this.guard("read the history", () => {
      const columns = "SELECT ref, digest, first_seen AS firstSeen, last_seen AS lastSeen, runs FROM resolutions";
      return (ref === undefined
        ? this.stmt(`${columns} ORDER BY ref, id`).all()
        : this.stmt(`${columns} WHERE ref = ? ORDER BY id`).all(ref)) as HistoryRow[];
    });
  }

  async staleRefs(olderThan: Date): Promise<{ ref: string; lastResolved: string }[]> {
    validDate(this.label, "staleRefs", olderThan);
    return this.guard("read stale references", () =>
      this.stmt("SELECT ref, MAX(last_seen) AS lastResolved FROM resolutions GROUP BY ref HAVING MAX(last_seen) < ? ORDER BY ref")
        .all(olderThan.toISOString()) as { ref: string; lastResolved: string }[],
    );
  }

  // ---- images and builds ---------------------------------------------------------------------

  async recordImage(runId: number | null, image: ImageRecord): Promise<void> {
    checkImage(this.label, image);
    this.guard(`record image ${image.source}`, () => {
      this.stmt("INSERT INTO images (run_id, source, target, digest, bytes, status, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .run(runId, image.source, image.target, image.digest, image.bytes, image.status, image.error ?? null, this.now());
    });
  }

  async lastMirrored(source: string, target: string): Promise<MirroredImage | undefined> {
    return this.guard(`read what the mirror holds for ${source}`, () =>
      this.stmt(`SELECT digest, at FROM images WHERE source = ? AND target = ? AND status IN ('copied', 'unchanged') AND digest IS NOT NULL
        ORDER BY id DESC LIMIT 1`).get(source, target) as MirroredImage | undefined,
    );
  }

  async recordBlobLocations(registry: string, locations: readonly BlobLocation[]): Promise<void> {
    checkBlobLocations(this.label, registry, locations);
    if (locations.length === 0) return;
    this.guard(`remember blob locations in ${registry}`, () => {
      const at = this.now();
      const upsert = this.stmt(`INSERT INTO blob_locations (registry, digest, repository, seen_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (registry, digest, repository) DO UPDATE SET seen_at = excluded.seen_at`);
      // One transaction, one commit, however many blobs.
      this.db.transaction(() => {
        for (const l of locations) upsert.run(registry, l.digest, l.repository, at);
      })();
    });
  }

  async blobLocations(registry: string, digest: string, limit: number): Promise<string[]> {
    count(this.label, "limit", limit);
    return this.guard(`read blob locations in ${registry}`, () =>
      (this.stmt("SELECT repository FROM blob_locations WHERE registry = ? AND digest = ? ORDER BY seen_at DESC, repository LIMIT ?")
        .all(registry, digest, limit) as { repository: string }[]).map((r) => r.repository),
    );
  }

  async recordBuild(runId: number, build: BuildRecord): Promise<void> {
    checkBuild(this.label, build);
    this.guard(`record the build of ${build.entry}`, () => {
      this.stmt(`INSERT INTO builds (run_id, entry, inputs_hash, builder, builder_version, cache_ref, started_at, duration_ms, outcome, reason, log_tail, cache_hit_ratio)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(runId, build.entry, build.inputsHash, build.builder, build.builderVersion, build.cacheRef, build.startedAt ?? this.now(),
          Math.round(build.durationMs), build.outcome, build.reason, build.logTail.slice(-LOG_TAIL_MAX), build.cacheHitRatio);
    });
  }

  async lastGoodBuild(entry: string): Promise<BuildRecord | undefined> {
    return this.guard(`read the builds of ${entry}`, () => {
      const row = this.stmt("SELECT * FROM builds WHERE entry = ? AND outcome = 'ok' ORDER BY id DESC LIMIT 1").get(entry) as Row | undefined;
      return row === undefined ? undefined : buildFromRow(row);
    });
  }

  // ---- the run lock ------------------------------------------------------------------------------

  async acquireLock(options: LockOptions = {}): Promise<LockHandle | null> {
    const staleAfterMs = options.staleAfterMs ?? DEFAULT_LOCK_STALE_MS;
    checkLockOptions(this.label, staleAfterMs, options.shard);
    const shard = options.shard === undefined ? null : { index: options.shard.index, count: options.shard.count };
    const token = randomUUID();
    const taken = this.guard("take the run lock", () =>
      // IMMEDIATE: the check and the take happen under SQLite's write lock, atomically across processes.
      this.db.transaction(() => {
        const now = this.clock();
        const decision = lockDecision(this.lockRows(), shard, now, staleAfterMs, this.self);
        if (decision.blocked) return false;
        for (const evicted of decision.evict) this.stmt("DELETE FROM lock WHERE token = ?").run(evicted);
        const at = now.toISOString();
        this.stmt("INSERT INTO lock (shard_index, shard_count, pid, hostname, token, acquired_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
          .run(shard?.index ?? null, shard?.count ?? null, this.self.pid, this.self.hostname, token, at, at);
        this.markAbandoned(true, at);
        return true;
      }).immediate(),
    );
    if (!taken) return null;
    // One lock per store: a store that took another lock before gives the older one up.
    if (this.held !== null) this.releaseLock(this.held.token);
    this.held = { token, shard };
    return {
      token,
      shard,
      heartbeat: async () => this.guard("refresh the run lock", () => {
        const held = this.stmt("UPDATE lock SET heartbeat_at = ? WHERE token = ?").run(this.now(), token).changes === 1;
        if (!held && this.held?.token === token) this.held = null;
        return held;
      }),
      release: async () => {
        if (this.db.open) this.releaseLock(token);
      },
    };
  }

  /** SQLite's own check of the file: "ok", or its findings joined by "; ". SQLite only: not in the contract. */
  async integrityCheck(): Promise<string> {
    return this.guard("check its integrity", () =>
      (this.db.pragma("integrity_check") as { integrity_check: string }[]).map((r) => r.integrity_check).join("; "),
    );
  }

  // ---- internals --------------------------------------------------------------------------------

  private lockRows(): LockRow[] {
    return (this.stmt("SELECT token, pid, hostname, heartbeat_at, shard_index, shard_count FROM lock").all() as Row[]).map((r) => ({
      token: String(r["token"]),
      pid: Number(r["pid"]),
      hostname: String(r["hostname"]),
      heartbeatAt: String(r["heartbeat_at"]),
      shard: shardFromColumns(r["shard_index"], r["shard_count"]),
    }));
  }

  private releaseLock(token: string): void {
    this.guard("release the run lock", () => this.stmt("DELETE FROM lock WHERE token = ?").run(token));
    if (this.held?.token === token) this.held = null;
  }

  private deadRuns(acquiring: boolean): number[] {
    const tokens = new Set((this.stmt("SELECT token FROM lock").all() as { token: string }[]).map((r) => r.token));
    const running = (this.stmt("SELECT id, pid, hostname, lock_token FROM runs WHERE outcome = 'running'").all() as Row[]).map((r): RunningRun => ({
      id: Number(r["id"]),
      pid: r["pid"] === null ? null : Number(r["pid"]),
      hostname: r["hostname"] === null ? null : String(r["hostname"]),
      lockToken: r["lock_token"] === null ? null : String(r["lock_token"]),
    }));
    return deadRunIds(running, tokens, acquiring, this.self);
  }

  private markAbandoned(acquiring: boolean, at: string): void {
    for (const id of this.deadRuns(acquiring)) {
      this.stmt("UPDATE runs SET outcome = 'abandoned', ended_at = COALESCE(ended_at, ?) WHERE id = ? AND outcome = 'running'").run(at, id);
    }
  }

  /** At open: abandon the runs of dead processes, taking the write lock only when there are some. */
  private abandonDeadRuns(): void {
    this.guard("abandon the runs of dead processes", () => {
      if (this.deadRuns(false).length === 0) return;
      this.db.transaction(() => this.markAbandoned(false, this.now())).immediate();
    });
  }

  private now(): string {
    return clockNow(this.label, this.clock);
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
    if (!this.db.open) throw invalid(this.label, `cannot ${what}: the store is closed`);
    try {
      return fn();
    } catch (err) {
      throw stateError(this.label, what, err);
    }
  }
}
