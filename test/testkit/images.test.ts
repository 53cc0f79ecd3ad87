import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { makeIndex, makeImage, makeLayer, makeMultiArch, pushImage, sha256 } from "../../testkit/images.js";
import { useRegistry } from "../helpers/registries.js";

describe("testkit images", () => {
  const registry = useRegistry();

  it("generates the same digests on every call", () => {
    const a = makeImage({ seed: "x", layers: [makeLayer("l1", 1000)] });
    const b = makeImage({ seed: "x", layers: [makeLayer("l1", 1000)] });
    expect(a.digest).toBe(b.digest);
    expect(a.digest).toBe(sha256(a.bytes));
  });

  it("pushes single and multi-arch images that skopeo reads back with the same digests", async () => {
    const r = registry();
    const single = makeImage({ seed: "single", layers: [makeLayer("s1", 2048)], format: "docker" });
    const multi = makeMultiArch({ seed: "multi", shared: [makeLayer("shared", 4096)], archLayerSize: 1024 });
    await pushImage(r.url, "test/single", single, "v1");
    await pushImage(r.url, "test/multi", multi, "v1");
    for (const [repo, image] of [["test/single", single], ["test/multi", multi]] as const) {
      const digest = execFileSync("skopeo", ["inspect", "--tls-verify=false", "--raw", `docker://${r.host}/${repo}:v1`]);
      expect(sha256(digest)).toBe(image.digest);
    }
    expect(makeIndex(multi.children).digest).toBe(multi.digest);
  });
});
