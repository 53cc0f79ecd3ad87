import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Reference } from "../../src/reference/index.js";
import { countCachedSteps, createBuilder, type BuildRequest } from "../../src/builder/index.js";
import { RegistryClient } from "../../src/registry/index.js";
import { makeBusyboxImage, pushImage } from "../../testkit/images.js";
import { useRegistry } from "../helpers/registries.js";

function context(dockerfile: string, files: Record<string, string> = {}): { dir: string; dockerfile: string } {
  const dir = mkdtempSync(join(tmpdir(), "basewarm-ctx-"));
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, dockerfile: join(dir, "Dockerfile") };
}

describe("buildah driver (real buildah, vfs storage, chroot isolation)", () => {
  const registry = useRegistry();

  it("builds, exports a per-step cache to the registry, and a fresh builder reuses every step", async () => {
    const r = registry();
    await pushImage(r.url, "base/busybox", makeBusyboxImage({ seed: "build-test" }), "1");
    const ctx = context([
      `FROM ${r.host}/base/busybox:1`,
      "ENV GREETING=hi",
      "RUN echo \"$GREETING\" > /greeting.txt",
      "COPY app.txt /app.txt",
      "RUN cat /greeting.txt /app.txt > /both.txt",
      "",
    ].join("\n"), { "app.txt": "app\n" });
    const builder = createBuilder({ driver: "buildah", insecureRegistries: [r.host], env: process.env });
    expect(await builder.version()).toMatch(/^buildah \d+\.\d+/);
    const request: BuildRequest = { entry: "t", dockerfile: ctx.dockerfile, context: ctx.dir, buildArgs: {}, platforms: ["linux/amd64"], cache: new Reference({ registry: r.host, repository: "cache/t" }) };
    const result = await builder.build(request);
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.command).toContain("--cache-to");
    const client = new RegistryClient();
    const tags = await client.tagsList({ registry: r.host, repository: "cache/t" });
    expect(tags.length).toBeGreaterThanOrEqual(3);
    await client.close();
    const probe = await builder.probe!(request);
    expect(probe.steps).toBe(4);
    expect(probe.cachedSteps).toBe(4);
    expect(probe.hitRatio).toBe(1);
  });

  it("returns ok:false with the failing step in the log tail", async () => {
    const r = registry();
    await pushImage(r.url, "base/busybox", makeBusyboxImage({ seed: "build-test" }), "1");
    const ctx = context(`FROM ${r.host}/base/busybox:1\nRUN echo about to fail && false\n`);
    const result = await createBuilder({ driver: "buildah", insecureRegistries: [r.host], env: process.env }).build({ entry: "f", dockerfile: ctx.dockerfile, context: ctx.dir, buildArgs: {}, platforms: [], cache: new Reference({ registry: r.host, repository: "cache/f" }) });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/buildah build exited with \d+/);
    expect(result.logTail).toContain("about to fail");
  });

  it("stops a build when the run is aborted", async () => {
    const r = registry();
    await pushImage(r.url, "base/busybox", makeBusyboxImage({ seed: "build-test" }), "1");
    const ctx = context(`FROM ${r.host}/base/busybox:1\nRUN sleep 60\n`);
    const controller = new AbortController();
    const started = Date.now();
    const pending = createBuilder({ driver: "buildah", insecureRegistries: [r.host], env: process.env }).build({ entry: "s", dockerfile: ctx.dockerfile, context: ctx.dir, buildArgs: {}, platforms: [], cache: new Reference({ registry: r.host, repository: "cache/s" }), signal: controller.signal });
    setTimeout(() => controller.abort(), 1500);
    const result = await pending;
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/stopped/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("shows, through the probe, that buildah 1.28 does not reuse remote cache after an ARG given a build-arg", async () => {
    // A real limitation the probe exists to catch: the build succeeds and pushes its cache,
    // but an empty builder misses every step after the ARG. basewarm reports the hit ratio.
    const r = registry();
    await pushImage(r.url, "base/busybox", makeBusyboxImage({ seed: "build-test" }), "1");
    const ctx = context(`FROM ${r.host}/base/busybox:1\nARG G\nRUN echo $G > /g.txt\n`);
    const builder = createBuilder({ driver: "buildah", insecureRegistries: [r.host], env: process.env });
    const request: BuildRequest = { entry: "a", dockerfile: ctx.dockerfile, context: ctx.dir, buildArgs: { G: "x" }, platforms: [], cache: new Reference({ registry: r.host, repository: "cache/a" }) };
    expect((await builder.build(request)).ok).toBe(true);
    const probe = await builder.probe!(request);
    expect(probe.steps).toBe(2);
    expect(probe.hitRatio).toBeLessThan(1);
  });

  it("counts cached steps from buildah's output, multi-stage prefixes included, and refuses output without steps", () => {
    const lines = ["STEP 1/3: FROM x", "STEP 2/3: RUN a", "--> Cache pulled from remote r/c:1", "STEP 3/3: COPY b /b", "--> 1234"];
    expect(countCachedSteps(lines)).toMatchObject({ steps: 2, cachedSteps: 1, hitRatio: 0.5 });
    const stages = ["[1/2] STEP 1/2: FROM x AS a", "[1/2] STEP 2/2: RUN a", "--> Cache pulled from remote r/c:1", "[2/2] STEP 1/2: FROM x", "[2/2] STEP 2/2: COPY --from=a /a /a", "--> 99"];
    expect(countCachedSteps(stages)).toMatchObject({ steps: 2, cachedSteps: 1, missed: ["[2/2] STEP 2/2: COPY --from=a /a /a"] });
    expect(() => countCachedSteps(["Error: something else"], "Error: something else")).toThrow(/printed no STEP lines/);
  });

  it("probes a multi-stage Dockerfile step by step (it once counted 0 of 0 steps and said 100 %)", async () => {
    const r = registry();
    await pushImage(r.url, "base/busybox", makeBusyboxImage({ seed: "build-test" }), "1");
    const ctx = context(`FROM ${r.host}/base/busybox:1 AS a\nRUN echo a > /a\nFROM ${r.host}/base/busybox:1\nCOPY --from=a /a /a\nRUN cat /a > /b\n`);
    const builder = createBuilder({ driver: "buildah", insecureRegistries: [r.host], env: process.env });
    const request: BuildRequest = { entry: "m", dockerfile: ctx.dockerfile, context: ctx.dir, buildArgs: {}, platforms: [], cache: new Reference({ registry: r.host, repository: "cache/m" }) };
    expect((await builder.build(request)).ok).toBe(true);
    const probe = await builder.probe!(request);
    expect([probe.steps, probe.cachedSteps, probe.missed]).toEqual([3, 3, []]);
  });
});
