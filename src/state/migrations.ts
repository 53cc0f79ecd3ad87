/**
 * Schema migrations, applied in order; `PRAGMA user_version` is the number applied.
 * Never edit a released migration: add a new one.
 */
import type Database from "better-sqlite3";
import { BasewarmError } from "../errors.js";

export const MIGRATIONS: readonly string[] = [
  // 1: the initial schema. Resolutions hold one row per period in which a reference kept the same
  // digest (first/last seen), so history stays small however often a tag is re-resolved.
  `
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    trigger TEXT NOT NULL,
    outcome TEXT NOT NULL,
    summary TEXT
  );
  CREATE TABLE resolutions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ref TEXT NOT NULL,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    runs INTEGER NOT NULL,
    first_run_id INTEGER,
    last_run_id INTEGER
  );
  CREATE INDEX resolutions_ref ON resolutions (ref, id);
  CREATE TABLE images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    digest TEXT,
    bytes INTEGER NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    at TEXT NOT NULL
  );
  CREATE INDEX images_run ON images (run_id);
  CREATE TABLE blobs (
    digest TEXT NOT NULL,
    target_repository TEXT NOT NULL,
    size INTEGER NOT NULL,
    first_copied_at TEXT NOT NULL,
    PRIMARY KEY (digest, target_repository)
  );
  CREATE TABLE builds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL,
    entry TEXT NOT NULL,
    inputs_hash TEXT NOT NULL,
    builder TEXT NOT NULL,
    builder_version TEXT NOT NULL,
    cache_ref TEXT NOT NULL,
    started_at TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    log_tail TEXT NOT NULL,
    cache_hit_ratio REAL
  );
  CREATE INDEX builds_entry ON builds (entry, id);
  CREATE TABLE lock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pid INTEGER NOT NULL,
    hostname TEXT NOT NULL,
    token TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
  );
  `,
  // 2: a run remembers its process and the lock it ran under, so a dead run can be told apart from
  // a live one that runs without the lock (an on-demand mirror) and only dead ones get abandoned.
  `
  ALTER TABLE runs ADD COLUMN pid INTEGER;
  ALTER TABLE runs ADD COLUMN hostname TEXT;
  ALTER TABLE runs ADD COLUMN lock_token TEXT;
  CREATE INDEX runs_running ON runs (outcome) WHERE outcome = 'running';
  CREATE INDEX builds_run ON builds (run_id);
  `,
  // 3: locks per shard. Shards of one partition run side by side, each under its own lock row
  // (both shard columns null: a full run's lock). SQLite cannot drop the old one-row CHECK, so the
  // table is rebuilt; a lock held across the upgrade stays held, as a full run's. A run records the
  // shard it was locked for.
  `
  CREATE TABLE lock_v3 (
    id INTEGER PRIMARY KEY,
    shard_index INTEGER,
    shard_count INTEGER,
    pid INTEGER NOT NULL,
    hostname TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    acquired_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    CHECK ((shard_index IS NULL AND shard_count IS NULL) OR (shard_count >= 1 AND shard_index >= 0 AND shard_index < shard_count))
  );
  INSERT INTO lock_v3 (id, pid, hostname, token, acquired_at, heartbeat_at) SELECT id, pid, hostname, token, acquired_at, heartbeat_at FROM lock;
  DROP TABLE lock;
  ALTER TABLE lock_v3 RENAME TO lock;
  ALTER TABLE runs ADD COLUMN shard_index INTEGER;
  ALTER TABLE runs ADD COLUMN shard_count INTEGER;
  `,
  // 4: rewrite asks for the last good copy of one source, which must not scan every run's images.
  `
  CREATE INDEX images_source ON images (source, target, id);
  `,
  // 5: where blobs live in each target registry, remembered across runs so a new repository mounts
  // a blob an earlier run placed elsewhere. Replaces the blobs table, which nothing wrote and which lacked
  // the registry.
  `
  DROP TABLE blobs;
  CREATE TABLE blob_locations (
    registry TEXT NOT NULL,
    digest TEXT NOT NULL,
    repository TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (registry, digest, repository)
  );
  `,
];

function userVersion(db: Database.Database): number {
  return db.pragma("user_version", { simple: true }) as number;
}

/** A file written by a newer basewarm is refused: its schema cannot be read safely. */
function refuseNewer(path: string, current: number, target: number): void {
  if (current > target) {
    throw new BasewarmError(
      "STATE_ERROR",
      `state file ${path} has schema version ${current}, newer than this basewarm understands (${target}); upgrade basewarm or point state: at another file`,
    );
  }
}

/** For a file opened read-only: its schema must be this basewarm's, as nothing can be migrated. */
export function checkSchemaVersion(db: Database.Database, path: string, migrations: readonly string[] = MIGRATIONS): void {
  const target = migrations.length;
  const seen = userVersion(db);
  refuseNewer(path, seen, target);
  if (seen < target) {
    throw new BasewarmError("STATE_ERROR", `state file ${path} has schema version ${seen}, older than this basewarm's (${target}), and this user may not write it to upgrade it; let a run or mirror with write access open it once`);
  }
}

/**
 * Bring the schema to `migrations.length`, all steps in one transaction: a crash or a failing step
 * leaves the file at its old version. Refuses a file written by a newer basewarm.
 */
export function applyMigrations(db: Database.Database, path: string, migrations: readonly string[] = MIGRATIONS): void {
  const target = migrations.length;
  const seen = userVersion(db);
  refuseNewer(path, seen, target);
  if (seen === target) return;
  db.transaction(() => {
    // Read again under the write lock: another process may have migrated since.
    const current = userVersion(db);
    refuseNewer(path, current, target);
    for (let version = current; version < target; version++) {
      db.exec(migrations[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }
  }).immediate();
}
