import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOG_TAIL_MAX, SqliteStateStore, type BuildRecord, type StateStore } from "../../src/state/index.js";
import { BACKENDS, type Backend } from "./backends.js";
import { stateErrorOf, tempStatePath } from "./helpers.js";

const d = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const iso = (ms: number): string => new Date(ms).toISOString();

/** A store on a fresh state of `backend` with a clock the test moves by hand; `label` starts its errors. */
async function clockedOn(backend: Backend): Promise<{ state: StateStore; label: string; at: (ms: number) => void }> {
  let clock = T0;
  const fresh = await backend.fresh();
  const state = await fresh.open(() => new Date(clock));
  return { state, label: fresh.label, at: (ms) => (clock = ms) };
}

function build(overrides: Partial<BuildRecord> = {}): BuildRecord {
  return {
    entry: "api", inputsHash: "h1", builder: "buildah", builderVersion: "1.39.0", cacheRef: "mirror.test/cache/api",
    durationMs: 1234, outcome: "ok", reason: "inputs changed", logTail: "STEP 3/3: done", cacheHitRatio: 0.75, ...overrides,
  };
}

describe.each(BACKENDS)("state contract ($name)", (backend) => {
  beforeAll(() => backend.setup(), 60_000);
  afterAll(() => backend.teardown());
  const clocked = (): Promise<{ state: StateStore; label: string; at: (ms: number) => void }> => clockedOn(backend);

  describe(`state store (${backend.name}): runs`, () => {
    it("starts and finishes runs, newest first, with their summary and UTC timestamps", async () => {
      const { state, at } = await clocked();
      const first = await state.startRun("schedule");
      at(T0 + 60_000);
      await state.finishRun(first, "partial", { copied: 3, problems: ["x"] });
      at(T0 + 120_000);
      const second = await state.startRun("manual");
      expect(second).toBeGreaterThan(first);
      expect(await state.recentRuns(10)).toEqual([
        { id: second, startedAt: iso(T0 + 120_000), endedAt: null, trigger: "manual", outcome: "running", summary: null, shard: null },
        { id: first, startedAt: iso(T0), endedAt: iso(T0 + 60_000), trigger: "schedule", outcome: "partial", summary: { copied: 3, problems: ["x"] }, shard: null },
      ]);
      expect((await state.recentRuns(1)).map((r) => r.id)).toEqual([second]);
      expect(await state.recentRuns(0)).toEqual([]);
      await state.finishRun(second, "abandoned", undefined);
      expect((await state.recentRuns(1))[0]).toMatchObject({ outcome: "abandoned", summary: null });
      await state.close();
    });

    it("rejects unknown runs, bad triggers and outcomes, and bad limits with STATE_ERROR", async () => {
      const { state, label } = await clocked();
      const run = await state.startRun("cli");
      expect((await stateErrorOf(() => state.finishRun(run + 41, "ok", {}))).message).toBe(`${label}: run ${run + 41} does not exist; finish the id startRun returned`);
      expect((await stateErrorOf(() => state.finishRun(run, "running", {}))).message).toMatch(/cannot finish as "running"/);
      expect((await stateErrorOf(() => state.finishRun(run, "great" as never, {}))).message).toMatch(/run outcome "great" is not one of running, ok, partial, failed, abandoned/);
      expect((await stateErrorOf(() => state.startRun("cron" as never))).message).toMatch(/trigger "cron" is not one of schedule, manual, mirror, cli/);
      expect((await stateErrorOf(() => state.recentRuns(-1))).message).toMatch(/limit -1 is not a non-negative integer/);
      expect((await stateErrorOf(() => state.recentRuns(1.5))).message).toMatch(/limit 1.5/);
      expect((await stateErrorOf(() => state.finishRun(run, "ok", { n: 1n }))).message).toMatch(new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: cannot finish run ${run}: .*BigInt`));
      // Nothing half-written by the refused calls.
      expect(await state.recentRuns(5)).toMatchObject([{ id: run, outcome: "running", endedAt: null }]);
      await state.close();
    });
  });

  describe(`state store (${backend.name}): references`, () => {
    it("keeps every distinct digest of a reference over several runs, with first and last seen and the runs that saw it", async () => {
      const { state, at } = await clocked();
      const ref = "docker.io/library/alpine:3.20";
      const other = "ghcr.io/acme/tool:2";
      const index = "application/vnd.oci.image.index.v1+json";

      const r1 = await state.startRun("schedule");
      expect(await state.recordResolution(r1, ref, d(1), index)).toEqual({ changed: true });
      // The same ref resolved twice in one run counts that run once.
      expect(await state.recordResolution(r1, ref, d(1), index)).toEqual({ changed: false });
      expect(await state.recordResolution(r1, other, d(7), index)).toEqual({ changed: true });
      at(T0 + 3600_000);
      const r2 = await state.startRun("schedule");
      expect(await state.recordResolution(r2, ref, d(1), index)).toEqual({ changed: false });
      at(T0 + 2 * 3600_000);
      const r3 = await state.startRun("schedule");
      expect(await state.recordResolution(r3, ref, d(2), index)).toEqual({ changed: true, previous: d(1) });
      at(T0 + 3 * 3600_000);
      // Outside any run (an on-demand lookup): counts as one.
      expect(await state.recordResolution(null, ref, d(2), index)).toEqual({ changed: false });
      at(T0 + 4 * 3600_000);
      const r5 = await state.startRun("manual");
      // Upstream rolled back: the old digest comes back as a new period, not merged into the first.
      expect(await state.recordResolution(r5, ref, d(1), "application/vnd.docker.distribution.manifest.list.v2+json")).toEqual({ changed: true, previous: d(2) });

      expect(await state.history(ref)).toEqual([
        { ref, digest: d(1), firstSeen: iso(T0), lastSeen: iso(T0 + 3600_000), runs: 2 },
        { ref, digest: d(2), firstSeen: iso(T0 + 2 * 3600_000), lastSeen: iso(T0 + 3 * 3600_000), runs: 2 },
        { ref, digest: d(1), firstSeen: iso(T0 + 4 * 3600_000), lastSeen: iso(T0 + 4 * 3600_000), runs: 1 },
      ]);
      expect((await state.history()).map((h) => [h.ref, h.digest])).toEqual([
        [ref, d(1)], [ref, d(2)], [ref, d(1)], [other, d(7)],
      ]);
      expect(await state.history("docker.io/library/never:1")).toEqual([]);
      expect(await state.lastResolution(ref)).toEqual({ digest: d(1), mediaType: "application/vnd.docker.distribution.manifest.list.v2+json", at: iso(T0 + 4 * 3600_000) });
      expect(await state.lastResolution(other)).toEqual({ digest: d(7), mediaType: index, at: iso(T0) });
      expect(await state.lastResolution("docker.io/library/never:1")).toBeUndefined();
      await state.close();
    });

    it("lists references not resolved since a time, by their latest resolution", async () => {
      const { state, at } = await clocked();
      await state.recordResolution(null, "a:1", d(1), "m");
      await state.recordResolution(null, "b:1", d(2), "m");
      at(T0 + 1000);
      await state.recordResolution(null, "b:1", d(3), "m");
      at(T0 + 2000);
      await state.recordResolution(null, "c:1", d(4), "m");
      expect(await state.staleRefs(new Date(T0 + 1500))).toEqual([
        { ref: "a:1", lastResolved: iso(T0) },
        { ref: "b:1", lastResolved: iso(T0 + 1000) },
      ]);
      expect(await state.staleRefs(new Date(T0 + 1000))).toEqual([{ ref: "a:1", lastResolved: iso(T0) }]);
      expect(await state.staleRefs(new Date(T0))).toEqual([]);
      expect((await state.staleRefs(new Date(T0 + 5000))).map((r) => r.ref)).toEqual(["a:1", "b:1", "c:1"]);
      expect((await stateErrorOf(() => state.staleRefs(new Date("nope")))).message).toMatch(/staleRefs needs a valid date/);
      await state.close();
    });

    it("rejects an empty reference or digest", async () => {
      const { state } = await clocked();
      expect((await stateErrorOf(() => state.recordResolution(null, "", d(1), "m"))).message).toMatch(/reference must be a non-empty string/);
      expect((await stateErrorOf(() => state.recordResolution(null, "a:1", "", "m"))).message).toMatch(/digest must be a non-empty string/);
      expect(await state.history()).toEqual([]);
      await state.close();
    });
  });

  describe(`state store (${backend.name}): images and builds`, () => {
    it("records images and reports only the failed and deferred ones of the asked run", async () => {
      const { state, at } = await clocked();
      const r1 = await state.startRun("mirror");
      const r2 = await state.startRun("mirror");
      await state.recordImage(r1, { source: "docker.io/library/a:1", target: "m/a:1", digest: d(1), bytes: 100, status: "copied" });
      await state.recordImage(r1, { source: "docker.io/library/b:1", target: "m/b:1", digest: d(2), bytes: 0, status: "unchanged" });
      at(T0 + 5);
      await state.recordImage(r1, { source: "docker.io/library/c:1", target: "m/c:1", digest: null, bytes: 0, status: "failed", error: "NOT_FOUND: manifest unknown" });
      await state.recordImage(r1, { source: "docker.io/library/d:1", target: "m/d:1", digest: null, bytes: 0, status: "deferred", error: "rate-limit reserve reached" });
      await state.recordImage(r2, { source: "docker.io/library/e:1", target: "m/e:1", digest: null, bytes: 0, status: "failed", error: "other run" });
      await state.recordImage(null, { source: "docker.io/library/f:1", target: "m/f:1", digest: null, bytes: 0, status: "failed" });
      expect((await state.failuresOfRun(r1)).images).toEqual([
        { runId: r1, source: "docker.io/library/c:1", target: "m/c:1", digest: null, bytes: 0, status: "failed", error: "NOT_FOUND: manifest unknown", at: iso(T0 + 5) },
        { runId: r1, source: "docker.io/library/d:1", target: "m/d:1", digest: null, bytes: 0, status: "deferred", error: "rate-limit reserve reached", at: iso(T0 + 5) },
      ]);
      expect((await state.failuresOfRun(r2)).images.map((i) => i.error)).toEqual(["other run"]);
      expect(await state.failuresOfRun(r2 + 1)).toEqual({ images: [], builds: [] });
      expect((await stateErrorOf(() => state.recordImage(r1, { source: "s", target: "t", digest: null, bytes: 0, status: "lost" as never }))).message).toMatch(/image status "lost"/);
      expect((await stateErrorOf(() => state.recordImage(r1, { source: "s", target: "t", digest: null, bytes: -1, status: "copied" }))).message).toMatch(/image bytes -1/);
      await state.close();
    });

    it("remembers where blobs live per registry, most recently seen first, across reopenings", async () => {
      const { state, at } = await clocked();
      expect(await state.blobLocations("mirror:5000", d(1), 5)).toEqual([]);
      await state.recordBlobLocations("mirror:5000", [{ digest: d(1), repository: "m/a" }, { digest: d(2), repository: "m/a" }]);
      at(T0 + 10);
      // The same pair twice in one call, and again later: one row whose last sighting moves.
      await state.recordBlobLocations("mirror:5000", [{ digest: d(1), repository: "m/b" }, { digest: d(1), repository: "m/b" }]);
      await state.recordBlobLocations("other:5000", [{ digest: d(1), repository: "o/z" }]);
      await state.recordBlobLocations("mirror:5000", []);
      expect(await state.blobLocations("mirror:5000", d(1), 5)).toEqual(["m/b", "m/a"]);
      expect(await state.blobLocations("mirror:5000", d(1), 1)).toEqual(["m/b"]);
      expect(await state.blobLocations("other:5000", d(1), 5)).toEqual(["o/z"]);
      expect(await state.blobLocations("mirror:5000", d(3), 5)).toEqual([]);
      at(T0 + 20);
      await state.recordBlobLocations("mirror:5000", [{ digest: d(1), repository: "m/a" }]);
      expect(await state.blobLocations("mirror:5000", d(1), 5)).toEqual(["m/a", "m/b"]);
      expect((await stateErrorOf(() => state.recordBlobLocations("", [{ digest: d(1), repository: "m/a" }]))).message).toMatch(/registry must be a non-empty string/);
      expect((await stateErrorOf(() => state.recordBlobLocations("mirror:5000", [{ digest: d(1), repository: "" }]))).message).toMatch(/blob repository must be/);
      expect((await stateErrorOf(() => state.blobLocations("mirror:5000", d(1), -1))).message).toMatch(/limit/);
      await state.close();
    });

    it("knows the digest last mirrored from a source to a target: failed copies never count, targets are apart", async () => {
      const { state, at } = await clocked();
      const run = await state.startRun("mirror");
      const src = "docker.io/library/a:1";
      expect(await state.lastMirrored(src, "m/a:1")).toBeUndefined();
      await state.recordImage(run, { source: src, target: "m/a:1", digest: d(1), bytes: 100, status: "copied" });
      at(T0 + 10);
      await state.recordImage(run, { source: src, target: "m/a:1", digest: d(1), bytes: 0, status: "unchanged" });
      at(T0 + 20);
      // The tag moved upstream and its copy failed, or was deferred: the mirror still holds d(1).
      await state.recordImage(run, { source: src, target: "m/a:1", digest: null, bytes: 0, status: "failed", error: "PUT refused" });
      await state.recordImage(run, { source: src, target: "m/a:1", digest: null, bytes: 0, status: "deferred" });
      await state.recordImage(run, { source: src, target: "other/a:1", digest: d(3), bytes: 5, status: "copied" });
      expect(await state.lastMirrored(src, "m/a:1")).toEqual({ digest: d(1), at: iso(T0 + 10) });
      expect(await state.lastMirrored(src, "other/a:1")).toEqual({ digest: d(3), at: iso(T0 + 20) });
      expect(await state.lastMirrored("docker.io/library/b:1", "m/a:1")).toBeUndefined();
      at(T0 + 30);
      await state.recordImage(null, { source: src, target: "m/a:1", digest: d(2), bytes: 7, status: "copied" });
      expect(await state.lastMirrored(src, "m/a:1")).toEqual({ digest: d(2), at: iso(T0 + 30) });
      await state.close();
    });

    it("returns the latest ok build of an entry, whole, and lists failed builds among a run's failures", async () => {
      const { state, at } = await clocked();
      const r1 = await state.startRun("schedule");
      await state.recordBuild(r1, build({ inputsHash: "h1" }));
      at(T0 + 1000);
      await state.recordBuild(r1, build({ entry: "web", outcome: "failed", reason: "RUN make failed", logTail: "make: *** [all] Error 2", cacheHitRatio: null }));
      const r2 = await state.startRun("schedule");
      at(T0 + 2000);
      await state.recordBuild(r2, build({ inputsHash: "h2", cacheHitRatio: null, startedAt: iso(T0 + 1500), durationMs: 12.6 }));
      at(T0 + 3000);
      await state.recordBuild(r2, build({ inputsHash: "h3", outcome: "failed", reason: "cache export failed" }));
      await state.recordBuild(r2, build({ inputsHash: "h2", outcome: "skipped", reason: "inputs unchanged" }));

      expect(await state.lastGoodBuild("api")).toEqual({ ...build({ inputsHash: "h2", cacheHitRatio: null, durationMs: 13 }), startedAt: iso(T0 + 1500), runId: r2 });
      expect(await state.lastGoodBuild("web")).toBeUndefined();
      expect(await state.lastGoodBuild("nope")).toBeUndefined();
      expect((await state.failuresOfRun(r1)).builds.map((b) => [b.entry, b.reason, b.logTail, b.startedAt])).toEqual([["web", "RUN make failed", "make: *** [all] Error 2", iso(T0 + 1000)]]);
      expect((await state.failuresOfRun(r2)).builds.map((b) => b.inputsHash)).toEqual(["h3"]);
      await state.close();
    });

    it("keeps only the tail of a long build log and rejects impossible numbers", async () => {
      const { state } = await clocked();
      const run = await state.startRun("cli");
      const log = `${"early noise\n".repeat(2000)}the real error`;
      await state.recordBuild(run, build({ logTail: log }));
      const kept = (await state.lastGoodBuild("api"))!.logTail;
      expect(kept).toHaveLength(LOG_TAIL_MAX);
      expect(kept.endsWith("the real error")).toBe(true);
      expect((await stateErrorOf(() => state.recordBuild(run, build({ cacheHitRatio: 1.5 })))).message).toMatch(/cache hit ratio 1.5 is outside 0..1/);
      expect((await stateErrorOf(() => state.recordBuild(run, build({ cacheHitRatio: Number.NaN })))).message).toMatch(/cache hit ratio NaN/);
      expect((await stateErrorOf(() => state.recordBuild(run, build({ durationMs: -3 })))).message).toMatch(/build duration -3 ms/);
      expect((await stateErrorOf(() => state.recordBuild(run, build({ outcome: "meh" as never })))).message).toMatch(/build outcome "meh"/);
      await state.close();
    });
  });

  describe(`state store (${backend.name}): lifecycle`, () => {
    it("refuses use after close in one clear line, and closes twice harmlessly", async () => {
      const { state, label } = await clocked();
      await state.close();
      await state.close();
      expect((await stateErrorOf(() => state.startRun("cli"))).message).toBe(`${label}: cannot start a run: the store is closed`);
      expect((await stateErrorOf(() => state.recentRuns(1))).message).toMatch(/the store is closed/);
    });

    it("refuses a clock that returns an invalid date instead of writing it", async () => {
      const fresh = await backend.fresh();
      const state = await fresh.open(() => new Date(Number.NaN));
      expect((await stateErrorOf(() => state.startRun("cli"))).message).toMatch(/the clock returned an invalid date/);
      expect(await state.recentRuns(1)).toEqual([]);
      await state.close();
    });
  });
});

describe("state store (sqlite only): integrity", () => {
  it("reports integrity ok, and refuses the check after close", async () => {
    const path = tempStatePath();
    const state = SqliteStateStore.open({ path });
    expect(await state.integrityCheck()).toBe("ok");
    await state.close();
    expect((await stateErrorOf(() => state.integrityCheck())).message).toBe(`state file ${path}: cannot check its integrity: the store is closed`);
  });
});
