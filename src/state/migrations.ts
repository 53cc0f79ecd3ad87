/**
 * Schema migrations, applied in order; `PRAGMA user_version` is the number applied.
 * Never edit a released migration: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
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
];
