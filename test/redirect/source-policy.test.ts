import { describe, expect, it } from "vitest";
import { mirrorReference } from "../../src/naming/index.js";
import { parseReference } from "../../src/reference/index.js";
import { sourcePolicy, type HeldImage } from "../../src/redirect/index.js";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const target = { registry: "127.0.0.1:5000", prefix: "mirror" };

function held(source: string, upstreamDigest: string, mirrorDigest = upstreamDigest): HeldImage {
  const ref = parseReference(source);
  return { source: ref, upstreamDigest, mirror: mirrorReference(ref, target).withDigest(mirrorDigest) };
}

describe("source policy", () => {
  it("converts both the tag form and the resolved tag@digest form to the pinned mirror reference", () => {
    const policy = sourcePolicy([held("alpine:3.20", D("a"))]);
    const to = { identifier: `docker-image://127.0.0.1:5000/mirror/docker.io/library/alpine:3.20@${D("a")}` };
    expect(policy).toEqual({
      rules: [
        { action: "CONVERT", selector: { identifier: "docker-image://docker.io/library/alpine:3.20" }, updates: to },
        { action: "CONVERT", selector: { identifier: `docker-image://docker.io/library/alpine:3.20@${D("a")}` }, updates: to },
      ],
    });
  });

  it("with filtered platforms, matches the upstream digest but pins the mirror's own digest", () => {
    const [tagRule, digestRule] = sourcePolicy([held("127.0.0.1:5001/lib/base:2", D("b"), D("c"))]).rules;
    expect(tagRule?.selector.identifier).toBe("docker-image://127.0.0.1:5001/lib/base:2");
    expect(digestRule?.selector.identifier).toBe(`docker-image://127.0.0.1:5001/lib/base:2@${D("b")}`);
    expect(digestRule?.updates.identifier).toBe(`docker-image://127.0.0.1:5000/mirror/127.0.0.1-5001/lib/base:2@${D("c")}`);
    expect(tagRule?.updates).toEqual(digestRule?.updates);
  });

  it("a source pinned by digest alone has one form and one rule", () => {
    const policy = sourcePolicy([held(`ghcr.io/org/tool@${D("d")}`, D("d"))]);
    expect(policy.rules).toEqual([
      { action: "CONVERT", selector: { identifier: `docker-image://ghcr.io/org/tool@${D("d")}` }, updates: { identifier: `docker-image://127.0.0.1:5000/mirror/ghcr.io/org/tool@${D("d")}` } },
    ]);
  });

  it("is sorted by source, so the file is stable from run to run, and round-trips through JSON with BuildKit's field names", () => {
    const policy = sourcePolicy([held("ghcr.io/org/tool:1", D("1")), held("alpine:3.20", D("2")), held("docker.io/user/app:1", D("3"))]);
    expect(policy.rules.map((r) => r.selector.identifier).filter((_, i) => i % 2 === 0)).toEqual([
      "docker-image://docker.io/library/alpine:3.20", "docker-image://docker.io/user/app:1", "docker-image://ghcr.io/org/tool:1",
    ]);
    const json = JSON.parse(JSON.stringify(policy)) as { rules: Record<string, unknown>[] };
    for (const rule of json.rules) expect(Object.keys(rule).sort()).toEqual(["action", "selector", "updates"]);
  });

  it("no held images: an empty rule list, which BuildKit accepts as no policy", () => {
    expect(sourcePolicy([])).toEqual({ rules: [] });
  });
});
