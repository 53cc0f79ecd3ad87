import { describe, expect, it } from "vitest";
import { isBasewarmError } from "../../src/errors.js";
import { parseReference } from "../../src/reference/index.js";

const D = `sha256:${"a".repeat(64)}`;

// [input, registry, repository, tag, digest] — normalized as distribution/reference does.
const valid: [string, string, string, string | undefined, string | undefined][] = [
  ["alpine", "docker.io", "library/alpine", "latest", undefined],
  ["alpine:3.20", "docker.io", "library/alpine", "3.20", undefined],
  ["library/alpine:3.20", "docker.io", "library/alpine", "3.20", undefined],
  ["docker.io/alpine", "docker.io", "library/alpine", "latest", undefined],
  ["docker.io/library/alpine:edge", "docker.io", "library/alpine", "edge", undefined],
  ["index.docker.io/library/alpine", "docker.io", "library/alpine", "latest", undefined],
  ["index.docker.io/alpine:1", "docker.io", "library/alpine", "1", undefined],
  ["user/app", "docker.io", "user/app", "latest", undefined],
  ["user/app/sub:tag", "docker.io", "user/app/sub", "tag", undefined],
  [`alpine@${D}`, "docker.io", "library/alpine", undefined, D],
  [`alpine:3.20@${D}`, "docker.io", "library/alpine", "3.20", D],
  [`ghcr.io/org/repo@${D}`, "ghcr.io", "org/repo", undefined, D],
  ["localhost/app", "localhost", "app", "latest", undefined],
  ["localhost:5000/app:v1", "localhost:5000", "app", "v1", undefined],
  ["127.0.0.1:5000/team/app", "127.0.0.1:5000", "team/app", "latest", undefined],
  ["[::1]:5000/app:1", "[::1]:5000", "app", "1", undefined],
  ["[fe80::1]/app", "[fe80::1]", "app", "latest", undefined],
  ["registry.example.com/a/b/c/d:x", "registry.example.com", "a/b/c/d", "x", undefined],
  ["my-registry.io:443/app", "my-registry.io:443", "app", "latest", undefined],
  ["Registry.Example.com/app", "Registry.Example.com", "app", "latest", undefined],
  ["EXAMPLE/app", "EXAMPLE", "app", "latest", undefined],
  ["quay.io/a_b/c__d:tag", "quay.io", "a_b/c__d", "tag", undefined],
  ["quay.io/a.b/c-d---e:tag", "quay.io", "a.b/c-d---e", "tag", undefined],
  ["gcr.io/distroless/static-debian12:nonroot", "gcr.io", "distroless/static-debian12", "nonroot", undefined],
  ["app:TAG_with.dots-and_underscores", "docker.io", "library/app", "TAG_with.dots-and_underscores", undefined],
  ["app:_leading_underscore", "docker.io", "library/app", "_leading_underscore", undefined],
  [`app:${"t".repeat(128)}`, "docker.io", "library/app", "t".repeat(128), undefined],
  ["a", "docker.io", "library/a", "latest", undefined],
  ["0", "docker.io", "library/0", "latest", undefined],
  ["foo.bar:5000/0/1", "foo.bar:5000", "0/1", "latest", undefined],
  [`app@sha512:${"b".repeat(128)}`, "docker.io", "library/app", undefined, `sha512:${"b".repeat(128)}`],
  [`app@sha384:${"c".repeat(96)}`, "docker.io", "library/app", undefined, `sha384:${"c".repeat(96)}`],
  ["xn--bcher-kva.example/app", "xn--bcher-kva.example", "app", "latest", undefined],
  ["a.b:1/c", "a.b:1", "c", "latest", undefined],
  ["host:5000/repo:5000", "host:5000", "repo", "5000", undefined],
  ["docker.io/user/app:1", "docker.io", "user/app", "1", undefined],
  ["registry-1.docker.io/library/alpine", "registry-1.docker.io", "library/alpine", "latest", undefined],
  ["localhost:5000/library/alpine", "localhost:5000", "library/alpine", "latest", undefined],
  ["example.com/" + "a".repeat(200), "example.com", "a".repeat(200), "latest", undefined],
  ["1.2.3.4/app", "1.2.3.4", "app", "latest", undefined],
  // No slash: `localhost:5000` is the official image "localhost" with tag 5000, as in Docker.
  ["localhost:5000", "docker.io", "library/localhost", "5000", undefined],
];

// [input, error message fragment]
const invalid: [string, RegExp][] = [
  ["", /empty reference/],
  ["Alpine", /repository name must be lowercase/],
  ["library/Alpine", /repository name must be lowercase/],
  ["docker.io/Library/alpine", /repository name must be lowercase/],
  ["ghcr.io/Org/repo", /repository name must be lowercase/],
  ["a".repeat(64), /64-byte hexadecimal/],
  ["b".repeat(64), /64-byte hexadecimal/],
  ["alpine@sha256:abc", /invalid sha256 digest: want 64 lowercase hex/],
  [`alpine@sha256:${"A".repeat(64)}`, /invalid sha256 digest: want 64 lowercase hex/],
  [`alpine@sha256:${"a".repeat(63)}`, /invalid sha256 digest/],
  [`alpine@sha256:${"a".repeat(65)}`, /invalid sha256 digest/],
  [`alpine@md5:${"a".repeat(32)}`, /unsupported digest algorithm "md5"/],
  ["alpine@", /invalid digest format/],
  ["alpine@sha256", /invalid digest format/],
  ["alpine@:abc", /invalid digest format/],
  ["alpine:", /invalid tag format/],
  ["alpine:-tag", /invalid tag format/],
  ["alpine:.tag", /invalid tag format/],
  [`alpine:${"t".repeat(129)}`, /invalid tag format/],
  ["alpine:ta/g", /invalid repository name format|invalid registry host/],
  ["alpine:tag with space", /invalid tag format/],
  ["alp ine", /invalid repository name format/],
  ["/alpine", /invalid registry host|repository name/],
  ["alpine/", /invalid repository name format|at least one component/],
  ["a//b", /invalid repository name format/],
  ["a/b/", /invalid repository name format/],
  ["-alpine", /invalid repository name format/],
  ["alpine-", /invalid repository name format/],
  ["alpine_", /invalid repository name format/],
  ["a___b", /invalid repository name format/],
  ["a..b", /invalid repository name format/],
  ["a._b", /invalid repository name format/],
  ["host:port/app", /invalid registry host/],
  ["-host.com/app", /invalid registry host/],
  ["host-.com/app", /invalid registry host/],
  ["host.com:/app", /invalid registry host/],
  ["[::1/app", /invalid registry host/],
  ["example.com/", /at least one component/],
  [":tag", /repository name must have at least one component/],
  ["@" + D, /repository name must have at least one component/],
  ["example.com/" + "a".repeat(250), /must not be more than 255 characters/],
  ["a".repeat(256), /must not be more than 255 characters/],
  ["alpine@@sha256:" + "a".repeat(64), /invalid digest format/],
  ["ALPINE:3", /lowercase/],
  ["example.com/a/B", /lowercase/],
];

describe("reference parsing (distribution/reference rules)", () => {
  it.each(valid)("%s", (input, registry, repository, tag, digest) => {
    const ref = parseReference(input);
    expect(ref.registry).toBe(registry);
    expect(ref.repository).toBe(repository);
    expect(ref.tag).toBe(tag);
    expect(ref.digest).toBe(digest);
    // The canonical string parses back to the same reference.
    expect(parseReference(ref.toString()).toString()).toBe(ref.toString());
  });

  it.each(invalid)("rejects %j", (input, message) => {
    let error: unknown;
    try {
      parseReference(input);
    } catch (err) {
      error = err;
    }
    expect(isBasewarmError(error, "REF_INVALID")).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(JSON.stringify(input));
  });

  it("gives digest references the right repository and token scope", () => {
    const ref = parseReference(`alpine@${D}`);
    expect(ref.repository).toBe("library/alpine");
    expect(ref.scope("pull")).toBe("repository:library/alpine:pull");
    expect(ref.identifier).toBe(D);
    expect(parseReference(`127.0.0.1:5000/cache/x@${D}`).scope("pull,push")).toBe("repository:cache/x:pull,push");
  });

  it("formats, pins and retags", () => {
    expect(parseReference("alpine:3.20").toString()).toBe("docker.io/library/alpine:3.20");
    expect(parseReference("alpine:3.20").familiar()).toBe("alpine:3.20");
    expect(parseReference("user/app").familiar()).toBe("user/app:latest");
    expect(parseReference("ghcr.io/o/r:1").familiar()).toBe("ghcr.io/o/r:1");
    expect(parseReference("alpine:3.20").withDigest(D).toString()).toBe(`docker.io/library/alpine:3.20@${D}`);
    expect(parseReference("alpine:3.20").pinned(D).toString()).toBe(`docker.io/library/alpine@${D}`);
    expect(parseReference("alpine:3.20").identifier).toBe("3.20");
    expect(parseReference("alpine", { defaultTag: false }).tag).toBeUndefined();
  });
});
