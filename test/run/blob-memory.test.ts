/**
 * Blob memory across runs: a blob a run placed in repository A of the mirror is mounted into a new
 * repository B by a later run (one POST, no pull from upstream), instead of being pulled again
 * after a failed probe. Without the memory (a fresh state file) the same copy pulls it. A memory
 * gone stale (the blob is not where the state says) costs one refused mount and nothing else.
 * Real registries, with proxies in front that log every request.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStateStore } from "../../src/state/index.js";
import { makeImage, makeLayer, pushImage } from "../../testkit/images.js";
import { basewarm, jsonOf, workspace } from "../helpers/cli.js";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.js";
import { useRegistry } from "../helpers/registries.js";

interface MirrorJson {
  images: { status: string }[];
  summary: { blobsCopied: number; blobsMounted: number };
}

describe("blob memory across runs", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();
  let source: FaultProxy;
  let target: FaultProxy;
  const base = makeLayer("memory-base", 300_000);
  beforeAll(async () => {
    source = await startFaultProxy(upstream());
    target = await startFaultProxy(mirror());
  });
  afterAll(async () => {
    await source.stop();
    await target.stop();
  });

  async function pushWithBase(name: string): Promise<void> {
    await pushImage(upstream().url, `lib/${name}`, makeImage({ seed: `memory-${name}`, layers: [base, makeLayer(`memory-${name}-own`, 2000)] }), "1");
  }
  function configFor(dir: string, state: string, names: string[]): string {
    const file = join(dir, `${state}.yaml`);
    writeFileSync(file, [
      `target: { registry: "${target.host}", prefix: mem }`,
      `state: ${state}.db`,
      "images:",
      ...names.map((n) => `  - ${source.host}/lib/${n}:1`),
    ].join("\n"));
    return file;
  }
  async function mirrorRun(config: string): Promise<{ report: MirrorJson; basePulls: number; mountsOfBase: string[] }> {
    const before = { source: source.seen.length, target: target.seen.length };
    const run = await basewarm(["mirror", "--config", config, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const pulls = source.seen.slice(before.source).filter((r) => r.method === "GET" && r.url.includes(`/blobs/${base.digest}`));
    const mounts = target.seen.slice(before.target)
      .filter((r) => r.method === "POST" && r.url.includes(`mount=${encodeURIComponent(base.digest)}`))
      .map((r) => new URL(r.url, "http://x").searchParams.get("from") ?? "");
    return { report: jsonOf(run) as MirrorJson, basePulls: pulls.length, mountsOfBase: mounts };
  }
  const repo = (name: string) => `mem/${source.host.replace(":", "-")}/lib/${name}`;

  it("mounts into a new repository a blob an earlier run placed elsewhere; a fresh state pulls it again", async () => {
    for (const name of ["first", "second", "third"]) await pushWithBase(name);
    const dir = workspace({});
    const remembered = configFor(dir, "remembered", ["first"]);
    const one = await mirrorRun(remembered);
    expect(one.basePulls).toBe(1);

    // The next run adds an image in a new repository sharing the base layer.
    const two = await mirrorRun(configFor(dir, "remembered", ["first", "second"]));
    expect(two.report.images.map((i) => i.status)).toEqual(["unchanged", "copied"]);
    expect(two.basePulls).toBe(0);
    expect(two.mountsOfBase).toEqual([repo("first")]);
    expect(two.report.summary.blobsMounted).toBe(1);

    // Without the memory (a state that never saw the first run) the shared layer is pulled again.
    const forgetful = await mirrorRun(configFor(dir, "forgetful", ["third"]));
    expect(forgetful.basePulls).toBe(1);
    expect(forgetful.mountsOfBase).toEqual([repo("third")]); // only the probe of its own repository
  });

  it("a stale memory costs one refused mount; the blob is then copied and the image is whole", async () => {
    await pushWithBase("stale");
    const dir = workspace({});
    const config = configFor(dir, "stale", ["stale"]);
    const state = await openStateStore(join(dir, "stale.db"), { baseDir: dir });
    await state.recordBlobLocations(target.host, [{ digest: base.digest, repository: "mem/nowhere/else" }]);
    await state.close();

    const run = await mirrorRun(config);
    expect(run.report.images.map((i) => i.status)).toEqual(["copied"]);
    expect(run.mountsOfBase).toEqual(["mem/nowhere/else"]);
    expect(run.basePulls).toBe(1);
    const held = await fetch(`${mirror().url}/v2/${repo("stale")}/blobs/${base.digest}`, { method: "HEAD" });
    expect(held.status).toBe(200);
    // What it learned replaces nothing but comes first: the repository that really holds it.
    const after = await openStateStore(join(dir, "stale.db"), { baseDir: dir });
    expect((await after.blobLocations(target.host, base.digest, 5))[0]).toBe(repo("stale"));
    await after.close();
  });
});
