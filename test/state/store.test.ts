import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { isBasewarmError } from "../../src/errors.js";
import { StateStore } from "../../src/state/index.js";

function tempPath(): string {
  return join(mkdtempSync(join(tmpdir(), "basewarm-state-")), "state.db");
}

const DIST_STATE = resolve("dist/src/state/index.js");

describe("state store", () => {
  it("migrates a new file, reopens idempotently and refuses a newer schema", () => {
    const path = tempPath();
    StateStore.open({ path }).close();
    const again = StateStore.open({ path });
    expect(again.integrityCheck()).toBe("ok");
    again.close();
    const raw = new Database(path);
    raw.pragma("user_version = 99");
    raw.close();
    expect(() => StateStore.open({ path })).toThrow(/schema version 99, newer than this basewarm/);
    expect(() => StateStore.open({ path: "/nonexistent-dir/x.db" })).toThrow(/state directory \/nonexistent-dir does not exist/);
  });

  it("records runs, images, builds and the digest history of references", () => {
    let clock = Date.parse("2026-01-01T00:00:00Z");
    const state = StateStore.open({ path: tempPath(), now: () => new Date(clock) });
    const ref = "docker.io/library/alpine:3.20";
    const d1 = `sha256:${"1".repeat(64)}`;
    const d2 = `sha256:${"2".repeat(64)}`;
    const run1 = state.startRun("manual");
    expect(state.recordResolution(run1, ref, d1, "application/vnd.oci.image.index.v1+json")).toEqual({ changed: true });
    state.recordImage(run1, { source: ref, target: "m/x", digest: d1, bytes: 10, status: "copied" });
    state.recordImage(run1, { source: "docker.io/library/bad:1", target: "m/bad", digest: null, bytes: 0, status: "failed", error: "NOT_FOUND" });
    state.recordBuild(run1, { entry: "api", inputsHash: "h1", builder: "buildah", builderVersion: "1.28", cacheRef: "m/cache/api", durationMs: 5, outcome: "ok", reason: "first build", logTail: "ok", cacheHitRatio: 1 });
    state.recordBuild(run1, { entry: "web", inputsHash: "h2", builder: "buildah", builderVersion: "1.28", cacheRef: "m/cache/web", durationMs: 5, outcome: "failed", reason: "RUN failed", logTail: "boom", cacheHitRatio: null });
    state.finishRun(run1, "partial", { copied: 1 });
    clock += 3600_000;
    const run2 = state.startRun("schedule");
    expect(state.recordResolution(run2, ref, d1, "x")).toEqual({ changed: false });
    clock += 3600_000;
    const run3 = state.startRun("schedule");
    expect(state.recordResolution(run3, ref, d2, "x")).toEqual({ changed: true, previous: d1 });
    state.finishRun(run3, "ok", {});

    expect(state.history(ref)).toEqual([
      { ref, digest: d1, firstSeen: "2026-01-01T00:00:00.000Z", lastSeen: "2026-01-01T01:00:00.000Z", runs: 2 },
      { ref, digest: d2, firstSeen: "2026-01-01T02:00:00.000Z", lastSeen: "2026-01-01T02:00:00.000Z", runs: 1 },
    ]);
    expect(state.lastResolution(ref)?.digest).toBe(d2);
    expect(state.lastGoodBuild("api")?.inputsHash).toBe("h1");
    expect(state.lastGoodBuild("web")).toBeUndefined();
    const failures = state.failuresOfRun(run1);
    expect(failures.images.map((i) => i.source)).toEqual(["docker.io/library/bad:1"]);
    expect(failures.builds.map((b) => b.entry)).toEqual(["web"]);
    expect(state.recentRuns(2).map((r) => [r.id, r.outcome])).toEqual([[run3, "ok"], [run2, "running"]]);
    expect(state.staleRefs(new Date(clock + 1))).toEqual([{ ref, lastResolved: "2026-01-01T02:00:00.000Z" }]);
    expect(state.staleRefs(new Date(clock - 1))).toEqual([]);
    state.close();
  });

  it("lets one holder have the lock, takes over stale locks and marks their runs abandoned", () => {
    let clock = Date.parse("2026-01-01T00:00:00Z");
    const path = tempPath();
    const a = StateStore.open({ path, now: () => new Date(clock) });
    const b = StateStore.open({ path, now: () => new Date(clock) });
    const lock = a.acquireLock();
    expect(lock).not.toBeNull();
    const run = a.startRun("schedule");
    expect(b.acquireLock()).toBeNull();
    clock += 5 * 60_000;
    lock!.heartbeat();
    clock += 9 * 60_000;
    expect(b.acquireLock()).toBeNull(); // heartbeat 9 min ago: still live
    clock += 2 * 60_000;
    const taken = b.acquireLock();
    expect(taken).not.toBeNull();
    expect(b.recentRuns(1)[0]).toMatchObject({ id: run, outcome: "abandoned" });
    lock!.release(); // the old holder's release must not free the new holder's lock
    expect(a.acquireLock()).toBeNull();
    taken!.release();
    expect(a.acquireLock()).not.toBeNull();
    a.close();
    b.close();
  });

  it("takes over a lock whose holder process died", async () => {
    const path = tempPath();
    const child = spawn(process.execPath, ["--input-type=module", "-e", `
      const { StateStore } = await import(${JSON.stringify(DIST_STATE)});
      const s = StateStore.open({ path: ${JSON.stringify(path)} });
      s.acquireLock(); s.startRun("schedule");
      process.stdout.write("locked\\n");
      setInterval(() => {}, 1000);
    `], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((res) => child.stdout.once("data", () => res()));
    const state = StateStore.open({ path });
    expect(state.acquireLock()).toBeNull();
    child.kill("SIGKILL");
    await new Promise((res) => child.once("exit", res));
    expect(state.acquireLock()).not.toBeNull();
    expect(state.recentRuns(1)[0]?.outcome).toBe("abandoned");
    state.close();
  });

  it.each([1, 2, 3])("stays consistent when the writer is SIGKILLed mid-run (seed %i)", async (seed) => {
    const path = tempPath();
    const child = spawn(process.execPath, ["--input-type=module", "-e", `
      const { StateStore } = await import(${JSON.stringify(DIST_STATE)});
      const s = StateStore.open({ path: ${JSON.stringify(path)} });
      s.acquireLock();
      const run = s.startRun("schedule");
      for (let i = 0; ; i++) {
        s.recordResolution(run, "ref-" + (i % 50), "sha256:" + String(i).padStart(64, "0"), "m");
        s.recordImage(run, { source: "s" + i, target: "t" + i, digest: null, bytes: i, status: "copied" });
        if (i === 20) process.stdout.write("going\\n");
        if (i % 100 === 0) await new Promise((r) => setImmediate(r));
      }
    `], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((res) => child.stdout.once("data", () => res()));
    await new Promise((res) => setTimeout(res, 50 + seed * 70));
    child.kill("SIGKILL");
    await new Promise((res) => child.once("exit", res));
    const state = StateStore.open({ path });
    expect(state.integrityCheck()).toBe("ok");
    const lock = state.acquireLock();
    expect(lock).not.toBeNull();
    expect(state.recentRuns(1)[0]?.outcome).toBe("abandoned");
    const raw = new Database(path, { readonly: true });
    const images = raw.prepare("SELECT COUNT(*) AS n, MAX(bytes) AS last FROM images").get() as { n: number; last: number };
    // Every committed record is there, in order, with no gap.
    expect(images.n).toBeGreaterThan(20);
    expect(images.last).toBe(images.n - 1);
    raw.close();
    const next = state.startRun("schedule");
    state.finishRun(next, "ok", {});
    expect(state.integrityCheck()).toBe("ok");
    state.close();
  });

  it("reports an unreadable state file clearly", () => {
    const dir = mkdtempSync(join(tmpdir(), "basewarm-state-"));
    try {
      StateStore.open({ path: dir });
      throw new Error("expected an error");
    } catch (err) {
      expect(isBasewarmError(err, "STATE_ERROR")).toBe(true);
      expect((err as Error).message).toMatch(/cannot open state file/);
    }
  });
});
