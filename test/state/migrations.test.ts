import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { SqliteStateStore as StateStore } from "../../src/state/index.js";
import { MIGRATIONS, applyMigrations } from "../../src/state/migrations.js";
import { bundleForChildren, errorWithCode, stateErrorOf, tempStatePath } from "./helpers.js";

/** Where the state file should be is the config's doing: CONFIG_INVALID, exit 2. */
const configErrorOf = (fn: () => unknown) => errorWithCode("CONFIG_INVALID", fn);

function userVersion(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma("user_version", { simple: true }) as number;
  } finally {
    db.close();
  }
}

function tables(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  } finally {
    db.close();
  }
}

describe("state migrations", () => {
  it("creates every table on a new file, in WAL mode, at the latest version", async () => {
    const path = tempStatePath();
    const state = StateStore.open({ path });
    await state.close();
    expect(userVersion(path)).toBe(MIGRATIONS.length);
    expect(tables(path)).toEqual(["blob_locations", "builds", "images", "lock", "resolutions", "runs"]);
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    raw.close();
  });

  it("reopens idempotently and keeps what was recorded", async () => {
    const path = tempStatePath();
    const first = StateStore.open({ path });
    const run = await first.startRun("cli");
    await first.finishRun(run, "ok", { n: 1 });
    await first.close();
    for (let i = 0; i < 3; i++) {
      const again = StateStore.open({ path });
      expect(await again.recentRuns(5)).toMatchObject([{ id: run, outcome: "ok", summary: { n: 1 } }]);
      expect(await again.integrityCheck()).toBe("ok");
      await again.close();
    }
    expect(userVersion(path)).toBe(MIGRATIONS.length);
  });

  it("upgrades a version-1 file in place, keeping its records; its ownerless running runs are abandoned only when the lock changes hands", async () => {
    const path = tempStatePath();
    const raw = new Database(path);
    raw.exec(MIGRATIONS[0]!);
    raw.pragma("user_version = 1");
    raw.prepare("INSERT INTO runs (started_at, trigger, outcome) VALUES ('2026-01-01T00:00:00.000Z', 'schedule', 'running')").run();
    raw.prepare("INSERT INTO resolutions (ref, digest, media_type, first_seen, last_seen, runs) VALUES ('docker.io/library/a:1', 'sha256:aa', 'm', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 1)").run();
    raw.close();

    const state = StateStore.open({ path });
    expect(userVersion(path)).toBe(MIGRATIONS.length);
    expect(await state.history()).toEqual([{ ref: "docker.io/library/a:1", digest: "sha256:aa", firstSeen: "2026-01-01T00:00:00.000Z", lastSeen: "2026-01-01T00:00:00.000Z", runs: 1 }]);
    expect((await state.recentRuns(1))[0]?.outcome).toBe("running");
    expect(await state.acquireLock()).not.toBeNull();
    expect((await state.recentRuns(1))[0]?.outcome).toBe("abandoned");
    await state.close();
  });

  it("upgrades a version-2 file holding the lock: the holder keeps it, as a full run's lock that every shard must wait for", async () => {
    const path = tempStatePath();
    const raw = new Database(path);
    raw.exec(MIGRATIONS[0]!);
    raw.exec(MIGRATIONS[1]!);
    raw.pragma("user_version = 2");
    const at = new Date().toISOString();
    raw.prepare("INSERT INTO lock (id, pid, hostname, token, acquired_at, heartbeat_at) VALUES (1, ?, ?, 't-old', ?, ?)").run(process.pid, hostname(), at, at);
    raw.prepare("INSERT INTO runs (started_at, trigger, outcome, pid, hostname, lock_token) VALUES (?, 'schedule', 'running', ?, ?, 't-old')").run(at, process.pid, hostname());
    raw.close();

    const state = StateStore.open({ path });
    expect(userVersion(path)).toBe(MIGRATIONS.length);
    expect(await state.acquireLock({ shard: { index: 0, count: 2 } })).toBeNull();
    expect(await state.recentRuns(1)).toMatchObject([{ outcome: "running", shard: null }]);
    await state.close();
  });

  it("applies all steps in one transaction: a failing step leaves the file at its old version", async () => {
    const path = tempStatePath();
    const db = new Database(path);
    const broken = [MIGRATIONS[0]!, "CREATE TABLE half_done (x INTEGER); SELECT no_such_column FROM runs;"];
    expect(() => applyMigrations(db, path, broken)).toThrow(/no_such_column/);
    expect(db.pragma("user_version", { simple: true })).toBe(0);
    expect(db.prepare("SELECT COUNT(*) AS n FROM sqlite_master").get()).toEqual({ n: 0 });
    applyMigrations(db, path, [MIGRATIONS[0]!]);
    expect(db.pragma("user_version", { simple: true })).toBe(1);
    db.close();
  });

  it("refuses a file written by a newer basewarm, in one line naming the file and what to do, and leaves it alone", async () => {
    const path = tempStatePath();
    await StateStore.open({ path }).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${MIGRATIONS.length + 7}`);
    raw.close();
    const err = await stateErrorOf(() => StateStore.open({ path }));
    expect(err.message).toBe(
      `state file ${path} has schema version ${MIGRATIONS.length + 7}, newer than this basewarm understands (${MIGRATIONS.length}); upgrade basewarm or point state: at another file`,
    );
    expect(userVersion(path)).toBe(MIGRATIONS.length + 7);
  });

  it("refuses a missing directory instead of creating it", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "basewarm-state-")), "missing");
    const err = await configErrorOf(() => StateStore.open({ path: join(dir, "state.db") }));
    expect(err.message).toBe(`state directory ${dir} does not exist; create it or point state: at a file in an existing directory`);
  });

  it("says permission denied, not missing, when the directory cannot be searched", async () => {
    const bundle = await bundleForChildren();
    const parent = mkdtempSync(join(tmpdir(), "basewarm-state-"));
    const dir = join(parent, "sub");
    mkdirSync(dir);
    chmodSync(parent, 0o700);
    try {
      // Root searches every directory through its DAC capabilities: the child runs as root without
      // them (setpriv, util-linux), so the mode bits hold for it as for any user. Running as another
      // user instead would also need read access to this checkout's node_modules, which a CI clone
      // in a private (0700) folder does not give.
      chmodSync(parent, 0o000);
      const script = `const state = await import(${JSON.stringify(bundle.file)});
        try { state.SqliteStateStore.open({ path: ${JSON.stringify(join(dir, "state.db"))} }); console.log("opened"); }
        catch (err) { console.log(err.code + " " + err.message); }`;
      const node = [process.execPath, "--input-type=module", "-e", script];
      const [program, ...args] = process.getuid?.() === 0 ? ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", ...node] : node;
      const child = spawnSync(program!, args, { encoding: "utf8" });
      expect(child.stdout.trim()).toBe(
        `CONFIG_INVALID state directory ${dir} cannot be reached: permission denied (EACCES); let this user search and write it, or point state: elsewhere`,
      );
    } finally {
      chmodSync(parent, 0o700);
      bundle.cleanup();
    }
  });

  it("refuses a directory that is a file", async () => {
    const parent = mkdtempSync(join(tmpdir(), "basewarm-state-"));
    writeFileSync(join(parent, "plain"), "x");
    const err = await configErrorOf(() => StateStore.open({ path: join(parent, "plain", "state.db") }));
    expect(err.message).toMatch(/^state directory .*plain does not exist/);
  });

  it("refuses a path that is a directory, naming it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "basewarm-state-"));
    const err = await configErrorOf(() => StateStore.open({ path: dir }));
    expect(err.message).toBe(`state file ${dir} is a directory; point state: at a file, e.g. ${join(dir, "basewarm.db")}`);
    expect(err.message).not.toContain("\n");
  });

  it("refuses a file that is not a SQLite database and does not overwrite it", async () => {
    const path = tempStatePath();
    const garbage = "this is not a database, it is someone's notes\n".repeat(200);
    writeFileSync(path, garbage);
    const err = await configErrorOf(() => StateStore.open({ path }));
    expect(err.message).toBe(`state file ${path} is not a SQLite database; move it away or point state: at another file`);
    expect(readFileSync(path, "utf8")).toBe(garbage);
  });
});
