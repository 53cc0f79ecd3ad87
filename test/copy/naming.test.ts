import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hostPathComponent, targetReference } from "../../src/copy/index.js";
import { parseReference } from "../../src/reference/index.js";

describe("mirror naming", () => {
  it.each([
    ["alpine:3.20", "mirror.local:5000/mirror/docker.io/library/alpine:3.20"],
    ["127.0.0.1:5000/team/app:v1", "mirror.local:5000/mirror/127.0.0.1-5000/team/app:v1"],
    ["my-registry.io/app:1", "mirror.local:5000/mirror/my--registry.io/app:1"],
    ["my-registry.io:443/app:1", "mirror.local:5000/mirror/my--registry.io-443/app:1"],
    [`ghcr.io/o/r@sha256:${"c".repeat(64)}`, `mirror.local:5000/mirror/ghcr.io/o/r@sha256:${"c".repeat(64)}`],
  ])("%s → %s", (source, target) => {
    expect(targetReference(parseReference(source), { registry: "mirror.local:5000", prefix: "mirror" }).toString()).toBe(target);
  });

  it("is injective over hosts (two sources never share a target)", () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/);
    const host = fc.tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.option(fc.integer({ min: 1, max: 65535 }))).map(([labels, port]) => labels.join(".") + (port === null ? "" : `:${port}`));
    fc.assert(fc.property(host, host, (a, b) => a === b || hostPathComponent(a) !== hostPathComponent(b)), { numRuns: 2000 });
  });

  it("refuses IPv6 literal hosts with advice", () => {
    expect(() => hostPathComponent("[::1]:5000")).toThrow(/IPv6 literal; mirror it through a hostname/);
  });
});
