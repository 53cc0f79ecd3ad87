import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cacheReference, hostPathComponent, mirrorReference } from "../../src/naming/index.js";
import { parseReference } from "../../src/reference/index.js";

describe("mirror naming", () => {
  it.each([
    ["alpine:3.20", "mirror.local:5000/mirror/docker.io/library/alpine:3.20"],
    ["127.0.0.1:5000/team/app:v1", "mirror.local:5000/mirror/127.0.0.1-5000/team/app:v1"],
    ["my-registry.io/app:1", "mirror.local:5000/mirror/my--registry.io/app:1"],
    ["my-registry.io:443/app:1", "mirror.local:5000/mirror/my--registry.io-443/app:1"],
    [`ghcr.io/o/r@sha256:${"c".repeat(64)}`, `mirror.local:5000/mirror/ghcr.io/o/r@sha256:${"c".repeat(64)}`],
  ])("%s → %s", (source, target) => {
    expect(mirrorReference(parseReference(source), { registry: "mirror.local:5000", prefix: "mirror" }).toString()).toBe(target);
  });

  it("is injective over hosts (two sources never share a target)", () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/);
    const host = fc.tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.option(fc.integer({ min: 1, max: 65535 }))).map(([labels, port]) => labels.join(".") + (port === null ? "" : `:${port}`));
    fc.assert(fc.property(host, host, (a, b) => a === b || hostPathComponent(a) !== hostPathComponent(b)), { numRuns: 2000 });
  });

  it("refuses IPv6 literal hosts with advice", () => {
    expect(() => hostPathComponent("[::1]:5000")).toThrow(/IPv6 literal; mirror it through a hostname/);
  });

  it("places a catalog entry's cache under the cache prefix, as a reference without tag", () => {
    const ref = cacheReference("shared/tools", { registry: "mirror.local:5000", cachePrefix: "cache" });
    expect([ref.registry, ref.repository, ref.tag, ref.toString()]).toEqual(["mirror.local:5000", "cache/shared/tools", undefined, "mirror.local:5000/cache/shared/tools"]);
    expect(cacheReference("api", { registry: "m:5000", cachePrefix: "" }).repository).toBe("api");
    expect(() => cacheReference("API", { registry: "m:5000", cachePrefix: "cache" })).toThrow(/cache repository "cache\/API" is not a valid repository name: repository name must be lowercase/);
  });

  it("applies the reference parser's 255-character rule to the repository path, not host + path", () => {
    const target = { registry: "a-rather-long-mirror-host.example.com:5000", prefix: "m" };
    // m/ + docker.io/ + 243 = 255 characters of path: valid, although host + path is longer.
    const fits = parseReference(`example.com/${"a".repeat(243 - "example.com/".length + "docker.io/".length)}:1`);
    expect(mirrorReference(fits, target).repository.length).toBeLessThanOrEqual(255);
    const tooLong = parseReference(`${"b".repeat(240)}:1`); // valid upstream (library/ + 240), too long once prefixed
    expect(() => mirrorReference(tooLong, target)).toThrow(/is not a valid repository name: repository name must not be more than 255 characters; use a shorter target\.prefix/);
  });
});
