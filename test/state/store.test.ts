import { describe, expect, it } from "vitest";
import { LOG_TAIL_MAX, StateStore, type BuildRecord } from "../../src/state/index.js";
import { dumpTable, stateErrorOf, tempStatePath } from "./helpers.js";

const d = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const iso = (ms: number): string => new Date(ms).toISOString();

/** A store on a fresh file with a clock the test moves by hand. */
function clocked(): { state: StateStore; path: string; at: (ms: number) => void } {
  let clock = T0;
  const path = tempStatePath();
  const state = StateStore.open({ path, now: () => new Date(clock) });
  return { state, path, at: (ms) => (clock = ms) };
}

function build(overrides: Partial<BuildRecord> = {}): BuildRecord {
  return {
    entry: "api", inputsHash: "h1", builder: "buildah", builderVersion: "1.39.0", cacheRef: "mirror.test/cache/api",
    durationMs: 1234, outcome: "ok", reason: "inputs changed", logTail: "STEP 3/3: done", cacheHitRatio: 0.75, ...overrides,
  };
}

describe("state store: runs", () => {
  it("starts and finishes runs, newest first, with their summary and UTC timestamps", () => {
    const { state, at } = clocked();
    const first = state.startRun("schedule");
    at(T0 + 60_000);
    state.finishRun(first, "partial", { copied: 3, problems: ["x"] });
    at(T0 + 120_000);
    const second = state.startRun("manual");
    expect(second).toBeGreaterThan(first);
    expect(state.recentRuns(10)).toEqual([
      { id: second, startedAt: iso(T0 + 120_000), endedAt: null, trigger: "manual", outcome: "running", summary: null },
      { id: first, startedAt: iso(T0), endedAt: iso(T0 + 60_000), trigger: "schedule", outcome: "partial", summary: { copied: 3, problems: ["x"] } },
    ]);
    expect(state.recentRuns(1).map((r) => r.id)).toEqual([second]);
    expect(state.recentRuns(0)).toEqual([]);
    state.finishRun(second, "abandoned", undefined);
    expect(state.recentRuns(1)[0]).toMatchObject({ outcome: "abandoned", summary: null });
    state.close();
  });

  it("rejects unknown runs, bad triggers and outcomes, and bad limits with STATE_ERROR", () => {
    const { state, path } = clocked();
    const run = state.startRun("cli");
    expect(stateErrorOf(() => state.finishRun(run + 41, "ok", {})).message).toBe(`state file ${path}: run ${run + 41} does not exist; finish the id startRun returned`);
    expect(stateErrorOf(() => state.finishRun(run, "running", {})).message).toMatch(/cannot finish as "running"/);
    expect(stateErrorOf(() => state.finishRun(run, "great" as never, {})).message).toMatch(/run outcome "great" is not one of running, ok, partial, failed, abandoned/);
    expect(stateErrorOf(() => state.startRun("cron" as never)).message).toMatch(/trigger "cron" is not one of schedule, manual, mirror, cli/);
    expect(stateErrorOf(() => state.recentRuns(-1)).message).toMatch(/limit -1 is not a non-negative integer/);
    expect(stateErrorOf(() => state.recentRuns(1.5)).message).toMatch(/limit 1.5/);
    expect(stateErrorOf(() => state.finishRun(run, "ok", { n: 1n })).message).toMatch(new RegExp(`^state file ${path}: cannot finish run ${run}: .*BigInt`));
    // Nothing half-written by the refused calls.
    expect(state.recentRuns(5)).toMatchObject([{ id: run, outcome: "running", endedAt: null }]);
    state.close();
  });
});

describe("state store: references", () => {
  it("keeps every distinct digest of a reference over several runs, with first and last seen and the runs that saw it", () => {
    const { state, at } = clocked();
    const ref = "docker.io/library/alpine:3.20";
    const other = "ghcr.io/acme/tool:2";
    const index = "application/vnd.oci.image.index.v1+json";

    const r1 = state.startRun("schedule");
    expect(state.recordResolution(r1, ref, d(1), index)).toEqual({ changed: true });
    // The same ref resolved twice in one run counts that run once.
    expect(state.recordResolution(r1, ref, d(1), index)).toEqual({ changed: false });
    expect(state.recordResolution(r1, other, d(7), index)).toEqual({ changed: true });
    at(T0 + 3600_000);
    const r2 = state.startRun("schedule");
    expect(state.recordResolution(r2, ref, d(1), index)).toEqual({ changed: false });
    at(T0 + 2 * 3600_000);
    const r3 = state.startRun("schedule");
    expect(state.recordResolution(r3, ref, d(2), index)).toEqual({ changed: true, previous: d(1) });
    at(T0 + 3 * 3600_000);
    // Outside any run (an on-demand lookup): counts as one.
    expect(state.recordResolution(null, ref, d(2), index)).toEqual({ changed: false });
    at(T0 + 4 * 3600_000);
    const r5 = state.startRun("manual");
    // Upstream rolled back: the old digest comes back as a new period, not merged into the first.
    expect(state.recordResolution(r5, ref, d(1), "application/vnd.docker.distribution.manifest.list.v2+json")).toEqual({ changed: true, previous: d(2) });

    expect(state.history(ref)).toEqual([
      { ref, digest: d(1), firstSeen: iso(T0), lastSeen: iso(T0 + 3600_000), runs: 2 },
      { ref, digest: d(2), firstSeen: iso(T0 + 2 * 3600_000), lastSeen: iso(T0 + 3 * 3600_000), runs: 2 },
      { ref, digest: d(1), firstSeen: iso(T0 + 4 * 3600_000), lastSeen: iso(T0 + 4 * 3600_000), runs: 1 },
    ]);
    expect(state.history().map((h) => [h.ref, h.digest])).toEqual([
      [ref, d(1)], [ref, d(2)], [ref, d(1)], [other, d(7)],
    ]);
    expect(state.history("docker.io/library/never:1")).toEqual([]);
    expect(state.lastResolution(ref)).toEqual({ digest: d(1), mediaType: "application/vnd.docker.distribution.manifest.list.v2+json", at: iso(T0 + 4 * 3600_000) });
    expect(state.lastResolution(other)).toEqual({ digest: d(7), mediaType: index, at: iso(T0) });
    expect(state.lastResolution("docker.io/library/never:1")).toBeUndefined();
    state.close();
  });

  it("lists references not resolved since a time, by their latest resolution", () => {
    const { state, at } = clocked();
    state.recordResolution(null, "a:1", d(1), "m");
    state.recordResolution(null, "b:1", d(2), "m");
    at(T0 + 1000);
    state.recordResolution(null, "b:1", d(3), "m");
    at(T0 + 2000);
    state.recordResolution(null, "c:1", d(4), "m");
    expect(state.staleRefs(new Date(T0 + 1500))).toEqual([
      { ref: "a:1", lastResolved: iso(T0) },
      { ref: "b:1", lastResolved: iso(T0 + 1000) },
    ]);
    expect(state.staleRefs(new Date(T0 + 1000))).toEqual([{ ref: "a:1", lastResolved: iso(T0) }]);
    expect(state.staleRefs(new Date(T0))).toEqual([]);
    expect(state.staleRefs(new Date(T0 + 5000)).map((r) => r.ref)).toEqual(["a:1", "b:1", "c:1"]);
    expect(stateErrorOf(() => state.staleRefs(new Date("nope"))).message).toMatch(/staleRefs needs a valid date/);
    state.close();
  });

  it("rejects an empty reference or digest", () => {
    const { state } = clocked();
    expect(stateErrorOf(() => state.recordResolution(null, "", d(1), "m")).message).toMatch(/reference must be a non-empty string/);
    expect(stateErrorOf(() => state.recordResolution(null, "a:1", "", "m")).message).toMatch(/digest must be a non-empty string/);
    expect(state.history()).toEqual([]);
    state.close();
  });
});

describe("state store: images, blobs and builds", () => {
  it("records images and reports only the failed and deferred ones of the asked run", () => {
    const { state, at } = clocked();
    const r1 = state.startRun("mirror");
    const r2 = state.startRun("mirror");
    state.recordImage(r1, { source: "docker.io/library/a:1", target: "m/a:1", digest: d(1), bytes: 100, status: "copied" });
    state.recordImage(r1, { source: "docker.io/library/b:1", target: "m/b:1", digest: d(2), bytes: 0, status: "unchanged" });
    at(T0 + 5);
    state.recordImage(r1, { source: "docker.io/library/c:1", target: "m/c:1", digest: null, bytes: 0, status: "failed", error: "NOT_FOUND: manifest unknown" });
    state.recordImage(r1, { source: "docker.io/library/d:1", target: "m/d:1", digest: null, bytes: 0, status: "deferred", error: "rate-limit reserve reached" });
    state.recordImage(r2, { source: "docker.io/library/e:1", target: "m/e:1", digest: null, bytes: 0, status: "failed", error: "other run" });
    state.recordImage(null, { source: "docker.io/library/f:1", target: "m/f:1", digest: null, bytes: 0, status: "failed" });
    expect(state.failuresOfRun(r1).images).toEqual([
      { runId: r1, source: "docker.io/library/c:1", target: "m/c:1", digest: null, bytes: 0, status: "failed", error: "NOT_FOUND: manifest unknown", at: iso(T0 + 5) },
      { runId: r1, source: "docker.io/library/d:1", target: "m/d:1", digest: null, bytes: 0, status: "deferred", error: "rate-limit reserve reached", at: iso(T0 + 5) },
    ]);
    expect(state.failuresOfRun(r2).images.map((i) => i.error)).toEqual(["other run"]);
    expect(state.failuresOfRun(r2 + 1)).toEqual({ images: [], builds: [] });
    expect(stateErrorOf(() => state.recordImage(r1, { source: "s", target: "t", digest: null, bytes: 0, status: "lost" as never })).message).toMatch(/image status "lost"/);
    expect(stateErrorOf(() => state.recordImage(r1, { source: "s", target: "t", digest: null, bytes: -1, status: "copied" })).message).toMatch(/image bytes -1/);
    state.close();
  });

  it("records each blob once per repository, keeping its first copy time, and totals distinct blobs", () => {
    const { state, path, at } = clocked();
    state.recordBlob(d(1), 1000, "mirror/a");
    at(T0 + 10);
    state.recordBlob(d(1), 1000, "mirror/a");
    state.recordBlob(d(1), 1000, "mirror/b");
    at(T0 + 20);
    state.recordBlob(d(2), 500, "mirror/a");
    expect(dumpTable(path, "blobs")).toEqual([
      { digest: d(1), target_repository: "mirror/a", size: 1000, first_copied_at: iso(T0) },
      { digest: d(1), target_repository: "mirror/b", size: 1000, first_copied_at: iso(T0 + 10) },
      { digest: d(2), target_repository: "mirror/a", size: 500, first_copied_at: iso(T0 + 20) },
    ]);
    expect(state.blobLocations(d(1))).toEqual(["mirror/a", "mirror/b"]);
    expect(state.blobLocations(d(3))).toEqual([]);
    expect(state.blobStats()).toEqual({ blobs: 2, bytes: 1500 });
    expect(state.blobStats(new Date(T0 + 10))).toEqual({ blobs: 2, bytes: 1500 });
    expect(state.blobStats(new Date(T0 + 11))).toEqual({ blobs: 1, bytes: 500 });
    expect(state.blobStats(new Date(T0 + 21))).toEqual({ blobs: 0, bytes: 0 });
    expect(stateErrorOf(() => state.recordBlob(d(4), Number.NaN, "mirror/a")).message).toMatch(/blob size NaN/);
    state.close();
  });

  it("returns the latest ok build of an entry, whole, and lists failed builds among a run's failures", () => {
    const { state, at } = clocked();
    const r1 = state.startRun("schedule");
    state.recordBuild(r1, build({ inputsHash: "h1" }));
    at(T0 + 1000);
    state.recordBuild(r1, build({ entry: "web", outcome: "failed", reason: "RUN make failed", logTail: "make: *** [all] Error 2", cacheHitRatio: null }));
    const r2 = state.startRun("schedule");
    at(T0 + 2000);
    state.recordBuild(r2, build({ inputsHash: "h2", cacheHitRatio: null, startedAt: iso(T0 + 1500), durationMs: 12.6 }));
    at(T0 + 3000);
    state.recordBuild(r2, build({ inputsHash: "h3", outcome: "failed", reason: "cache export failed" }));
    state.recordBuild(r2, build({ inputsHash: "h2", outcome: "skipped", reason: "inputs unchanged" }));

    expect(state.lastGoodBuild("api")).toEqual({ ...build({ inputsHash: "h2", cacheHitRatio: null, durationMs: 13 }), startedAt: iso(T0 + 1500), runId: r2 });
    expect(state.lastGoodBuild("web")).toBeUndefined();
    expect(state.lastGoodBuild("nope")).toBeUndefined();
    expect(state.failuresOfRun(r1).builds.map((b) => [b.entry, b.reason, b.logTail, b.startedAt])).toEqual([["web", "RUN make failed", "make: *** [all] Error 2", iso(T0 + 1000)]]);
    expect(state.failuresOfRun(r2).builds.map((b) => b.inputsHash)).toEqual(["h3"]);
    state.close();
  });

  it("keeps only the tail of a long build log and rejects impossible numbers", () => {
    const { state } = clocked();
    const run = state.startRun("cli");
    const log = `${"early noise\n".repeat(2000)}the real error`;
    state.recordBuild(run, build({ logTail: log }));
    const kept = state.lastGoodBuild("api")!.logTail;
    expect(kept).toHaveLength(LOG_TAIL_MAX);
    expect(kept.endsWith("the real error")).toBe(true);
    expect(stateErrorOf(() => state.recordBuild(run, build({ cacheHitRatio: 1.5 }))).message).toMatch(/cache hit ratio 1.5 is outside 0..1/);
    expect(stateErrorOf(() => state.recordBuild(run, build({ cacheHitRatio: Number.NaN }))).message).toMatch(/cache hit ratio NaN/);
    expect(stateErrorOf(() => state.recordBuild(run, build({ durationMs: -3 }))).message).toMatch(/build duration -3 ms/);
    expect(stateErrorOf(() => state.recordBuild(run, build({ outcome: "meh" as never }))).message).toMatch(/build outcome "meh"/);
    state.close();
  });
});

describe("state store: lifecycle", () => {
  it("reports integrity ok, refuses use after close in one clear line, and closes twice harmlessly", () => {
    const { state, path } = clocked();
    expect(state.integrityCheck()).toBe("ok");
    state.close();
    state.close();
    expect(stateErrorOf(() => state.startRun("cli")).message).toBe(`state file ${path}: cannot start a run: the store is closed`);
    expect(stateErrorOf(() => state.integrityCheck()).message).toMatch(/the store is closed/);
  });

  it("refuses a clock that returns an invalid date instead of writing it", () => {
    const path = tempStatePath();
    const state = StateStore.open({ path, now: () => new Date(Number.NaN) });
    expect(stateErrorOf(() => state.startRun("cli")).message).toMatch(/the clock returned an invalid date/);
    expect(state.recentRuns(1)).toEqual([]);
    state.close();
  });
});
