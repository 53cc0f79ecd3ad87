/**
 * The PostgreSQL backend, for shards on several hosts sharing one state (SQLite's WAL needs shared
 * memory on one machine). Same contract and same rules as the SQLite file: every record is one
 * statement or one transaction, committed before its promise resolves; lock rows with a heartbeat
 * (rather than session advisory locks) so a lock outlives a dropped connection exactly as long as
 * its heartbeat says, and both backends judge holders by the same code (./locks.ts).
 * Read-then-write steps are serialized by transaction-scoped advisory locks.
 *
 * Client: `pg` (node-postgres) rather than `postgres`: explicit connections (a pool, and one
 * checked-out client per transaction) make each transaction's extent visible in the code, it reports
 * SQLSTATEs and socket errors alike as `code` (mapped to one-line hints), it is the most used and
 * longest maintained Node client, and it lets the password be a function, so it is read from our
 * own setting and never from anywhere pg would look on its own.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { checkBlobLocations, checkBuild, checkFinish, checkImage, checkLockOptions, checkTrigger, clockNow, count, LOG_TAIL_MAX, text, validDate } from "./checks.js";
import { currentProcess, type ProcessIdentity } from "../process/index.js";
import { BasewarmError } from "../errors.js";
import { deadRunIds, lockDecision, shardFromColumns, type LockRow, type RunningRun } from "./locks.js";
import { ADVISORY, PG_SCHEMA, applyPgMigrations } from "./postgres-migrations.js";
import { buildFromRow, imageFromRow, runFromRow, type Row } from "./rows.js";
import type { PostgresLocation } from "./setting.js";
import { invalid, stateError } from "./state-error.js";
import { DEFAULT_LOCK_STALE_MS, type StateStore } from "./store.js";
import type { BlobLocation, BuildRecord, HistoryRow, ImageRecord, ImageRow, LockHandle, LockOptions, MirroredImage, Resolution, RunOutcome, RunRow, RunTrigger, Shard } from "./types.js";

export interface PostgresOptions {
  location: PostgresLocation;
  /** The password, when the server asks for one. */
  password?: string;
  now?: () => Date;
  /** How long to wait for a connection before failing (ms). */
  connectTimeoutMs?: number;
  /** Refuse a database basewarm never wrote instead of creating the schema (status, history). */
  mustExist?: boolean;
}

/** Enough for a run's parallel records; a shard process is one client among many on the server. */
const POOL_SIZE = 4;
const CONNECT_TIMEOUT_MS = 10_000;

type Client = pg.PoolClient;

export class PostgresStateStore implements StateStore {
  readonly label: string;
  private readonly pool: pg.Pool;
  private readonly clock: () => Date;
  private readonly self: ProcessIdentity;
  private closed = false;
  private held: { token: string; shard: Shard | null } | null = null;

  private constructor(pool: pg.Pool, label: string, clock: () => Date) {
    this.pool = pool;
    this.label = label;
    this.clock = clock;
    this.self = currentProcess();
  }

  /** Connect, create or migrate the schema, and abandon the runs of dead processes. */
  static async open(options: PostgresOptions): Promise<PostgresStateStore> {
    const { location } = options;
    const password = options.password;
    const pool = new pg.Pool({
      host: location.host,
      port: location.port,
      user: location.user,
      database: location.database,
      // A function: pg then never falls back to PGPASSWORD or ~/.pgpass on its own. pg calls it
      // with the client as `this`; after this error pg would leave the half-open socket to the
      // server's authentication timeout (a minute), holding the process: close it once reported.
      password: function (this: unknown) {
        if (password !== undefined) return password;
        const socket = (this as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
        setImmediate(() => socket?.destroy());
        throw new Error("the server asks for a password and none is set");
      },
      ssl: location.ssl === "disable" ? false : location.ssl === "require" ? { rejectUnauthorized: false } : true,
      options: `-c search_path=${PG_SCHEMA}`,
      max: POOL_SIZE,
      connectionTimeoutMillis: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      keepAlive: true,
      allowExitOnIdle: true,
      application_name: "basewarm",
    });
    // An idle connection dropped by the server must not crash the process: the next query reports it.
    pool.on("error", () => undefined);
    const store = new PostgresStateStore(pool, location.label, options.now ?? (() => new Date()));
    try {
      await store.guard("prepare it", async () => {
        const client = await store.checkout();
        try {
          if (options.mustExist) {
            const found = await client.query<{ present: boolean }>(`SELECT to_regclass('${PG_SCHEMA}.schema_migrations') IS NOT NULL AS present`);
            if (found.rows[0]?.present !== true) {
              throw new BasewarmError("STATE_EMPTY", `${location.label} holds no basewarm state: no run or mirror has recorded anything there yet`);
            }
          }
          await applyPgMigrations(client, location.label);
        } finally {
          store.checkin(client);
        }
      });
      await store.guard("abandon the runs of dead processes", () => store.transaction(async (c) => {
        await c.query("SELECT pg_advisory_xact_lock($1, $2)", [ADVISORY.namespace, ADVISORY.lock]);
        await store.markAbandoned(c, false, () => store.now());
      }));
    } catch (err) {
      store.closed = true;
      await pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.held !== null) await this.releaseLock(this.held.token);
    } finally {
      this.closed = true;
      await this.pool.end().catch(() => undefined);
    }
  }

  // ---- runs -------------------------------------------------------------------------------

  async startRun(trigger: RunTrigger): Promise<number> {
    checkTrigger(this.label, trigger);
    return this.guard("start a run", async () => {
      const shard = this.held?.shard ?? null;
      const result = await this.pool.query<{ id: string }>(
        "INSERT INTO runs (started_at, trigger, outcome, pid, hostname, lock_token, shard_index, shard_count) VALUES ($1, $2, 'running', $3, $4, $5, $6, $7) RETURNING id",
        [this.now(), trigger, this.self.pid, this.self.hostname, this.held?.token ?? null, shard?.index ?? null, shard?.count ?? null],
      );
      return Number(result.rows[0]!.id);
    });
  }

  async finishRun(runId: number, outcome: RunOutcome, summary: unknown): Promise<void> {
    const json = checkFinish(this.label, runId, outcome, summary);
    await this.guard(`finish run ${runId}`, async () => {
      const result = await this.pool.query("UPDATE runs SET ended_at = $1, outcome = $2, summary = $3 WHERE id = $4", [this.now(), outcome, json, runId]);
      if (result.rowCount !== 1) throw invalid(this.label, `run ${runId} does not exist; finish the id startRun returned`);
    });
  }

  async recentRuns(limit: number): Promise<RunRow[]> {
    count(this.label, "limit", limit);
    return this.guard("read runs", async () =>
      (await this.pool.query<Row>("SELECT id, started_at, ended_at, trigger, outcome, summary, shard_index, shard_count FROM runs ORDER BY id DESC LIMIT $1", [limit])).rows.map(runFromRow),
    );
  }

  async failuresOfRun(runId: number): Promise<{ images: ImageRow[]; builds: BuildRecord[] }> {
    return this.guard(`read the failures of run ${runId}`, async () => ({
      images: (await this.pool.query<Row>("SELECT * FROM images WHERE run_id = $1 AND status IN ('failed', 'deferred') ORDER BY id", [runId])).rows.map(imageFromRow),
      builds: (await this.pool.query<Row>("SELECT * FROM builds WHERE run_id = $1 AND outcome = 'failed' ORDER BY id", [runId])).rows.map(buildFromRow),
    }));
  }

  // ---- references ------------------------------------------------------------------------

  async recordResolution(runId: number | null, ref: string, digest: string, mediaType: string): Promise<{ changed: boolean; previous?: string }> {
    text(this.label, "reference", ref);
    text(this.label, "digest", digest);
    return this.guard(`record the resolution of ${ref}`, () => this.transaction(async (c) => {
      // One writer per reference at a time: the read below decides the write.
      await c.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [ADVISORY.namespace + ADVISORY.resolution, ref]);
      const at = this.now();
      const last = (await c.query<{ id: string; digest: string; last_run_id: string | null }>(
        "SELECT id, digest, last_run_id FROM resolutions WHERE ref = $1 ORDER BY id DESC LIMIT 1", [ref])).rows[0];
      if (last !== undefined && last.digest === digest) {
        const sameRun = runId !== null && last.last_run_id !== null && Number(last.last_run_id) === runId;
        await c.query("UPDATE resolutions SET last_seen = $1, runs = runs + $2, last_run_id = $3 WHERE id = $4", [at, sameRun ? 0 : 1, runId, last.id]);
        return { changed: false };
      }
      await c.query("INSERT INTO resolutions (ref, digest, media_type, first_seen, last_seen, runs, first_run_id, last_run_id) VALUES ($1, $2, $3, $4, $4, 1, $5, $5)",
        [ref, digest, mediaType, at, runId]);
      return last === undefined ? { changed: true } : { changed: true, previous: last.digest };
    }));
  }

  async lastResolution(ref: string): Promise<Resolution | undefined> {
    return this.guard(`read the resolution of ${ref}`, async () =>
      (await this.pool.query<Resolution>(`SELECT digest, media_type AS "mediaType", last_seen AS at FROM resolutions WHERE ref = $1 ORDER BY id DESC LIMIT 1`, [ref])).rows[0],
    );
  }

  async history(ref?: string): Promise<HistoryRow[]> {
    return this.guard("read the history", async () => {
      const columns = `SELECT ref, digest, first_seen AS "firstSeen", last_seen AS "lastSeen", runs FROM resolutions`;
      const result = ref === undefined
        ? await this.pool.query<HistoryRow>(`${columns} ORDER BY ref, id`)
        : await this.pool.query<HistoryRow>(`${columns} WHERE ref = $1 ORDER BY id`, [ref]);
      return result.rows;
    });
  }

  async staleRefs(olderThan: Date): Promise<{ ref: string; lastResolved: string }[]> {
    validDate(this.label, "staleRefs", olderThan);
    return this.guard("read stale references", async () =>
      (await this.pool.query<{ ref: string; lastResolved: string }>(
        `SELECT ref, MAX(last_seen) AS "lastResolved" FROM resolutions GROUP BY ref HAVING MAX(last_seen) < $1 ORDER BY ref`, [olderThan.toISOString()])).rows,
    );
  }

  // ---- images and builds ---------------------------------------------------------------------

  async recordImage(runId: number | null, image: ImageRecord): Promise<void> {
    checkImage(this.label, image);
    await this.guard(`record image ${image.source}`, async () => {
      await this.pool.query("INSERT INTO images (run_id, source, target, digest, bytes, status, error, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [runId, image.source, image.target, image.digest, image.bytes, image.status, image.error ?? null, this.now()]);
    });
  }

  async lastMirrored(source: string, target: string): Promise<MirroredImage | undefined> {
    return this.guard(`read what the mirror holds for ${source}`, async () =>
      (await this.pool.query<MirroredImage>(`SELECT digest, at FROM images WHERE source = $1 AND target = $2 AND status IN ('copied', 'unchanged')
        AND digest IS NOT NULL ORDER BY id DESC LIMIT 1`, [source, target])).rows[0],
    );
  }

  async recordBlobLocations(registry: string, locations: readonly BlobLocation[]): Promise<void> {
    checkBlobLocations(this.label, registry, locations);
    // One row per pair: a statement may not update the same row twice.
    const unique = [...new Map(locations.map((l) => [`${l.digest} ${l.repository}`, l])).values()];
    if (unique.length === 0) return;
    await this.guard(`remember blob locations in ${registry}`, async () => {
      await this.pool.query(`INSERT INTO blob_locations (registry, digest, repository, seen_at)
        SELECT $1, d, r, $4 FROM unnest($2::text[], $3::text[]) AS t(d, r)
        ON CONFLICT (registry, digest, repository) DO UPDATE SET seen_at = EXCLUDED.seen_at`,
        [registry, unique.map((l) => l.digest), unique.map((l) => l.repository), this.now()]);
    });
  }

  async blobLocations(registry: string, digest: string, limit: number): Promise<string[]> {
    count(this.label, "limit", limit);
    return this.guard(`read blob locations in ${registry}`, async () =>
      (await this.pool.query<{ repository: string }>(
        "SELECT repository FROM blob_locations WHERE registry = $1 AND digest = $2 ORDER BY seen_at DESC, repository LIMIT $3", [registry, digest, limit])).rows.map((r) => r.repository),
    );
  }

  async recordBuild(runId: number, build: BuildRecord): Promise<void> {
    checkBuild(this.label, build);
    await this.guard(`record the build of ${build.entry}`, async () => {
      await this.pool.query(`INSERT INTO builds (run_id, entry, inputs_hash, builder, builder_version, cache_ref, started_at, duration_ms, outcome, reason, log_tail, cache_hit_ratio)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [runId, build.entry, build.inputsHash, build.builder, build.builderVersion, build.cacheRef, build.startedAt ?? this.now(),
        Math.round(build.durationMs), build.outcome, build.reason, build.logTail.slice(-LOG_TAIL_MAX), build.cacheHitRatio]);
    });
  }

  async lastGoodBuild(entry: string): Promise<BuildRecord | undefined> {
    return this.guard(`read the builds of ${entry}`, async () => {
      const row = (await this.pool.query<Row>("SELECT * FROM builds WHERE entry = $1 AND outcome = 'ok' ORDER BY id DESC LIMIT 1", [entry])).rows[0];
      return row === undefined ? undefined : buildFromRow(row);
    });
  }

  // ---- the run lock ------------------------------------------------------------------------------

  async acquireLock(options: LockOptions = {}): Promise<LockHandle | null> {
    const staleAfterMs = options.staleAfterMs ?? DEFAULT_LOCK_STALE_MS;
    checkLockOptions(this.label, staleAfterMs, options.shard);
    const shard = options.shard === undefined ? null : { index: options.shard.index, count: options.shard.count };
    const token = randomUUID();
    const taken = await this.guard("take the run lock", () => this.transaction(async (c) => {
      // Every taker waits here, so the check and the take are atomic across processes and hosts.
      await c.query("SELECT pg_advisory_xact_lock($1, $2)", [ADVISORY.namespace, ADVISORY.lock]);
      const now = this.clock();
      const rows = (await c.query<Row>("SELECT token, pid, hostname, heartbeat_at, shard_index, shard_count FROM lock")).rows.map((r): LockRow => ({
        token: String(r["token"]),
        pid: Number(r["pid"]),
        hostname: String(r["hostname"]),
        heartbeatAt: String(r["heartbeat_at"]),
        shard: shardFromColumns(r["shard_index"], r["shard_count"]),
      }));
      const decision = lockDecision(rows, shard, now, staleAfterMs, this.self);
      if (decision.blocked) return false;
      if (decision.evict.length > 0) await c.query("DELETE FROM lock WHERE token = ANY($1)", [decision.evict]);
      const at = now.toISOString();
      await c.query("INSERT INTO lock (token, shard_index, shard_count, pid, hostname, acquired_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        [token, shard?.index ?? null, shard?.count ?? null, this.self.pid, this.self.hostname, at]);
      await this.markAbandoned(c, true, () => at);
      return true;
    }));
    if (!taken) return null;
    if (this.held !== null) await this.releaseLock(this.held.token);
    this.held = { token, shard };
    return {
      token,
      shard,
      heartbeat: () => this.guard("refresh the run lock", async () => {
        const held = (await this.pool.query("UPDATE lock SET heartbeat_at = $1 WHERE token = $2", [this.now(), token])).rowCount === 1;
        if (!held && this.held?.token === token) this.held = null;
        return held;
      }),
      release: async () => {
        if (!this.closed) await this.releaseLock(token);
      },
    };
  }

  // ---- internals --------------------------------------------------------------------------------

  private async releaseLock(token: string): Promise<void> {
    await this.guard("release the run lock", () => this.pool.query("DELETE FROM lock WHERE token = $1", [token]));
    if (this.held?.token === token) this.held = null;
  }

  /** Under the lock's advisory lock, so the held tokens cannot change while runs are judged. */
  private async markAbandoned(c: Client, acquiring: boolean, at: () => string): Promise<void> {
    const tokens = new Set((await c.query<{ token: string }>("SELECT token FROM lock")).rows.map((r) => r.token));
    const running = (await c.query<Row>("SELECT id, pid, hostname, lock_token FROM runs WHERE outcome = 'running'")).rows.map((r): RunningRun => ({
      id: Number(r["id"]),
      pid: r["pid"] === null ? null : Number(r["pid"]),
      hostname: r["hostname"] === null ? null : String(r["hostname"]),
      lockToken: r["lock_token"] === null ? null : String(r["lock_token"]),
    }));
    const dead = deadRunIds(running, tokens, acquiring, this.self);
    if (dead.length === 0) return;
    await c.query("UPDATE runs SET outcome = 'abandoned', ended_at = COALESCE(ended_at, $1) WHERE id = ANY($2) AND outcome = 'running'", [at(), dead]);
  }

  private async checkout(): Promise<Client> {
    const client = await this.pool.connect();
    // Between queries a checked-out client has no listener of its own: a dropped connection
    // would otherwise be an unhandled 'error' event; the next query reports it instead.
    client.on("error", ignore);
    return client;
  }

  private checkin(client: Client, broken = false): void {
    client.removeListener("error", ignore);
    client.release(broken);
  }

  private async transaction<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.checkout();
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      this.checkin(client, broken);
    }
  }

  private now(): string {
    return clockNow(this.label, this.clock);
  }

  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw invalid(this.label, `cannot ${what}: the store is closed`);
    try {
      return await fn();
    } catch (err) {
      throw stateError(this.label, what, err);
    }
  }
}

function ignore(): void {}
