import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LOCK_STALE_MS, type StateStore } from "../../src/state/index.js";
import { BACKENDS } from "./backends.js";
import { Child, bundleForChildren, stateErrorOf } from "./helpers.js";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const MINUTE = 60_000;

async function outcomeOf(state: StateStore, id: number): Promise<string | undefined> {
  return (await state.recentRuns(100)).find((r) => r.id === id)?.outcome;
}

/** A pid that certainly names no process now: one that just exited. */
function deadPid(): number {
  return spawnSync("true").pid!;
}

describe.each(BACKENDS)("state lock ($name)", (backend) => {
  beforeAll(() => backend.setup(), 60_000);
  afterAll(() => backend.teardown());

  /** Two stores on one state, as two processes would have, sharing a clock the test moves. */
  async function pair(): Promise<{ a: StateStore; b: StateStore; open: () => Promise<StateStore>; fresh: Awaited<ReturnType<typeof backend.fresh>>; advance: (ms: number) => void }> {
    let clock = T0;
    const fresh = await backend.fresh();
    const now = (): Date => new Date(clock);
    const open = (): Promise<StateStore> => fresh.open(now);
    return { a: await open(), b: await open(), open, fresh, advance: (ms) => (clock += ms) };
  }

  describe("in one process", () => {
    it("lets one holder at a time have it, and frees it on release", async () => {
      const { a, b, fresh } = await pair();
      const lock = await a.acquireLock();
      expect(lock).not.toBeNull();
      expect(lock!.shard).toBeNull();
      expect(await b.acquireLock()).toBeNull();
      expect(await a.acquireLock()).toBeNull(); // not re-entrant either
      expect(await fresh.lockRows()).toMatchObject([{ pid: process.pid, token: lock!.token, shard_index: null, shard_count: null }]);
      await lock!.release();
      await lock!.release();
      expect(await fresh.lockRows()).toEqual([]);
      const second = await b.acquireLock();
      expect(second).not.toBeNull();
      expect(second!.token).not.toBe(lock!.token);
      await a.close();
      await b.close();
    });

    it("takes over a holder whose heartbeat is older than the staleness, abandoning only the runs tied to that lock", async () => {
      const { a, b, advance } = await pair();
      const lock = await a.acquireLock();
      const tied = await a.startRun("schedule");
      const lockless = await b.startRun("mirror"); // a live on-demand mirror in this (live) process
      advance(5 * MINUTE);
      expect(await lock!.heartbeat()).toBe(true);
      advance(DEFAULT_LOCK_STALE_MS);
      expect(await b.acquireLock()).toBeNull(); // exactly the staleness: still live
      expect(await outcomeOf(b, tied)).toBe("running");
      advance(1);
      const taken = await b.acquireLock();
      expect(taken).not.toBeNull();
      expect(await outcomeOf(b, tied)).toBe("abandoned");
      expect(await outcomeOf(b, lockless)).toBe("running");
      // The old holder learns it lost the lock, and its release cannot free the new holder's lock.
      expect(await lock!.heartbeat()).toBe(false);
      await lock!.release();
      expect(await a.acquireLock()).toBeNull();
      // If the old holder still finishes, its own account of the run wins over the guess.
      await a.finishRun(tied, "ok", {});
      expect(await outcomeOf(b, tied)).toBe("ok");
      await taken!.release();
      expect(await a.acquireLock()).not.toBeNull();
      await a.close();
      await b.close();
    });

    it("honours a configured staleness and refuses a nonsensical one or a nonsensical shard", async () => {
      const { a, b, advance } = await pair();
      await a.acquireLock();
      advance(30_000);
      expect(await b.acquireLock({ staleAfterMs: 60_000 })).toBeNull();
      expect(await b.acquireLock({ staleAfterMs: 29_000 })).not.toBeNull();
      expect((await stateErrorOf(() => b.acquireLock({ staleAfterMs: 0 }))).message).toMatch(/lock staleness 0 ms must be a positive number/);
      expect((await stateErrorOf(() => b.acquireLock({ staleAfterMs: Number.NaN }))).message).toMatch(/lock staleness NaN ms/);
      for (const shard of [{ index: 4, count: 4 }, { index: -1, count: 4 }, { index: 0, count: 0 }, { index: 0.5, count: 2 }]) {
        expect((await stateErrorOf(() => b.acquireLock({ shard }))).message).toMatch(new RegExp(`shard ${shard.index}/${shard.count} is not INDEX/COUNT`));
      }
      await a.close();
      await b.close();
    });

    it("takes over at once from a dead pid on this host, but waits for staleness when the holder is on another host", async () => {
      const { a, b, fresh, advance } = await pair();
      await a.acquireLock();
      await a.close(); // closing releases what it held
      expect(await fresh.lockRows()).toEqual([]);

      await fresh.insertLock({ pid: deadPid(), hostname: "elsewhere.example", token: "t-remote", at: new Date(T0).toISOString() });
      expect(await b.acquireLock()).toBeNull(); // a pid on another host tells us nothing
      advance(DEFAULT_LOCK_STALE_MS + 1);
      const taken = await b.acquireLock();
      expect(taken).not.toBeNull();
      expect((await fresh.lockRows()).map((r) => r["token"])).toEqual([taken!.token]);
      await taken!.release();

      const now = new Date(T0 + DEFAULT_LOCK_STALE_MS + 1).toISOString();
      await fresh.insertLock({ pid: deadPid(), hostname: hostname(), token: "t-dead", at: now });
      const c = await fresh.open(() => new Date(now));
      expect(await c.acquireLock()).not.toBeNull(); // fresh heartbeat, but the holder is gone
      await c.close();
      await b.close();
    });
  });

  describe("per shard", () => {
    it("runs distinct shards of one partition side by side, never one shard twice, and a full run against none of them", async () => {
      const { a, b, open } = await pair();
      const c = await open();
      const s0 = await a.acquireLock({ shard: { index: 0, count: 4 } });
      const s1 = await b.acquireLock({ shard: { index: 1, count: 4 } });
      expect(s0?.shard).toEqual({ index: 0, count: 4 });
      expect(s1?.shard).toEqual({ index: 1, count: 4 });
      expect(await c.acquireLock({ shard: { index: 0, count: 4 } })).toBeNull(); // the same shard
      expect(await c.acquireLock()).toBeNull(); // a full run covers every shard
      // Another partition overlaps this one: 0/2 holds entries of 0/4 and 2/4, 1/2 of 1/4 and 3/4.
      expect(await c.acquireLock({ shard: { index: 1, count: 2 } })).toBeNull();
      expect(await c.acquireLock({ shard: { index: 3, count: 8 } })).toBeNull();
      const s2 = await c.acquireLock({ shard: { index: 2, count: 4 } });
      expect(s2).not.toBeNull();
      await s0!.release();
      await s1!.release();
      expect(await a.acquireLock()).toBeNull(); // 2/4 still runs
      await s2!.release();
      const full = await a.acquireLock();
      expect(full).not.toBeNull();
      expect(await b.acquireLock({ shard: { index: 3, count: 4 } })).toBeNull(); // a running full run blocks every shard
      await full!.release();
      expect(await b.acquireLock({ shard: { index: 1, count: 2 } })).not.toBeNull();
      for (const s of [a, b, c]) await s.close();
    });

    it("records each run's shard, and a stale shard's takeover abandons only that shard's runs", async () => {
      const { a, b, open, advance } = await pair();
      const c = await open();
      await a.acquireLock({ shard: { index: 0, count: 2 } });
      const runA = await a.startRun("schedule");
      const lockB = await b.acquireLock({ shard: { index: 1, count: 2 } });
      const runB = await b.startRun("schedule");
      const mirror = await c.startRun("mirror");
      expect((await c.recentRuns(3)).map((r) => [r.id, r.shard])).toEqual([[mirror, null], [runB, { index: 1, count: 2 }], [runA, { index: 0, count: 2 }]]);

      advance(DEFAULT_LOCK_STALE_MS + 1);
      expect(await lockB!.heartbeat()).toBe(true); // shard 1 stays live; shard 0 went quiet
      const retaken = await c.acquireLock({ shard: { index: 0, count: 2 } });
      expect(retaken).not.toBeNull();
      expect(await outcomeOf(c, runA)).toBe("abandoned");
      expect(await outcomeOf(c, runB)).toBe("running");
      expect(await outcomeOf(c, mirror)).toBe("running");
      const runC = await c.startRun("manual");
      expect((await c.recentRuns(1))[0]).toMatchObject({ id: runC, shard: { index: 0, count: 2 }, outcome: "running" });
      for (const s of [a, b, c]) await s.close();
    });

    it("lets a full run take over every stale shard at once, or none while one of them lives", async () => {
      const { a, b, open, advance } = await pair();
      const c = await open();
      await a.acquireLock({ shard: { index: 0, count: 2 } });
      const lockB = await b.acquireLock({ shard: { index: 1, count: 2 } });
      const runA = await a.startRun("schedule");
      const runB = await b.startRun("schedule");
      advance(DEFAULT_LOCK_STALE_MS + 1);
      await lockB!.heartbeat();
      expect(await c.acquireLock()).toBeNull();
      expect(await outcomeOf(c, runA)).toBe("running"); // a refused take changes nothing
      advance(DEFAULT_LOCK_STALE_MS + 1);
      const full = await c.acquireLock();
      expect(full).not.toBeNull();
      expect([await outcomeOf(c, runA), await outcomeOf(c, runB)]).toEqual(["abandoned", "abandoned"]);
      expect(await lockB!.heartbeat()).toBe(false);
      for (const s of [a, b, c]) await s.close();
    });
  });

  describe("across processes", () => {
    let bundle: { file: string; cleanup: () => void };
    const children: Child[] = [];
    beforeAll(async () => {
      bundle = await bundleForChildren();
    });
    afterAll(() => bundle.cleanup());
    afterEach(async () => {
      await Promise.all(children.splice(0).map((c) => c.kill()));
    });
    const start = (body: string): Child => {
      const child = new Child(bundle.file, body);
      children.push(child);
      return child;
    };
    const openIn = (setting: string): string => `await state.openStateStore(${JSON.stringify(setting)}, { baseDir: "/", env: {} })`;

    it("abandons the runs of a SIGKILLed holder at the next open and takes its lock, leaving a live lockless run alone", async () => {
      const fresh = await backend.fresh();
      const holder = start(`
        const s = ${openIn(fresh.setting)};
        if (!(await s.acquireLock({ shard: { index: 1, count: 3 } }))) throw new Error("no lock");
        console.log("run " + await s.startRun("schedule"));
        setInterval(() => {}, 1000);
      `);
      const mirror = start(`
        const s = ${openIn(fresh.setting)};
        console.log("run " + await s.startRun("mirror"));
        setInterval(() => {}, 1000);
      `);
      const held = Number((await holder.waitFor((l) => l.startsWith("run "))).slice(4));
      const lockless = Number((await mirror.waitFor((l) => l.startsWith("run "))).slice(4));

      const watcher = await fresh.open();
      expect(await watcher.acquireLock({ shard: { index: 1, count: 3 } })).toBeNull();
      expect([await outcomeOf(watcher, held), await outcomeOf(watcher, lockless)]).toEqual(["running", "running"]);
      await watcher.close();

      await holder.kill();
      const next = await fresh.open();
      expect(await outcomeOf(next, held)).toBe("abandoned"); // at open, before anyone takes the lock
      expect(await outcomeOf(next, lockless)).toBe("running");
      const lock = await next.acquireLock({ shard: { index: 1, count: 3 } });
      expect(lock).not.toBeNull();
      expect(await outcomeOf(next, lockless)).toBe("running");
      await next.close();

      await mirror.kill();
      const last = await fresh.open();
      expect(await outcomeOf(last, lockless)).toBe("abandoned");
      expect((await last.recentRuns(10)).every((r) => r.endedAt !== null)).toBe(true);
      await last.close();
    });

    it("lets several processes create the same new state at once, then gives the lock to exactly one of them", async () => {
      const fresh = await backend.fresh();
      // Each child waits for "open", then for "go", so both the creation and the lock are contended.
      const racers = Array.from({ length: 4 }, () => start(`
        const { createInterface } = await import("node:readline");
        let s;
        createInterface({ input: process.stdin }).on("line", async (line) => {
          if (line === "open") {
            s = ${openIn(fresh.setting)};
            console.log("ready");
          } else {
            console.log((await s.acquireLock()) ? "won" : "lost");
          }
        });
        console.log("spawned");
        setInterval(() => {}, 1000);
      `));
      await Promise.all(racers.map((r) => r.waitFor((l) => l === "spawned")));
      for (const r of racers) r.send("open");
      await Promise.all(racers.map((r) => r.waitFor((l) => l === "ready", 20_000)));
      for (const r of racers) r.send("go");
      const results = await Promise.all(racers.map((r) => r.waitFor((l) => l === "won" || l === "lost")));
      expect(results.filter((r) => r === "won")).toHaveLength(1);
      const winner = racers[results.indexOf("won")]!;
      expect(await fresh.lockRows()).toMatchObject([{ pid: winner.pid }]);
    });

    it("lets four shard processes write at once, each under its own lock, losing no record", async () => {
      const fresh = await backend.fresh();
      const perShard = 40;
      const shards = Array.from({ length: 4 }, (_, index) => start(`
        const s = ${openIn(fresh.setting)};
        const lock = await s.acquireLock({ shard: { index: ${index}, count: 4 } });
        if (!lock) throw new Error("no lock for shard ${index}");
        const run = await s.startRun("schedule");
        // Parallel within the process too, as a run's copies are.
        await Promise.all(Array.from({ length: ${perShard} }, async (_, i) => {
          // Each shard owns its references (as shardCatalog deals them); within a run the same
          // reference is resolved four times at once.
          const ref = "docker.io/library/img${index}-" + (i % 10) + ":1";
          await s.recordResolution(run, ref, "sha256:" + String(i % 10).repeat(64), "m");
          await s.recordImage(run, { source: "s${index}/" + i, target: "t", digest: null, bytes: i, status: "copied" });
        }));
        await s.finishRun(run, "ok", { shard: ${index} });
        await lock.release();
        await s.close();
        console.log("done");
      `));
      await Promise.all(shards.map((c) => c.waitFor((l) => l === "done", 60_000)));
      const state = await fresh.open();
      const runs = await state.recentRuns(10);
      expect(runs.map((r) => [r.outcome, r.shard?.count]).sort()).toEqual(Array.from({ length: 4 }, () => ["ok", 4]));
      expect(runs.map((r) => r.shard?.index).sort()).toEqual([0, 1, 2, 3]);
      // Same digest every time: one period per reference, seen by its one run, none doubled by a race.
      const history = await state.history();
      expect(history).toHaveLength(40);
      expect(history.map((h) => h.runs)).toEqual(Array.from({ length: 40 }, () => 1));
      expect(await fresh.lockRows()).toEqual([]);
      await state.close();
    });
  });
});
