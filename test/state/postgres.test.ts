/**
 * What only the PostgreSQL backend has: its versioned schema in a database, the `state:` URL, the
 * password (from the environment, never shown), and a server that goes away in the middle of a run.
 * Against a real PostgreSQL started by testkit; the shared contract is in store.test.ts and lock.test.ts.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { isBasewarmError } from "../../src/errors.js";
import { openStateStore, parseStateSetting, type StateStore } from "../../src/state/index.js";
import { PG_MIGRATIONS, applyPgMigrations } from "../../src/state/postgres-migrations.js";
import { startPostgres, type RunningPostgres } from "../../testkit/index.js";
import { Child, bundleForChildren, errorWithCode, stateErrorOf } from "./helpers.js";

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>, password?: string): Promise<T> {
  const u = new URL(url);
  const client = new pg.Client({ host: u.hostname, port: Number(u.port), user: u.username, database: u.pathname.slice(1), ...(password ? { password } : {}) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const open = (url: string, env: Record<string, string> = {}): Promise<StateStore> => openStateStore(url, { baseDir: "/", env });

describe("state setting", () => {
  it("reads a path as a SQLite file relative to the config and a postgres:// URL as a database", () => {
    expect(parseStateSetting("state/basewarm.db", "/etc/basewarm")).toEqual({ kind: "sqlite", path: "/etc/basewarm/state/basewarm.db" });
    expect(parseStateSetting("/var/lib/basewarm.db", "/etc")).toEqual({ kind: "sqlite", path: "/var/lib/basewarm.db" });
    expect(parseStateSetting("postgres://warm@db.internal:6432/basewarm", "/")).toEqual({
      kind: "postgres", host: "db.internal", port: 6432, user: "warm", database: "basewarm", ssl: "disable",
      label: "state database postgres://warm@db.internal:6432/basewarm",
    });
    expect(parseStateSetting("postgresql://warm@127.0.0.1/basewarm?sslmode=verify-full", "/")).toMatchObject({ port: 5432, ssl: "verify-full" });
  });

  it.each([
    ["postgres://warm:hunter2-secret@db/basewarm", /carries a password; remove it from the config and set PGPASSWORD or PGPASSWORD_FILE/],
    ["postgres://db/basewarm", /needs a user, a host and a database/],
    ["postgres://warm@db/", /needs a user, a host and a database/],
    ["postgres://warm@db/basewarm?sslmode=prefer", /URL option "sslmode" is not understood/],
    ["postgres://warm@db/basewarm?password=hunter2-secret", /URL option "password" is not understood/],
    ["mysql://warm@db/basewarm", /mysql:\/\/ is not a state backend/],
  ])("refuses %s in one line that never shows a password", (setting, why) => {
    let caught: unknown;
    try {
      parseStateSetting(setting, "/");
    } catch (err) {
      caught = err;
    }
    expect(isBasewarmError(caught, "CONFIG_INVALID")).toBe(true);
    const message = (caught as Error).message;
    expect(message).toMatch(why);
    expect(message).toMatch(/^state: /);
    expect(message).not.toContain("hunter2");
    expect(message).not.toContain("\n");
  });
});

describe("state setting in the config", () => {
  it("is checked when the config loads, naming the line and never the password", () => {
    const text = "target: { registry: 127.0.0.1:5000 }\nstate: postgres://warm:hunter2-secret@db/basewarm\n";
    let caught: unknown;
    try {
      parseConfig(text, "/etc/basewarm.yaml");
    } catch (err) {
      caught = err;
    }
    expect(isBasewarmError(caught, "CONFIG_INVALID")).toBe(true);
    expect((caught as Error).message).toBe("/etc/basewarm.yaml:2: state: the postgres:// URL carries a password; remove it from the config and set PGPASSWORD or PGPASSWORD_FILE instead");
    expect(parseConfig("target: { registry: 127.0.0.1:5000 }\nstate: postgres://warm@db/basewarm\n", "/etc/basewarm.yaml").config.state).toBe("postgres://warm@db/basewarm");
  });
});

describe("state on PostgreSQL", () => {
  let server: RunningPostgres;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(() => server.stop());

  it("creates its schema in an empty database at the latest version, and reopens idempotently keeping records", async () => {
    const url = await server.createDatabase();
    const first = await open(url);
    const run = await first.startRun("cli");
    await first.finishRun(run, "ok", { n: 1 });
    await first.close();
    for (let i = 0; i < 2; i++) {
      const again = await open(url);
      expect(await again.recentRuns(5)).toMatchObject([{ id: run, outcome: "ok", summary: { n: 1 } }]);
      await again.close();
    }
    await withClient(url, async (c) => {
      expect((await c.query("SELECT version FROM basewarm.schema_migrations ORDER BY version")).rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
      const tables = (await c.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'basewarm' ORDER BY table_name")).rows.map((r) => r.table_name);
      expect(tables).toEqual(["blob_locations", "builds", "images", "lock", "resolutions", "runs", "schema_migrations"]);
      // Nothing leaks into the database's default schema.
      expect((await c.query("SELECT COUNT(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'")).rows[0].n).toBe(0);
    });
  });

  it("applies all steps in one transaction: a failing step leaves the database at its old version", async () => {
    const url = await server.createDatabase();
    await withClient(url, async (c) => {
      await c.query("SET search_path = basewarm");
      const broken = [PG_MIGRATIONS[0]!, "CREATE TABLE half_done (x INTEGER); SELECT no_such_column FROM runs;"];
      await expect(applyPgMigrations(c, "test", broken)).rejects.toThrow(/no_such_column/);
      expect((await c.query("SELECT COUNT(*)::int AS n FROM information_schema.tables WHERE table_schema = 'basewarm'")).rows[0].n).toBe(0);
      await applyPgMigrations(c, "test", [PG_MIGRATIONS[0]!]);
      expect((await c.query("SELECT MAX(version) AS v FROM basewarm.schema_migrations")).rows[0].v).toBe(1);
    });
  });

  it("refuses a database written by a newer basewarm, in one line naming it and what to do, and leaves it alone", async () => {
    const url = await server.createDatabase();
    await (await open(url)).close();
    const newer = PG_MIGRATIONS.length + 7;
    await withClient(url, (c) => c.query("INSERT INTO basewarm.schema_migrations (version, applied_at) VALUES ($1, 'later')", [newer]));
    const err = await stateErrorOf(() => open(url));
    expect(err.message).toBe(
      `state database ${url} has schema version ${newer}, newer than this basewarm understands (${PG_MIGRATIONS.length}); upgrade basewarm or point state: at another database`,
    );
    expect(await withClient(url, async (c) => (await c.query("SELECT MAX(version) AS v FROM basewarm.schema_migrations")).rows[0].v)).toBe(newer);
  });

  it("says which database is missing, and which server is down, in one line each", async () => {
    const missing = server.url("no_such_db");
    expect((await stateErrorOf(() => open(missing))).message).toBe(
      `state database ${missing}: cannot prepare it: database "no_such_db" does not exist; create the database or fix its name in the state: URL`,
    );
    const nobody = `postgres://postgres@127.0.0.1:1/basewarm`;
    const down = await stateErrorOf(() => open(nobody));
    expect(down.message).toMatch(/^state database postgres:\/\/postgres@127\.0\.0\.1:1\/basewarm: cannot prepare it: .*ECONNREFUSED.*; check that the database server is running and reachable$/);
  });

  describe("when the server goes away mid-run", () => {
    let bundle: { file: string; cleanup: () => void };
    let child: Child | undefined;
    beforeAll(async () => {
      bundle = await bundleForChildren();
    });
    afterAll(() => bundle.cleanup());
    afterEach(async () => {
      await child?.kill();
      await server.resume();
    });

    it("fails the run's next write in one line naming the state, and the next run finds every record committed before", async () => {
      const url = await server.createDatabase();
      // The child plays a run: it records one image per step and acknowledges each after its commit;
      // a failure ends it the way the CLI ends (one line, exit status 1 for STATE_ERROR).
      child = new Child(bundle.file, `
        try {
          const s = await state.openStateStore(${JSON.stringify(url)}, { baseDir: "/", env: {} });
          await s.acquireLock({ shard: { index: 0, count: 2 } });
          const run = await s.startRun("schedule");
          for (let i = 0; ; i++) {
            await s.recordResolution(run, "docker.io/library/img" + i + ":1", "sha256:" + String(i % 10).repeat(64), "m");
            await s.recordImage(run, { source: "docker.io/library/img" + i + ":1", target: "t/img" + i, digest: null, bytes: i, status: "copied" });
            console.log("ack " + i);
            await new Promise((r) => setTimeout(r, 10));
          }
        } catch (err) {
          console.log("error " + err.code + " " + err.message);
          process.exit(err.code === "STATE_ERROR" ? 1 : 3);
        }
      `);
      await child.waitFor((l) => l === "ack 5", 30_000);
      await server.halt("immediate");
      const line = await child.waitFor((l) => l.startsWith("error "), 30_000);
      await child.kill();
      expect(child.process.exitCode).toBe(1);
      expect(line).toMatch(new RegExp(`^error STATE_ERROR state database ${url.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: cannot (record|start|read).*; (the database server went away|check that the database server is running)`));
      const acked = Math.max(...child.lines.filter((l) => l.startsWith("ack ")).map((l) => Number(l.slice(4))));

      await server.resume();
      const next = await open(url);
      // The dead run is abandoned at open; each acknowledged record is there for the next run.
      const runs = await next.recentRuns(5);
      expect(runs).toMatchObject([{ outcome: "abandoned", shard: { index: 0, count: 2 } }]);
      for (let i = 0; i <= acked; i++) {
        expect(await next.lastResolution(`docker.io/library/img${i}:1`)).toMatchObject({ digest: `sha256:${String(i % 10).repeat(64)}` });
      }
      expect(await next.acquireLock({ shard: { index: 0, count: 2 } })).not.toBeNull();
      await next.close();
    });
  });
});

describe("state on PostgreSQL with a password", () => {
  const password = "pg-Secret-9f3b1c";
  let server: RunningPostgres;
  let url: string;
  beforeAll(async () => {
    server = await startPostgres({ password });
    url = await server.createDatabase();
  }, 60_000);
  afterAll(() => server.stop());

  it("takes the password from PGPASSWORD, or from the file PGPASSWORD_FILE names (without its final newline)", async () => {
    const viaEnv = await open(url, { PGPASSWORD: password });
    const run = await viaEnv.startRun("cli");
    await viaEnv.close();
    const file = join(mkdtempSync(join(tmpdir(), "basewarm-pw-")), "password");
    writeFileSync(file, `${password}\n`);
    const viaFile = await open(url, { PGPASSWORD_FILE: file });
    expect((await viaFile.recentRuns(1))[0]?.id).toBe(run);
    await viaFile.close();
  });

  it("refuses a wrong, missing or unreadable password in one line that never shows a password", async () => {
    const wrong = await stateErrorOf(() => open(url, { PGPASSWORD: "not-the-Secret-77" }));
    expect(wrong.message).toBe(`state database ${url}: cannot prepare it: password authentication failed for user "postgres"; check the user in the URL and the password in PGPASSWORD or PGPASSWORD_FILE`);
    const missing = await stateErrorOf(() => open(url));
    expect(missing.message).toMatch(new RegExp(`^state database .*: cannot prepare it: the server asks for a password and none is set`));
    const gone = join(tmpdir(), "basewarm-no-such-password-file");
    // The operator's setup, not the database: exit 2, like a missing config file.
    expect((await errorWithCode("FILE_NOT_FOUND", () => open(url, { PGPASSWORD_FILE: gone }))).message).toBe(
      `state database ${url}: cannot read the password file PGPASSWORD_FILE=${gone}: it does not exist; mount the secret there or fix the variable`,
    );
    const empty = join(mkdtempSync(join(tmpdir(), "basewarm-pw-")), "password");
    writeFileSync(empty, "\n");
    expect((await errorWithCode("CONFIG_INVALID", () => open(url, { PGPASSWORD_FILE: empty }))).message).toBe(
      `state database ${url}: the password file PGPASSWORD_FILE=${empty} is empty; put the password in it`,
    );
    for (const err of [wrong, missing]) {
      expect(err.message).not.toContain(password);
      expect(err.message).not.toContain("not-the-Secret-77");
      expect(err.message).not.toContain("\n");
    }
  });
});
