import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { jsonObjects, parseBuildkitProgress } from "../../src/builder/buildkit-progress.js";

// Captured from the real dockerd 26.1.5 (embedded BuildKit) and buildx 0.13.1 that
// test/testkit/buildkit.test.ts starts, building this two-stage Dockerfile:
//   ARG BASE=<registry>/base/busybox:1
//   FROM ${BASE} AS build / RUN / COPY app.txt / RUN     (build 1/4 .. 4/4)
//   FROM ${BASE} / COPY --from=build / COPY app.txt      (stage-1 1/3 .. 3/3)
const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures", name), "utf8");

const STEPS = [
  "[build 2/4] RUN echo built > /built.txt",
  "[build 3/4] COPY app.txt /app.txt",
  "[build 4/4] RUN cat /built.txt /app.txt > /out.txt",
  "[stage-1 2/3] COPY --from=build /out.txt /out.txt",
  "[stage-1 3/3] COPY app.txt /again.txt",
];

describe("BuildKit progress parser", () => {
  it("reads a probe build on an empty daemon (rawjson): every RUN/COPY step cached, internal vertices and FROM left out", () => {
    const p = parseBuildkitProgress(fixture("buildkit-probe.rawjson.txt"), "rawjson");
    expect(p.steps.map((s) => s.name).sort()).toEqual([...STEPS].sort());
    expect(p).toMatchObject({ totalSteps: 5, cachedSteps: 5, hitRatio: 1, missed: [], failed: [] });
    expect(p.steps.every((s) => s.completed)).toBe(true);
  });

  it("reads the same probe build from plain output with the same result", () => {
    const plain = parseBuildkitProgress(fixture("buildkit-probe.plain.txt"), "plain");
    const raw = parseBuildkitProgress(fixture("buildkit-probe.rawjson.txt"), "rawjson");
    expect(plain.steps.map((s) => [s.name, s.cached]).sort()).toEqual(raw.steps.map((s) => [s.name, s.cached]).sort());
    expect(plain.cachedSteps).toBe(5);
  });

  it("reads the admin build (cold, exporting the cache): 5 steps, none cached, the cache importer's miss is not a step failure", () => {
    const p = parseBuildkitProgress(fixture("buildkit-admin.rawjson.txt"), "rawjson");
    expect(p.totalSteps).toBe(5);
    expect(p.cachedSteps).toBe(0);
    expect(p.hitRatio).toBe(0);
    expect([...p.missed].sort()).toEqual([...STEPS].sort());
    expect(p.failed).toEqual([]);
    const copyFrom = p.steps.find((s) => s.instruction === "COPY" && s.name.includes("--from"));
    expect(copyFrom).toMatchObject({ stage: "stage-1", index: 2, count: 3, cached: false, completed: true });
  });

  it("reads a cold plain build, where the FROM vertex's number comes back (progress group) without becoming a step", () => {
    const p = parseBuildkitProgress(fixture("buildkit-cold.plain.txt"), "plain");
    expect(p.totalSteps).toBe(5);
    expect(p.cachedSteps).toBe(0);
    expect(p.steps.some((s) => s.instruction === "FROM")).toBe(false);
  });

  it.each([["rawjson" as const], ["plain" as const]])("reads a failed build (%s): the failing step carries BuildKit's error, trailing text ignored", (format) => {
    const p = parseBuildkitProgress(fixture(`buildkit-fail.${format}.txt`), format);
    expect(p.totalSteps).toBe(2);
    expect(p.failed.map((s) => s.name)).toEqual(["[3/3] RUN echo about to fail && false"]);
    expect(p.failed[0]?.error).toMatch(/exit code: 1/);
    expect(p.failed[0]).toMatchObject({ stage: "", index: 3, count: 3, cached: false });
    expect(p.missed).toContain("[3/3] RUN echo about to fail && false");
  });

  it("returns no steps for empty or unrelated input, and hitRatio 1 like buildah's probe", () => {
    for (const format of ["rawjson", "plain"] as const) {
      for (const text of ["", "\n\n", "ERROR: failed to solve: something\n", "#0 building with \"default\" instance\n"]) {
        expect(parseBuildkitProgress(text, format)).toEqual({ steps: [], totalSteps: 0, cachedSteps: 0, hitRatio: 1, missed: [], failed: [] });
      }
    }
  });

  it("survives a stream cut off mid-object: the complete updates before it still count", () => {
    const text = fixture("buildkit-probe.rawjson.txt");
    const cut = text.slice(0, Math.floor(text.length * 0.6));
    const full = parseBuildkitProgress(text, "rawjson");
    const partial = parseBuildkitProgress(cut, "rawjson");
    expect(partial.totalSteps).toBeLessThanOrEqual(full.totalSteps);
    expect(partial.cachedSteps).toBeLessThanOrEqual(partial.totalSteps);
    // Whatever was reported cached before the cut is still cached.
    for (const s of partial.steps) expect(full.steps.find((f) => f.name === s.name)).toBeDefined();
  });

  it("skips JSON that is not a status, vertices of the wrong shape, and braces inside strings", () => {
    const text = [
      '{"vertexes": "not a list"}',
      '[1, 2, 3]',
      '{"vertexes": [{"name": "[a 2/2] RUN no digest", "cached": true}]}',
      '{"vertexes": [{"digest": 7, "name": "[a 2/2] RUN bad digest"}]}',
      '{"vertexes": [{"digest": "d1", "name": "[a 2/2] RUN echo \\"}{\\" }", "cached": "yes"}]}',
      '{"vertexes": [{"digest": "d1", "completed": "2026-01-01T00:00:00Z"}]}',
      "{ not json at all",
    ].join("\n");
    const p = parseBuildkitProgress(text, "rawjson");
    expect(p.steps).toEqual([]); // d1's `cached: "yes"` fails the schema, so d1 never got a name
    const good = parseBuildkitProgress('{"vertexes":[{"digest":"d1","name":"[a 2/2] RUN echo \\"}{\\""}]}\n{"vertexes":[{"digest":"d1","cached":true}]}', "rawjson");
    expect(good.steps).toMatchObject([{ name: '[a 2/2] RUN echo "}{"', cached: true, stage: "a", instruction: "RUN" }]);
  });

  it("names steps of multi-platform builds per platform", () => {
    const text = ['#5 [linux/amd64 build 2/3] RUN make', "#5 CACHED", "#6 [linux/arm64 build 2/3] RUN make", "#6 DONE 1.2s", "#7 [linux/arm64 build 3/3] WORKDIR /src", "#7 CANCELED"].join("\n");
    const p = parseBuildkitProgress(text, "plain");
    expect(p.steps.map((s) => [s.stage, s.cached])).toEqual([["linux/amd64 build", true], ["linux/arm64 build", false], ["linux/arm64 build", false]]);
    expect(p.missed).toEqual(["[linux/arm64 build 2/3] RUN make", "[linux/arm64 build 3/3] WORKDIR /src"]);
    expect(p.failed.map((s) => s.error)).toEqual(["canceled"]);
  });

  it("does not mistake lookalike names for steps", () => {
    const text = ["#1 [internal] load metadata for x", "#2 [auth] library/busybox:pull token for registry", "#3 [stage 1/2] FROM x", "#4 [stage x/2] RUN nope", "#5 [stage 2/2] run lowercase", "#6 exporting cache to registry"].join("\n");
    expect(parseBuildkitProgress(text, "plain").totalSteps).toBe(0);
  });

  it("splits concatenated pretty-printed JSON objects and skips text between them", () => {
    expect([...jsonObjects('{"a":\n {"b": "}"}\n}\nnoise {\n{"c":[1,{"d":2}]}  {"e":"\\\\"}')]).toEqual([{ a: { b: "}" } }, { c: [1, { d: 2 }] }, { e: "\\" }]);
  });
});
