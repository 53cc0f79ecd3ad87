import { spawnSync } from "node:child_process";
import Database from "better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LOCK_STALE_MS, StateStore } from "../../src/state/index.js";
import { Child, bundleForChildren, dumpTable, stateErrorOf, tempStatePath } from "./helpers.js";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const MINUTE = 60_000;

/** Two stores on one file, as two processes would have, sharing a clock the test moves. */
function pair(): { a: StateStore; b: StateStore; path: string; advance: (ms: number) => void } {
  let clock = T0;
  const path = tempStatePath();
  const now = (): Date => new Date(clock);
  return { a: StateStore.open({ path, now }), b: StateStore.open({ path, now }), path, advance: (ms) => (clock += ms) };
}

function outcomeOf(state: StateStore, id: number): string | undefined {
  return state.recentRuns(100).find((r) => r.id === id)?.outcome;
}

/** A pid that certainly names no process now: one that just exited. */
function deadPid(): number {
  return spawnSync("true").pid!;
}

describe("state lock, in one process", () => {
  it("lets one holder at a time have it, and frees it on release", () => {
    const { a, b, path } = pair();
    const lock = a.acquireLock();
    expect(lock).not.toBeNull();
    expect(b.acquireLock()).toBeNull();
    expect(a.acquireLock()).toBeNull(); // not re-entrant either
    expect(dumpTable(path, "lock")).toMatchObject([{ id: 1, pid: process.pid, token: lock!.token, acquired_at: new Date(T0).toISOString() }]);
    lock!.release();
    lock!.release();
    expect(dumpTable(path, "lock")).toEqual([]);
    const second = b.acquireLock();
    expect(second).not.toBeNull();
    expect(second!.token).not.toBe(lock!.token);
    a.close();
    b.close();
  });

  it("takes over a holder whose heartbeat is older than the staleness, abandoning only the runs tied to that lock", () => {
    const { a, b, advance } = pair();
    const lock = a.acquireLock();
    const tied = a.startRun("schedule");
    const lockless = b.startRun("mirror"); // a live on-demand mirror in this (live) process
    advance(5 * MINUTE);
    expect(lock!.heartbeat()).toBe(true);
    advance(DEFAULT_LOCK_STALE_MS);
    expect(b.acquireLock()).toBeNull(); // exactly the staleness: still live
    expect(outcomeOf(b, tied)).toBe("running");
    advance(1);
    const taken = b.acquireLock();
    expect(taken).not.toBeNull();
    expect(outcomeOf(b, tied)).toBe("abandoned");
    expect(outcomeOf(b, lockless)).toBe("running");
    // The old holder learns it lost the lock, and its release cannot free the new holder's lock.
    expect(lock!.heartbeat()).toBe(false);
    lock!.release();
    expect(a.acquireLock()).toBeNull();
    // If the old holder still finishes, its own account of the run wins over the guess.
    a.finishRun(tied, "ok", {});
    expect(outcomeOf(b, tied)).toBe("ok");
    taken!.release();
    expect(a.acquireLock()).not.toBeNull();
    a.close();
    b.close();
  });

  it("honours a configured staleness and refuses a nonsensical one", () => {
    const { a, b, advance } = pair();
    a.acquireLock();
    advance(30_000);
    expect(b.acquireLock({ staleAfterMs: 60_000 })).toBeNull();
    expect(b.acquireLock({ staleAfterMs: 29_000 })).not.toBeNull();
    expect(stateErrorOf(() => b.acquireLock({ staleAfterMs: 0 })).message).toMatch(/lock staleness 0 ms must be a positive number/);
    expect(stateErrorOf(() => b.acquireLock({ staleAfterMs: Number.NaN })).message).toMatch(/lock staleness NaN ms/);
    a.close();
    b.close();
  });

  it("takes over at once from a dead pid on this host, but waits for staleness when the holder is on another host", () => {
    const { a, b, path, advance } = pair();
    a.acquireLock();
    a.close(); // closing releases what it held
    expect(dumpTable(path, "lock")).toEqual([]);

    const raw = new Database(path);
    const holder = raw.prepare("INSERT OR REPLACE INTO lock (id, pid, hostname, token, acquired_at, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?)");
    holder.run(deadPid(), "elsewhere.example", "t-remote", new Date(T0).toISOString(), new Date(T0).toISOString());
    expect(b.acquireLock()).toBeNull(); // a pid on another host tells us nothing
    advance(DEFAULT_LOCK_STALE_MS + 1);
    expect(b.acquireLock()).not.toBeNull();

    const now = new Date(T0 + DEFAULT_LOCK_STALE_MS + 1).toISOString();
    holder.run(deadPid(), (dumpTable(path, "lock")[0] as { hostname: string }).hostname, "t-dead", now, now);
    raw.close();
    const c = StateStore.open({ path, now: () => new Date(now) });
    expect(c.acquireLock()).not.toBeNull(); // fresh heartbeat, but the holder is gone
    c.close();
    b.close();
  });
});

describe("state lock, across processes", () => {
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

  it("abandons the runs of a SIGKILLed holder at the next open and takes its lock, leaving a live lockless run alone", async () => {
    const path = tempStatePath();
    const holder = start(`
      const s = state.StateStore.open({ path: ${JSON.stringify(path)} });
      if (!s.acquireLock()) throw new Error("no lock");
      console.log("run " + s.startRun("schedule"));
      setInterval(() => {}, 1000);
    `);
    const mirror = start(`
      const s = state.StateStore.open({ path: ${JSON.stringify(path)} });
      console.log("run " + s.startRun("mirror"));
      setInterval(() => {}, 1000);
    `);
    const held = Number((await holder.waitFor((l) => l.startsWith("run "))).slice(4));
    const lockless = Number((await mirror.waitFor((l) => l.startsWith("run "))).slice(4));

    const watcher = StateStore.open({ path });
    expect(watcher.acquireLock()).toBeNull();
    expect([outcomeOf(watcher, held), outcomeOf(watcher, lockless)]).toEqual(["running", "running"]);
    watcher.close();

    await holder.kill();
    const next = StateStore.open({ path });
    expect(outcomeOf(next, held)).toBe("abandoned"); // at open, before anyone takes the lock
    expect(outcomeOf(next, lockless)).toBe("running");
    const lock = next.acquireLock();
    expect(lock).not.toBeNull();
    expect(outcomeOf(next, lockless)).toBe("running");
    next.close();

    await mirror.kill();
    const last = StateStore.open({ path });
    expect(outcomeOf(last, lockless)).toBe("abandoned");
    expect(last.recentRuns(10).every((r) => r.endedAt !== null)).toBe(true);
    expect(last.integrityCheck()).toBe("ok");
    last.close();
  });

  it("lets several processes create the same new file at once, then gives the lock to exactly one of them", async () => {
    const path = tempStatePath();
    // Each child waits for "open", then for "go", so both the creation and the lock are contended.
    const racers = Array.from({ length: 4 }, () => start(`
      const { createInterface } = await import("node:readline");
      let s;
      createInterface({ input: process.stdin }).on("line", (line) => {
        if (line === "open") {
          s = state.StateStore.open({ path: ${JSON.stringify(path)} });
          console.log("ready");
        } else {
          console.log(s.acquireLock() ? "won" : "lost");
        }
      });
      console.log("spawned");
      setInterval(() => {}, 1000);
    `));
    await Promise.all(racers.map((r) => r.waitFor((l) => l === "spawned")));
    for (const r of racers) r.send("open");
    await Promise.all(racers.map((r) => r.waitFor((l) => l === "ready")));
    for (const r of racers) r.send("go");
    const results = await Promise.all(racers.map((r) => r.waitFor((l) => l === "won" || l === "lost")));
    expect(results.filter((r) => r === "won")).toHaveLength(1);
    const winner = racers[results.indexOf("won")]!;
    expect(dumpTable(path, "lock")).toMatchObject([{ pid: winner.pid }]);
    const state = StateStore.open({ path });
    expect(state.integrityCheck()).toBe("ok");
    state.close();
  });
});
