/**
 * basewarm's state: one SQLite file (better-sqlite3, WAL). Each record is its own short
 * transaction, so a process killed at any point leaves a consistent database; a run left
 * "running" by a dead process is marked abandoned when the next process takes the lock.
 * Callers pass sanitized text only: no secrets are ever stored here.
 */
import { randomUUID } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { BasewarmError } from "../errors.js";
import { MIGRATIONS } from "./migrations.js";

export type RunTrigger = "schedule" | "manual" | "mirror" | "cli";
export type RunOutcome = "running" | "ok" | "partial" | "failed" | "abandoned";
export type ImageStatus = "copied" | "unchanged" | "failed" | "deferred";

export interface StateOptions {
  path: string;
  now?: () => Date;
}

export interface RunRow {
  id: number;
  startedAt: string;
  endedAt: string | null;
  trigger: RunTrigger;
  outcome: RunOutcome;
  summary: unknown;
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
  outcome: "ok" | "failed" | "skipped";
  reason: string;
  logTail: string;
  cacheHitRatio: number | null;
  startedAt?: string;
  runId?: number;
}

export interface LockHandle {
  readonly token: string;
  heartbeat(): void;
  release(): void;
}

export interface HistoryRow {
  ref: string;
  digest: string;
  firstSeen: string;
  lastSeen: string;
  runs: number;
}

/** Default: a lock whose holder has not beaten for 10 minutes is stale. */
const DEFAULT_STALE_MS = 10 * 60 * 1000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

export class StateStore {
  private readonly db: Database.Database;
  private readonly now: () => Date;
  readonly path: string;

  private constructor(db: Database.Database, path: string, now: () => Date) {
    this.db = db;
    this.path = path;
    this.now = now;
  }

  static open(options: StateOptions): StateStore {
    const dir = dirname(options.path);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new BasewarmError("STATE_ERROR", `state directory ${dir} does not exist; create it or point state: at a writable place`);
    }
    let db: Database.Database;
    try {
      db = new Database(options.path);
      db.pragma("journal_mode = WAL");
      // FULL: a committed record survives power loss too; records are small and few per second.
      db.pragma("synchronous = FULL");
      db.pragma("busy_timeout = 5000");
      db.pragma("foreign_keys = ON");
    } catch (err) {
      throw new BasewarmError("STATE_ERROR", `cannot open state file ${options.path}: ${(err as Error).message}`, { cause: err });
    }
    const store = new StateStore(db, options.path, options.now ?? (() => new Date()));
    try {
      store.migrate();
    } catch (err) {
      db.close();
      throw err;
    }
    return store;
  }

  private migrate(): void {
    const current = this.db.pragma("user_version", { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new BasewarmError("STATE_ERROR", `state file ${this.path} has schema version ${current}, newer than this basewarm (${MIGRATIONS.length}); upgrade basewarm or use another state file`);
    }
    const apply = this.db.transaction(() => {
      for (let version = current; version < MIGRATIONS.length; version++) {
        this.db.exec(MIGRATIONS[version]!);
        this.db.pragma(`user_version = ${version + 1}`);
      }
    });
    // IMMEDIATE: two processes opening a new file at once must not both migrate.
    apply.immediate();
  }

  close(): void {
    this.db.close();
  }

  private iso(): string {
    return this.now().toISOString();
  }

  startRun(trigger: RunTrigger): number {
    const info = this.db.prepare("INSERT INTO runs (started_at, trigger, outcome) VALUES (?, ?, 'running')").run(this.iso(), trigger);
    return Number(info.lastInsertRowid);
  }

  finishRun(runId: number, outcome: RunOutcome, summary: unknown): void {
    this.db.prepare("UPDATE runs SET ended_at = ?, outcome = ?, summary = ? WHERE id = ?").run(this.iso(), outcome, JSON.stringify(summary ?? null), runId);
  }

  /** Record a resolution; only a change of digest adds a history row, otherwise last_seen moves. */
  recordResolution(runId: number | null, ref: string, digest: string, mediaType: string): { changed: boolean; previous?: string } {
    const tx = this.db.transaction(() => {
      const last = this.db.prepare("SELECT id, digest FROM resolutions WHERE ref = ? ORDER BY id DESC LIMIT 1").get(ref) as { id: number; digest: string } | undefined;
      const at = this.iso();
      if (last && last.digest === digest) {
        this.db.prepare("UPDATE resolutions SET last_seen = ?, runs = runs + 1, last_run_id = ? WHERE id = ?").run(at, runId, last.id);
        return { changed: false };
      }
      this.db.prepare("INSERT INTO resolutions (ref, digest, media_type, first_seen, last_seen, runs, first_run_id, last_run_id) VALUES (?, ?, ?, ?, ?, 1, ?, ?)")
        .run(ref, digest, mediaType, at, at, runId, runId);
      return last ? { changed: true, previous: last.digest } : { changed: true };
    });
    return tx.immediate();
  }

  lastResolution(ref: string): { digest: string; mediaType: string; at: string } | undefined {
    const row = this.db.prepare("SELECT digest, media_type AS mediaType, last_seen AS at FROM resolutions WHERE ref = ? ORDER BY id DESC LIMIT 1").get(ref) as { digest: string; mediaType: string; at: string } | undefined;
    return row;
  }

  recordImage(runId: number | null, image: { source: string; target: string; digest: string | null; bytes: number; status: ImageStatus; error?: string }): void {
    this.db.prepare("INSERT INTO images (run_id, source, target, digest, bytes, status, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .run(runId, image.source, image.target, image.digest, image.bytes, image.status, image.error ?? null, this.iso());
  }

  recordBlob(digest: string, size: number, targetRepository: string): void {
    this.db.prepare("INSERT OR IGNORE INTO blobs (digest, target_repository, size, first_copied_at) VALUES (?, ?, ?, ?)").run(digest, targetRepository, size, this.iso());
  }

  /** Repositories of the mirror known to hold a blob (for cross-repository mounts). */
  blobLocations(digest: string): string[] {
    return (this.db.prepare("SELECT target_repository FROM blobs WHERE digest = ? LIMIT 8").all(digest) as { target_repository: string }[]).map((r) => r.target_repository);
  }

  recordBuild(runId: number, build: BuildRecord): void {
    this.db.prepare(`INSERT INTO builds (run_id, entry, inputs_hash, builder, builder_version, cache_ref, started_at, duration_ms, outcome, reason, log_tail, cache_hit_ratio)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(runId, build.entry, build.inputsHash, build.builder, build.builderVersion, build.cacheRef, build.startedAt ?? this.iso(), build.durationMs, build.outcome, build.reason, build.logTail.slice(-8000), build.cacheHitRatio);
  }

  private static buildRow(row: Record<string, unknown>): BuildRecord {
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

  /** The latest build of an entry that produced a verified cache. */
  lastGoodBuild(entry: string): BuildRecord | undefined {
    const row = this.db.prepare("SELECT * FROM builds WHERE entry = ? AND outcome = 'ok' ORDER BY id DESC LIMIT 1").get(entry) as Record<string, unknown> | undefined;
    return row ? StateStore.buildRow(row) : undefined;
  }

  recentRuns(limit: number): RunRow[] {
    const rows = this.db.prepare("SELECT id, started_at, ended_at, trigger, outcome, summary FROM runs ORDER BY id DESC LIMIT ?").all(limit) as Record<string, unknown>[];
    return rows.map((r) => ({
      id: Number(r["id"]),
      startedAt: String(r["started_at"]),
      endedAt: r["ended_at"] === null ? null : String(r["ended_at"]),
      trigger: r["trigger"] as RunTrigger,
      outcome: r["outcome"] as RunOutcome,
      summary: r["summary"] === null ? null : (JSON.parse(String(r["summary"])) as unknown),
    }));
  }

  failuresOfRun(runId: number): { images: ImageRow[]; builds: BuildRecord[] } {
    const images = (this.db.prepare("SELECT * FROM images WHERE run_id = ? AND status IN ('failed', 'deferred') ORDER BY id").all(runId) as Record<string, unknown>[]).map((r) => ({
      runId: r["run_id"] === null ? null : Number(r["run_id"]),
      source: String(r["source"]),
      target: String(r["target"]),
      digest: r["digest"] === null ? null : String(r["digest"]),
      bytes: Number(r["bytes"]),
      status: r["status"] as ImageStatus,
      error: r["error"] === null ? null : String(r["error"]),
      at: String(r["at"]),
    }));
    const builds = (this.db.prepare("SELECT * FROM builds WHERE run_id = ? AND outcome = 'failed' ORDER BY id").all(runId) as Record<string, unknown>[]).map(StateStore.buildRow);
    return { images, builds };
  }

  history(ref?: string): HistoryRow[] {
    const sql = `SELECT ref, digest, first_seen AS firstSeen, last_seen AS lastSeen, runs FROM resolutions ${ref === undefined ? "" : "WHERE ref = ?"} ORDER BY ref, id`;
    const statement = this.db.prepare(sql);
    return (ref === undefined ? statement.all() : statement.all(ref)) as HistoryRow[];
  }

  /** References whose latest resolution is older than `olderThan`. */
  staleRefs(olderThan: Date): { ref: string; lastResolved: string }[] {
    return this.db.prepare("SELECT ref, MAX(last_seen) AS lastResolved FROM resolutions GROUP BY ref HAVING MAX(last_seen) < ? ORDER BY ref").all(olderThan.toISOString()) as { ref: string; lastResolved: string }[];
  }

  /**
   * Take the single run lock, or return null while a live holder has it. A holder whose
   * heartbeat is older than `staleAfterMs`, or whose pid is dead on this host, is taken over;
   * its run, if still marked running, becomes abandoned.
   */
  acquireLock(options: { staleAfterMs?: number } = {}): LockHandle | null {
    const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_MS;
    const token = randomUUID();
    const host = hostname();
    const take = this.db.transaction(() => {
      const holder = this.db.prepare("SELECT pid, hostname, token, heartbeat_at FROM lock WHERE id = 1").get() as { pid: number; hostname: string; token: string; heartbeat_at: string } | undefined;
      const now = this.now();
      if (holder) {
        const stale = now.getTime() - Date.parse(holder.heartbeat_at) > staleAfterMs;
        const dead = holder.hostname === host && holder.pid !== process.pid && !pidAlive(holder.pid);
        if (!stale && !dead) return false;
        this.db.prepare("DELETE FROM lock WHERE id = 1").run();
      }
      this.db.prepare("INSERT INTO lock (id, pid, hostname, token, acquired_at, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?)").run(process.pid, host, token, now.toISOString(), now.toISOString());
      // Whoever held the lock before is gone: its unfinished runs will never finish.
      this.db.prepare("UPDATE runs SET outcome = 'abandoned', ended_at = COALESCE(ended_at, ?) WHERE outcome = 'running'").run(now.toISOString());
      return true;
    });
    if (!take.immediate()) return null;
    return {
      token,
      heartbeat: () => {
        this.db.prepare("UPDATE lock SET heartbeat_at = ? WHERE id = 1 AND token = ?").run(this.iso(), token);
      },
      release: () => {
        this.db.prepare("DELETE FROM lock WHERE id = 1 AND token = ?").run(token);
      },
    };
  }

  integrityCheck(): string {
    return String(this.db.pragma("integrity_check", { simple: true }));
  }
}
