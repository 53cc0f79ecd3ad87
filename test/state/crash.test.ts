import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteStateStore as StateStore } from "../../src/state/index.js";
import { Child, bundleForChildren, dumpTable, tempStatePath } from "./helpers.js";
import { WORKLOAD_MEDIA_TYPE, workloadClock, workloadContext, workloadDigest, workloadRef, workloadStep } from "./workload.js";
import { seededRandom } from "../../testkit/random.js";

const TABLES = ["runs", "resolutions", "images", "blob_locations", "builds"] as const;
/** Who wrote a row differs between the crashed child and the replay; what was written must not. */
const OWNER_COLUMNS = ["pid", "hostname", "lock_token"];

type Dump = Record<(typeof TABLES)[number], Record<string, unknown>[]>;

function dump(path: string): Dump {
  return Object.fromEntries(TABLES.map((t) => [t, dumpTable(path, t, OWNER_COLUMNS)])) as Dump;
}

/** What a file holds after the first `steps` steps of the workload, replayed in this process. */
async function replay(steps: number): Promise<Dump> {
  const path = tempStatePath();
  const ctx = workloadContext();
  const state = StateStore.open({ path, now: workloadClock(ctx) });
  for (let i = 0; i < steps; i++) await workloadStep(state, i, ctx);
  await state.close();
  return dump(path);
}

/** The replay as the next process must leave it: a run still running in it was abandoned at `at`. */
function afterCrash(expected: Dump, at: string): Dump {
  return { ...expected, runs: expected.runs.map((r) => (r["outcome"] === "running" ? { ...r, outcome: "abandoned", ended_at: at } : r)) };
}

describe("state after a SIGKILL", () => {
  let bundle: { file: string; cleanup: () => void };
  beforeAll(async () => {
    bundle = await bundleForChildren();
  });
  afterAll(() => bundle.cleanup());

  it.each([11, 23, 37, 41])("holds exactly the committed records and lets the next run finish (seed %i)", async (seed) => {
    // Past the first run's resolution, then a seeded delay: the kill lands on a random step, at a
    // random moment within it (statement, commit, fsync or acknowledgement).
    const delayMs = Math.floor(seededRandom(seed)() * 150);
    const path = tempStatePath();
    const acks = `${path}.acks`;
    // The child acknowledges each step after it committed, by a write(2) to a plain file that returns
    // before the next step begins, so the acknowledgements never lag the commits. Not stdout: Node
    // queues writes to a pipe the reader has not drained (on Node 24 the acknowledgements lagged by
    // hundreds of steps), so stdout only tells the test that the child is under way.
    const child = new Child(bundle.file, `
      const { openSync, writeSync } = await import("node:fs");
      const acks = openSync(${JSON.stringify(acks)}, "a");
      const ctx = state.workloadContext();
      const s = state.SqliteStateStore.open({ path: ${JSON.stringify(path)}, now: state.workloadClock(ctx) });
      if (!(await s.acquireLock())) throw new Error("no lock");
      for (let i = 0; i < 100000; i++) {
        await state.workloadStep(s, i, ctx);
        writeSync(acks, i + "\\n");
        process.stdout.write(i + "\\n");
      }
    `);
    try {
      await child.waitFor((line) => Number(line) >= 8, 15_000);
      await new Promise((res) => setTimeout(res, delayMs));
    } finally {
      await child.kill();
    }
    const acked = Math.max(...readFileSync(acks, "utf8").split("\n").filter((l) => /^\d+$/.test(l)).map(Number));
    expect(child.process.signalCode).toBe("SIGKILL");
    expect(acked).toBeGreaterThanOrEqual(8);

    // The next process's clock is just after the child's last step, so the child's lock heartbeat
    // looks fresh: only the dead pid lets the lock be taken over.
    const ctx = workloadContext();
    ctx.tick = acked + 3;
    const clock = workloadClock(ctx);
    const restartedAt = clock().toISOString();
    const state = StateStore.open({ path, now: clock });
    expect(await state.integrityCheck()).toBe("ok");
    // Every acknowledged step is there; the step in flight is either wholly there or wholly absent.
    expect([afterCrash(await replay(acked + 1), restartedAt), afterCrash(await replay(acked + 2), restartedAt)]).toContainEqual(dump(path));

    // The next run takes the dead child's lock and carries on from what was committed.
    const lock = await state.acquireLock();
    expect(lock).not.toBeNull();
    const run = await state.startRun("schedule");
    const before = await state.lastResolution(workloadRef(0));
    expect(before).toBeDefined();
    const next = workloadDigest(0, 10_000);
    expect(await state.recordResolution(run, workloadRef(0), next, WORKLOAD_MEDIA_TYPE)).toEqual({ changed: true, previous: before!.digest });
    await state.finishRun(run, "ok", { resumed: true });
    await lock!.release();
    expect((await state.recentRuns(1))[0]).toMatchObject({ id: run, outcome: "ok" });
    expect((await state.recentRuns(1000)).filter((r) => r.outcome === "running")).toEqual([]);
    expect(await state.integrityCheck()).toBe("ok");
    await state.close();
  });
});
