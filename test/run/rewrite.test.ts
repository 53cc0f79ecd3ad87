/**
 * `basewarm rewrite` pins what the mirror really holds, read from the state file without asking a
 * registry: the digest of the last good copy, never an upstream digest whose copy failed, and the
 * filtered index's own digest when `mirror.platforms` filters. Each pin is then pulled back from the
 * real mirror registry to prove it is there.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeImage, makeLayer, makeMultiArch, pushImage } from "../../testkit/images.js";
import { basewarm, workspace } from "../helpers/cli.js";
import { useFaultProxies } from "../helpers/fault-proxy.js";
import { useRegistry } from "../helpers/registries.js";

const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

function pinnedDigest(text: string): string {
  const match = /@(sha256:[0-9a-f]{64})/.exec(text);
  if (!match) throw new Error(`no pinned digest in ${JSON.stringify(text)}`);
  return match[1]!;
}

describe("rewrite pins what the mirror holds", () => {
  const upstream = useRegistry();
  const mirror = useRegistry();
  const startProxy = useFaultProxies();

  async function mirrorHas(repository: string, digest: string): Promise<boolean> {
    const response = await fetch(`${mirror().url}/v2/${repository}/manifests/${digest}`, { method: "HEAD", headers: { accept: MANIFEST_ACCEPT } });
    return response.status === 200;
  }

  it("after a failed copy of a moved tag, pins the digest the mirror still holds, not the new upstream one", async () => {
    const first = makeImage({ seed: "rw-moved-1", layers: [makeLayer("rw-moved-1", 1500)] });
    const second = makeImage({ seed: "rw-moved-2", layers: [makeLayer("rw-moved-2", 1500)] });
    await pushImage(upstream().url, "lib/moving", first, "1");
    // The mirror is reached through a proxy that can refuse manifest pushes.
    const proxy = await startProxy(mirror());
    const dir = workspace({
      "Dockerfile": `FROM ${upstream().host}/lib/moving:1\nRUN true\n`,
      "basewarm.yaml": `target: { registry: "${proxy.host}", prefix: rw }\nstate: s.db\ncatalog:\n  - dockerfile: Dockerfile\n`,
    });
    const config = join(dir, "basewarm.yaml");
    const repository = `rw/${upstream().host.replace(":", "-")}/lib/moving`;

    expect((await basewarm(["mirror", "--config", config])).code).toBe(0);
    expect(pinnedDigest((await basewarm(["rewrite", join(dir, "Dockerfile"), "--config", config])).stdout)).toBe(first.digest);

    await pushImage(upstream().url, "lib/moving", second, "1");
    proxy.setRules([{ method: "PUT", path: /\/manifests\//, fault: { kind: "status", status: 500 }, times: Infinity }]);
    const failed = await basewarm(["mirror", "--config", config]);
    expect(failed.code).toBe(1);
    // The state did see the new upstream digest…
    const history = await basewarm(["history", `${upstream().host}/lib/moving:1`, "--config", config, "--json"]);
    expect(history.stdout).toContain(second.digest);
    expect(await mirrorHas(repository, second.digest)).toBe(false);

    // …but the rewrite pins what the mirror holds, and that pulls.
    const rewritten = await basewarm(["rewrite", join(dir, "Dockerfile"), "--config", config]);
    expect(rewritten.code, rewritten.stderr).toBe(0);
    expect(rewritten.stdout).toBe(`FROM ${proxy.host}/${repository}@${first.digest}\nRUN true\n`);
    expect(await mirrorHas(repository, first.digest)).toBe(true);

    // Once a copy succeeds, the rewrite follows it.
    proxy.setRules([]);
    expect((await basewarm(["mirror", "--config", config])).code).toBe(0);
    expect(pinnedDigest((await basewarm(["rewrite", join(dir, "Dockerfile"), "--config", config])).stdout)).toBe(second.digest);
  });

  it("an image never mirrored is left unpinned, pointing at the mirror's tag", async () => {
    const image = makeImage({ seed: "rw-never", layers: [makeLayer("rw-never", 800)] });
    await pushImage(upstream().url, "lib/never", image, "1");
    await pushImage(upstream().url, "lib/other", image, "1");
    const dir = workspace({
      "Dockerfile": `FROM ${upstream().host}/lib/never:1\n`,
      "Other": `FROM ${upstream().host}/lib/other:1\n`,
      "basewarm.yaml": `target: { registry: "${mirror().host}", prefix: rn }\nstate: s.db\ncatalog:\n  - dockerfile: Other\n`,
    });
    const config = join(dir, "basewarm.yaml");
    expect((await basewarm(["mirror", "--config", config])).code).toBe(0);
    const rewritten = await basewarm(["rewrite", join(dir, "Dockerfile"), "--config", config]);
    expect(rewritten.stdout).toBe(`FROM ${mirror().host}/rn/${upstream().host.replace(":", "-")}/lib/never:1\n`);
  });

  it("with mirror.platforms, pins the filtered index's own digest from the state, without --resolve", async () => {
    const image = makeMultiArch({ seed: "rw-filtered", shared: [makeLayer("rw-filtered-shared", 1000)], archLayerSize: 600 });
    await pushImage(upstream().url, "lib/multi", image, "1");
    const dir = workspace({
      "Dockerfile": `FROM ${upstream().host}/lib/multi:1\n`,
      "basewarm.yaml": [
        `target: { registry: "${mirror().host}", prefix: rf }`,
        "state: s.db",
        "mirror: { platforms: [linux/amd64] }",
        "catalog:",
        "  - dockerfile: Dockerfile",
      ].join("\n"),
    });
    const config = join(dir, "basewarm.yaml");
    const repository = `rf/${upstream().host.replace(":", "-")}/lib/multi`;
    expect((await basewarm(["mirror", "--config", config])).code).toBe(0);

    const rewritten = await basewarm(["rewrite", join(dir, "Dockerfile"), "--config", config]);
    const pinned = pinnedDigest(rewritten.stdout);
    expect(pinned).not.toBe(image.digest);
    expect(await mirrorHas(repository, pinned)).toBe(true);
    // --resolve asks the mirror and agrees with the state.
    const resolved = await basewarm(["rewrite", join(dir, "Dockerfile"), "--config", config, "--resolve"]);
    expect(pinnedDigest(resolved.stdout)).toBe(pinned);
  });
});
