/**
 * The PostgreSQL schema, versioned like the SQLite file's: `schema_migrations` holds one row per
 * applied step. Never edit a released step: add a new one. The tables live in their own schema,
 * `basewarm`, so a shared database keeps them apart from anyone else's `runs`.
 *
 * Timestamps are ISO 8601 text, as in SQLite: the store's clock writes them, the contract returns
 * them as written, and `COLLATE "C"` makes them (and references) sort bytewise, as SQLite does.
 */
import type pg from "pg";
import { BasewarmError } from "../errors.js";

export const PG_SCHEMA = "basewarm";

/** Advisory lock keys (first int: ours; second: what it guards), held per transaction. */
export const ADVISORY = { namespace: 0x62776d00, migrate: 1, lock: 2, resolution: 3 } as const;

export const PG_MIGRATIONS: readonly string[] = [
  // 1: runs, resolutions (one row per period a reference kept a digest), images, builds, and one
  // lock row per held lock (both shard columns null: a full run's).
  `
  CREATE TABLE runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at TEXT COLLATE "C" NOT NULL,
    ended_at TEXT COLLATE "C",
    trigger TEXT NOT NULL,
    outcome TEXT NOT NULL,
    summary TEXT,
    pid INTEGER,
    hostname TEXT,
    lock_token TEXT,
    shard_index INTEGER,
    shard_count INTEGER
  );
  CREATE INDEX runs_running ON runs (outcome) WHERE outcome = 'running';
  CREATE TABLE resolutions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ref TEXT COLLATE "C" NOT NULL,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    first_seen TEXT COLLATE "C" NOT NULL,
    last_seen TEXT COLLATE "C" NOT NULL,
    runs INTEGER NOT NULL,
    first_run_id BIGINT,
    last_run_id BIGINT
  );
  CREATE INDEX resolutions_ref ON resolutions (ref, id);
  CREATE TABLE images (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id BIGINT,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    digest TEXT,
    bytes BIGINT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    at TEXT COLLATE "C" NOT NULL
  );
  CREATE INDEX images_run ON images (run_id);
  CREATE TABLE builds (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id BIGINT NOT NULL,
    entry TEXT NOT NULL,
    inputs_hash TEXT NOT NULL,
    builder TEXT NOT NULL,
    builder_version TEXT NOT NULL,
    cache_ref TEXT NOT NULL,
    started_at TEXT COLLATE "C" NOT NULL,
    duration_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    log_tail TEXT NOT NULL,
    cache_hit_ratio DOUBLE PRECISION
  );
  CREATE INDEX builds_entry ON builds (entry, id);
  CREATE INDEX builds_run ON builds (run_id);
  CREATE TABLE lock (
    token TEXT PRIMARY KEY,
    shard_index INTEGER,
    shard_count INTEGER,
    pid INTEGER NOT NULL,
    hostname TEXT NOT NULL,
    acquired_at TEXT COLLATE "C" NOT NULL,
    heartbeat_at TEXT COLLATE "C" NOT NULL,
    CHECK ((shard_index IS NULL AND shard_count IS NULL) OR (shard_count >= 1 AND shard_index >= 0 AND shard_index < shard_count))
  );
  `,
  // 2: rewrite asks for the last good copy of one source, which must not scan every run's images.
  `
  CREATE INDEX images_source ON images (source, target, id);
  `,
  // 3: where blobs live in each target registry, remembered across runs so a new repository mounts
  // a blob an earlier run placed elsewhere.
  `
  CREATE TABLE blob_locations (
    registry TEXT NOT NULL,
    digest TEXT NOT NULL,
    repository TEXT NOT NULL,
    seen_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (registry, digest, repository)
  );
  `,
];

/**
 * Bring the schema to `migrations.length` in one transaction (PostgreSQL's DDL is transactional),
 * serialized across processes by an advisory lock: a crash or a failing step leaves the database
 * at its old version. Refuses a database written by a newer basewarm.
 */
export async function applyPgMigrations(client: pg.ClientBase, label: string, migrations: readonly string[] = PG_MIGRATIONS): Promise<void> {
  const target = migrations.length;
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1, $2)", [ADVISORY.namespace, ADVISORY.migrate]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${PG_SCHEMA}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${PG_SCHEMA}.schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`);
    const result = await client.query<{ version: number | null }>(`SELECT MAX(version) AS version FROM ${PG_SCHEMA}.schema_migrations`);
    const current = result.rows[0]?.version ?? 0;
    if (current > target) {
      throw new BasewarmError(
        "STATE_ERROR",
        `${label} has schema version ${current}, newer than this basewarm understands (${target}); upgrade basewarm or point state: at another database`,
      );
    }
    for (let version = current; version < target; version++) {
      await client.query(migrations[version]!);
      await client.query(`INSERT INTO ${PG_SCHEMA}.schema_migrations (version, applied_at) VALUES ($1, $2)`, [version + 1, new Date().toISOString()]);
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}
