import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createBuilder } from "../../src/builder/index.js";
import { parseConfig } from "../../src/config/index.js";
import { silentLogger } from "../../src/log/index.js";
import { parseReference } from "../../src/reference/index.js";
import { RegistryClient } from "../../src/registry/index.js";
import { catalogSource } from "../../src/run/catalog.js";
import { warmRun } from "../../src/run/warm-run.js";
import { SqliteStateStore as StateStore } from "../../src/state/index.js";
import { makeBusyboxImage, makeImage, makeLayer, pushImage } from "../../testkit/images.js";
import { workspace } from "../helpers/cli.js";
import { useRegistry } from "../helpers/registries.js";

describe("warm run: catalog → mirror → build → verify → record (real registries, real buildah)", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();

  it("builds what changed, skips what did not, and follows upstream digest changes", async () => {
    const up = upstream().host;
    await pushImage(upstream().url, "library/busybox", makeBusyboxImage({ seed: "wr-busybox" }), "1");
    await pushImage(upstream().url, "library/tools", makeBusyboxImage({ seed: "wr-tools-v1" }), "1");
    await pushImage(upstream().url, "extra/data", makeImage({ seed: "wr-extra", layers: [makeLayer("wr-extra", 2000)] }), "1");
    const dir = workspace({
      "a/Dockerfile": `FROM ${up}/library/busybox:1\nCOPY a.txt /a.txt\nRUN cat /a.txt\n`,
      "a/a.txt": "a\n",
      "b/Dockerfile": `ARG TOOLS=${up}/library/tools:1\nFROM \${TOOLS} AS tools\nRUN echo t > /t\nFROM ${up}/library/busybox:1\nCOPY --from=tools /t /t\n`,
      "broken/Dockerfile": `FROM ${up}/library/busybox:1\nRUN echo nope && false\n`,
      "bad/Dockerfile": "FROM Busybox\n",
      "state/.keep": "",
    });
    const configText = [
      `target: { registry: "${mirror().host}", prefix: mirror, cachePrefix: cache }`,
      "state: state/basewarm.db",
      "catalog:",
      "  - dockerfile: '{a,b,broken,bad}/Dockerfile'",
      "images:",
      `  - ${up}/extra/data:1`,
      "build: { driver: buildah, probe: true }",
    ].join("\n");
    writeFileSync(join(dir, "basewarm.yaml"), configText);
    const loaded = parseConfig(configText, join(dir, "basewarm.yaml"));
    const state = StateStore.open({ path: join(dir, "state/basewarm.db") });
    const client = new RegistryClient();
    const builder = createBuilder({ driver: "buildah", env: process.env, insecureRegistries: [mirror().host, up] });
    const run = () => warmRun({ config: loaded.config, catalog: catalogSource(loaded), client, state, builder, logger: silentLogger, trigger: "manual" });

    // Run 1: everything is new.
    const first = await run();
    expect(first.outcome).toBe("partial");
    expect(first.mirror.summary).toMatchObject({ copied: 3, failed: 0 });
    expect(first.problems.map((p) => p.message)).toEqual([expect.stringMatching(/bad\/Dockerfile:1: .*lowercase/)]);
    const byEntry = (report: typeof first) => Object.fromEntries(report.builds.map((b) => [b.entry, b]));
    expect(byEntry(first)["a"]).toMatchObject({ outcome: "built", hitRatio: 1, reason: "first build" });
    expect(byEntry(first)["b"]).toMatchObject({ outcome: "built", hitRatio: 1 });
    expect(byEntry(first)["broken"]).toMatchObject({ outcome: "failed", reason: expect.stringMatching(/build failed: buildah build exited/) });
    expect(byEntry(first)["a"]!.cacheCheck).toMatchObject({ ok: true });
    expect(byEntry(first)["a"]!.cacheCheck!.blobs).toBeGreaterThan(0);

    // Run 2: nothing changed: no copies, no builds (the broken one is retried).
    const second = await run();
    expect(second.mirror.summary).toMatchObject({ copied: 0, unchanged: 3 });
    expect(byEntry(second)["a"]).toMatchObject({ outcome: "skipped", reason: expect.stringMatching(/inputs unchanged/) });
    expect(byEntry(second)["b"]).toMatchObject({ outcome: "skipped" });
    expect(byEntry(second)["broken"]!.outcome).toBe("failed");

    // Upstream moves library/tools:1: only b, which uses it, is rebuilt; the change is in the history.
    await pushImage(upstream().url, "library/tools", makeBusyboxImage({ seed: "wr-tools-v2" }), "1");
    const third = await run();
    const tools = third.mirror.images.find((i) => i.source === `${up}/library/tools:1`)!;
    expect(tools).toMatchObject({ status: "copied", changedUpstream: true });
    expect(byEntry(third)["a"]!.outcome).toBe("skipped");
    expect(byEntry(third)["b"]).toMatchObject({ outcome: "built", hitRatio: 1, reason: "inputs changed since the last good build" });
    expect((await state.history(`${up}/library/tools:1`)).map((h) => h.digest)).toHaveLength(2);

    // The cache of a disappears from the mirror: a is rebuilt even though its inputs did not change.
    const cacheRepo = { registry: mirror().host, repository: "cache/a" };
    for (const tag of await client.tagsList(cacheRepo)) {
      const head = await client.manifestHead(parseReference(`${mirror().host}/cache/a:${tag}`));
      await fetch(`${mirror().url}/v2/cache/a/manifests/${head!.digest}`, { method: "DELETE" });
    }
    const fourth = await run();
    expect(byEntry(fourth)["a"]).toMatchObject({ outcome: "built", reason: expect.stringMatching(/^inputs unchanged, but the cache is not whole in the mirror \(no cache images in 127\.0\.0\.1:\d+\/cache\/a\)$/) });
    expect(await state.integrityCheck()).toBe("ok");
    expect((await state.recentRuns(4)).map((r) => r.outcome)).toEqual(["partial", "partial", "partial", "partial"]);
    await client.close();
    await state.close();
  });
});
