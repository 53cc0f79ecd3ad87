/**
 * The two state backends as the contract tests see them: a fresh, empty state (a new SQLite file, or
 * a new database on one real PostgreSQL server per test file), stores opened on it, and raw access
 * to its lock rows for the cases no public call can stage (a holder on another host, a dead pid).
 */
import Database from "better-sqlite3";
import pg from "pg";
import { openStateStore, type StateStore } from "../../src/state/index.js";
import { startPostgres, type RunningPostgres } from "../../testkit/index.js";
import { tempStatePath } from "./helpers.js";

export interface RawLock {
  pid: number;
  hostname: string;
  token: string;
  at: string;
  shard?: { index: number; count: number };
}

export interface FreshState {
  /** The `state:` setting naming it. */
  setting: string;
  /** How its errors start: `state file PATH` or `state database URL`. */
  label: string;
  open(now?: () => Date): Promise<StateStore>;
  /** Put a lock row in place as another process would have left it. */
  insertLock(lock: RawLock): Promise<void>;
  lockRows(): Promise<Record<string, unknown>[]>;
  /** Run statements as another writer would (setup the API cannot express). */
  exec(sql: string): Promise<void>;
}

export interface Backend {
  name: "sqlite" | "postgres";
  setup(): Promise<void>;
  teardown(): Promise<void>;
  fresh(): Promise<FreshState>;
}

function openWith(setting: string): (now?: () => Date) => Promise<StateStore> {
  return (now) => openStateStore(setting, { baseDir: "/", env: {}, ...(now ? { now } : {}) });
}

export const sqliteBackend: Backend = {
  name: "sqlite",
  async setup() {},
  async teardown() {},
  async fresh() {
    const path = tempStatePath();
    const raw = <T>(fn: (db: Database.Database) => T): T => {
      const db = new Database(path);
      try {
        return fn(db);
      } finally {
        db.close();
      }
    };
    return {
      setting: path,
      label: `state file ${path}`,
      open: openWith(path),
      async insertLock(l) {
        raw((db) => db.prepare("INSERT INTO lock (shard_index, shard_count, pid, hostname, token, acquired_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
          .run(l.shard?.index ?? null, l.shard?.count ?? null, l.pid, l.hostname, l.token, l.at, l.at));
      },
      async lockRows() {
        return raw((db) => db.prepare("SELECT token, pid, hostname, shard_index, shard_count FROM lock ORDER BY token").all() as Record<string, unknown>[]);
      },
      async exec(sql) {
        raw((db) => db.exec(sql));
      },
    };
  },
};

/** PostgreSQL: one server for the whole file, one database per test. */
export function postgresBackend(): Backend & { server(): RunningPostgres } {
  let server: RunningPostgres | undefined;
  const query = async (url: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> => {
    const u = new URL(url);
    const client = new pg.Client({ host: u.hostname, port: Number(u.port), user: u.username, database: u.pathname.slice(1), options: "-c search_path=basewarm" });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  };
  return {
    name: "postgres",
    server: () => server!,
    async setup() {
      server = await startPostgres();
    },
    async teardown() {
      await server?.stop();
    },
    async fresh() {
      const url = await server!.createDatabase();
      return {
        setting: url,
        label: `state database ${url}`,
        open: openWith(url),
        async insertLock(l) {
          await query(url, "INSERT INTO lock (token, shard_index, shard_count, pid, hostname, acquired_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
            [l.token, l.shard?.index ?? null, l.shard?.count ?? null, l.pid, l.hostname, l.at]);
        },
        async lockRows() {
          return (await query(url, "SELECT token, pid, hostname, shard_index, shard_count FROM lock ORDER BY token COLLATE \"C\"")).map((r) => ({ ...r }));
        },
        async exec(sql) {
          await query(url, sql);
        },
      };
    },
  };
}

export const BACKENDS: Backend[] = [sqliteBackend, postgresBackend()];
