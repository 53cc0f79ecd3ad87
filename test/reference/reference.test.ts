/**
 * Reference vectors checked against distribution/reference (ParseNormalizedNamed + TagNameOnly,
 * v0.6.0 and later), which is what Docker and BuildKit parse `FROM` lines with.
 */
import { describe, expect, it } from "vitest";
import { BasewarmError, isBasewarmError } from "../../src/errors.js";
import { Reference, parseReference, tryParseReference } from "../../src/reference/index.js";

const HEX = "0123456789abcdef".repeat(4);
const D = `sha256:${HEX}`;
const D512 = `sha512:${"b".repeat(128)}`;
const D384 = `sha384:${"c".repeat(96)}`;
const HEX64 = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";

type Valid = [input: string, registry: string, repository: string, tag: string | undefined, digest: string | undefined];

const valid: Valid[] = [
  // docker.io defaulting and the library/ namespace for one-component names
  ["alpine", "docker.io", "library/alpine", "latest", undefined],
  ["alpine:3.20", "docker.io", "library/alpine", "3.20", undefined],
  ["library/alpine:3.20", "docker.io", "library/alpine", "3.20", undefined],
  ["docker.io/alpine", "docker.io", "library/alpine", "latest", undefined],
  ["docker.io/library/alpine:edge", "docker.io", "library/alpine", "edge", undefined],
  ["docker.io/library/foo/bar", "docker.io", "library/foo/bar", "latest", undefined],
  ["index.docker.io/library/alpine", "docker.io", "library/alpine", "latest", undefined],
  ["index.docker.io/alpine:1", "docker.io", "library/alpine", "1", undefined],
  ["index.docker.io/user/app", "docker.io", "user/app", "latest", undefined],
  ["user/app", "docker.io", "user/app", "latest", undefined],
  ["user/app/sub:tag", "docker.io", "user/app/sub", "tag", undefined],
  ["docker.io/user/app:1", "docker.io", "user/app", "1", undefined],
  // registry-1.docker.io is a different host name as far as references go (Docker keeps it too)
  ["registry-1.docker.io/library/alpine", "registry-1.docker.io", "library/alpine", "latest", undefined],
  // digests, alone and with a tag
  [`alpine@${D}`, "docker.io", "library/alpine", undefined, D],
  [`alpine:3.20@${D}`, "docker.io", "library/alpine", "3.20", D],
  [`busybox:latest@${D}`, "docker.io", "library/busybox", "latest", D],
  [`docker.io/library/alpine:3.20@${D}`, "docker.io", "library/alpine", "3.20", D],
  [`ghcr.io/org/repo@${D}`, "ghcr.io", "org/repo", undefined, D],
  [`example.com:5000/a/b@${D}`, "example.com:5000", "a/b", undefined, D],
  [`app@${D512}`, "docker.io", "library/app", undefined, D512],
  [`app@${D384}`, "docker.io", "library/app", undefined, D384],
  // host detection: '.', ':', localhost, or uppercase in the first component
  ["localhost/app", "localhost", "app", "latest", undefined],
  ["localhost:5000/app:v1", "localhost:5000", "app", "v1", undefined],
  ["localhost:5000/library/alpine", "localhost:5000", "library/alpine", "latest", undefined],
  ["LOCALHOST/app", "LOCALHOST", "app", "latest", undefined],
  ["127.0.0.1:5000/team/app", "127.0.0.1:5000", "team/app", "latest", undefined],
  ["1.2.3.4/app", "1.2.3.4", "app", "latest", undefined],
  ["192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", undefined],
  ["registry.example.com/a/b/c/d:x", "registry.example.com", "a/b/c/d", "x", undefined],
  ["sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", undefined],
  ["b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app", "test.example.com", undefined],
  ["my-registry.io:443/app", "my-registry.io:443", "app", "latest", undefined],
  ["test-com:8080/foo", "test-com:8080", "foo", "latest", undefined],
  ["host:5000/repo:5000", "host:5000", "repo", "5000", undefined],
  ["a.b:1/c", "a.b:1", "c", "latest", undefined],
  ["foo.bar:5000/0/1", "foo.bar:5000", "0/1", "latest", undefined],
  ["xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", undefined],
  ["Registry.Example.com/app", "Registry.Example.com", "app", "latest", undefined],
  ["EXAMPLE/app", "EXAMPLE", "app", "latest", undefined],
  ["Docker/docker", "Docker", "docker", "latest", undefined],
  ["test_com/foo", "docker.io", "test_com/foo", "latest", undefined],
  ["foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", undefined],
  // IPv6 literals in brackets, with and without a port
  ["[::1]:5000/app:1", "[::1]:5000", "app", "1", undefined],
  ["[::1]/app", "[::1]", "app", "latest", undefined],
  [`[2001:db8::1]:5000/repo:tag@${D}`, "[2001:db8::1]:5000", "repo", "tag", D],
  ["[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian", "latest", undefined],
  ["[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo", "latest", undefined],
  // one component without a slash is never a host, even when it looks like one
  ["localhost", "docker.io", "library/localhost", "latest", undefined],
  ["localhost:5000", "docker.io", "library/localhost", "5000", undefined],
  ["example.com", "docker.io", "library/example.com", "latest", undefined],
  ["docker.io", "docker.io", "library/docker.io", "latest", undefined],
  ["192.168.0.1", "docker.io", "library/192.168.0.1", "latest", undefined],
  ["192.168.0.1:80", "docker.io", "library/192.168.0.1", "80", undefined],
  // path component separators
  ["quay.io/a_b/c__d:tag", "quay.io", "a_b/c__d", "tag", undefined],
  ["quay.io/a.b/c-d---e:tag", "quay.io", "a.b/c-d---e", "tag", undefined],
  ["dock__er/docker", "docker.io", "dock__er/docker", "latest", undefined],
  ["docker---rules/docker", "docker.io", "docker---rules/docker", "latest", undefined],
  ["gcr.io/distroless/static-debian12:nonroot", "gcr.io", "distroless/static-debian12", "nonroot", undefined],
  ["d/docker", "docker.io", "d/docker", "latest", undefined],
  ["jess/t", "docker.io", "jess/t", "latest", undefined],
  ["a", "docker.io", "library/a", "latest", undefined],
  ["0", "docker.io", "library/0", "latest", undefined],
  // tag grammar: [\w][\w.-]{0,127}, case kept
  ["app:TAG_with.dots-and_underscores", "docker.io", "library/app", "TAG_with.dots-and_underscores", undefined],
  ["app:_leading_underscore", "docker.io", "library/app", "_leading_underscore", undefined],
  ["app:0leading-digit", "docker.io", "library/app", "0leading-digit", undefined],
  ["lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", undefined],
  [`app:${"t".repeat(128)}`, "docker.io", "library/app", "t".repeat(128), undefined],
  // 64 hex characters are refused only as the whole input (it would be an image ID)
  [`${"a".repeat(64)}:tag`, "docker.io", `library/${"a".repeat(64)}`, "tag", undefined],
  [`docker.io/${HEX64}`, "docker.io", `library/${HEX64}`, "latest", undefined],
  [HEX64.slice(0, 63), "docker.io", `library/${HEX64.slice(0, 63)}`, "latest", undefined],
  ["thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker.io", "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "latest", undefined],
  // 255 is the limit for the repository path after normalization; the host does not count
  ["a".repeat(247), "docker.io", `library/${"a".repeat(247)}`, "latest", undefined],
  [`example.com/${"a".repeat(255)}`, "example.com", "a".repeat(255), "latest", undefined],
  [`${"a/".repeat(127)}a`, "docker.io", `${"a/".repeat(127)}a`, "latest", undefined],
];

// [input, the reason after `invalid reference "<input>": `]
const invalid: [string, string][] = [
  ["", "empty reference"],
  // whitespace is named as such, not by the symptom another check would report
  ["BAD REF", "contains whitespace"],
  ["alpine:3 ", "contains whitespace"],
  ["alpine\t3", "contains whitespace"],
  // uppercase repository paths (a first component with uppercase is a host instead)
  ["Alpine", "repository name must be lowercase"],
  ["Foo", "repository name must be lowercase"],
  ["Uppercase:tag", "repository name must be lowercase"],
  ["ALPINE:3", "repository name must be lowercase"],
  ["library/Alpine", "repository name must be lowercase"],
  ["docker/Docker", "repository name must be lowercase"],
  ["docker.io/Library/alpine", "repository name must be lowercase"],
  ["ghcr.io/Org/repo", "repository name must be lowercase"],
  ["example.com/a/B", "repository name must be lowercase"],
  ["test:5000/Uppercase/lowercase:tag", "repository name must be lowercase"],
  [`Alpine@${D}`, "repository name must be lowercase"],
  // 64-hex names
  ["a".repeat(64), "cannot specify 64-byte hexadecimal strings as a repository name"],
  [HEX64, "cannot specify 64-byte hexadecimal strings as a repository name"],
  // digests (go-digest rules)
  ["alpine@sha256:abc", "invalid sha256 digest: want 64 lowercase hex characters"],
  [`alpine@sha256:${HEX.toUpperCase()}`, "invalid sha256 digest: want 64 lowercase hex characters"],
  [`alpine@sha256:${HEX.slice(1)}`, "invalid sha256 digest: want 64 lowercase hex characters"],
  [`alpine@sha256:${HEX}0`, "invalid sha256 digest: want 64 lowercase hex characters"],
  [`alpine@sha256:${"g".repeat(64)}`, "invalid sha256 digest: want 64 lowercase hex characters"],
  [`alpine@sha512:${HEX}`, "invalid sha512 digest: want 128 lowercase hex characters"],
  [`alpine@md5:${"a".repeat(32)}`, 'unsupported digest algorithm "md5"'],
  [`validname@invaliddigest:${"f".repeat(64)}`, 'unsupported digest algorithm "invaliddigest"'],
  [`alpine@sha256+b64:${HEX}`, 'unsupported digest algorithm "sha256+b64"'],
  [`alpine@SHA256:${HEX}`, "invalid digest format"],
  ["alpine@", "invalid digest format"],
  ["alpine:tag@", "invalid digest format"],
  ["alpine@sha256", "invalid digest format"],
  ["alpine@sha256:", "invalid digest format"],
  ["alpine@:abc", "invalid digest format"],
  [`alpine@@${D}`, "invalid digest format"],
  [`alpine@${D}@${D}`, "invalid digest format"],
  // tags
  ["alpine:", "invalid tag format"],
  ["alpine:-tag", "invalid tag format"],
  ["alpine:.tag", "invalid tag format"],
  [`alpine:${"t".repeat(129)}`, "invalid tag format"],
  ["alpine:tag with space", "contains whitespace"],
  ["alpine:ta$g", "invalid tag format"],
  ["[fc00::1]", "invalid tag format"],
  // registry hosts
  ["host:port/app", 'invalid registry host "host:port"'],
  ["alpine:ta/g", 'invalid registry host "alpine:ta"'],
  ["-docker.io/docker/docker", 'invalid registry host "-docker.io"'],
  ["host-.com/app", 'invalid registry host "host-.com"'],
  ["host.com:/app", 'invalid registry host "host.com:"'],
  ["[::1/app", 'invalid registry host "[::1"'],
  ["fc00::1:5000/debian", 'invalid registry host "fc00::1:5000"'],
  ["[fe80::1%eth0]:5000/debian", 'invalid registry host "[fe80::1%eth0]:5000"'],
  ["[2001:db8:3:4::192.0.2.33]:5000/debian", 'invalid registry host "[2001:db8:3:4::192.0.2.33]:5000"'],
  ["https://github.com/docker/docker", 'invalid registry host "https:"'],
  // empty names and empty path components
  [":tag", "repository name must have at least one component"],
  [`@${D}`, "repository name must have at least one component"],
  ["example.com/", "repository name must have at least one component"],
  ["docker.io/", "repository name must have at least one component"],
  ["localhost/", "repository name must have at least one component"],
  ["[::1]:5000/", "repository name must have at least one component"],
  ["/alpine", 'repository name has an empty path component (leading, trailing or doubled "/")'],
  ["alpine/", 'repository name has an empty path component (leading, trailing or doubled "/")'],
  ["a/b/", 'repository name has an empty path component (leading, trailing or doubled "/")'],
  ["a//b", 'repository name has an empty path component (leading, trailing or doubled "/")'],
  ["docker///docker", 'repository name has an empty path component (leading, trailing or doubled "/")'],
  ["docker.io/docker///docker", 'repository name has an empty path component (leading, trailing or doubled "/")'],
  // path component grammar
  ["alp ine", "contains whitespace"],
  [" alpine", "contains whitespace"],
  ["alpine ", "contains whitespace"],
  ["-alpine", "invalid repository name format"],
  ["alpine-", "invalid repository name format"],
  ["alpine_", "invalid repository name format"],
  ["-docker/docker", "invalid repository name format"],
  ["docker-/docker", "invalid repository name format"],
  ["a___b", "invalid repository name format"],
  ["____/____", "invalid repository name format"],
  ["_docker/_docker", "invalid repository name format"],
  ["a..b", "invalid repository name format"],
  ["a._b", "invalid repository name format"],
  ["dock-.er/docker", 'invalid registry host "dock-.er"'],
  ["alpine:tag:more", "invalid repository name format"],
  ["[fc00::1]:5000", "invalid repository name format"],
  ["aa/asdf$$^/aa", "invalid repository name format"],
  // length of the normalized repository path
  ["a".repeat(248), "repository name must not be more than 255 characters"],
  [`example.com/${"a".repeat(256)}`, "repository name must not be more than 255 characters"],
  [`${"a/".repeat(128)}a:tag`, "repository name must not be more than 255 characters"],
];

/** Test titles stay short for the 250-character vectors. */
function label(input: string): string {
  const quoted = JSON.stringify(input);
  return quoted.length <= 72 ? quoted : `${quoted.slice(0, 40)}…(${input.length} chars)`;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("parseReference: valid references normalize as Docker does", () => {
  it("has a broad table", () => {
    expect(valid.length + invalid.length).toBeGreaterThanOrEqual(150);
  });

  it.each(valid.map((v) => [label(v[0]), ...v] as const))("%s", (_title, input, registry, repository, tag, digest) => {
    const ref = parseReference(input);
    expect({ registry: ref.registry, repository: ref.repository, tag: ref.tag, digest: ref.digest }).toEqual({ registry, repository, tag, digest });
    const canonical = `${registry}/${repository}${tag === undefined ? "" : `:${tag}`}${digest === undefined ? "" : `@${digest}`}`;
    expect(ref.toString()).toBe(canonical);
    expect(ref.name).toBe(`${registry}/${repository}`);
    // The canonical and familiar forms parse back to the same reference.
    expect(parseReference(canonical).toString()).toBe(canonical);
    expect(parseReference(ref.familiar()).toString()).toBe(canonical);
  });
});

describe("parseReference: invalid references fail with REF_INVALID and the reason", () => {
  it.each(invalid.map((v) => [label(v[0]), ...v] as const))("rejects %s", (_title, input, reason) => {
    const error = thrown(() => parseReference(input));
    expect(error).toBeInstanceOf(BasewarmError);
    expect(isBasewarmError(error, "REF_INVALID")).toBe(true);
    const message = (error as Error).message;
    const expected = `invalid reference ${JSON.stringify(input)}: ${reason}`;
    expect(message.slice(0, expected.length)).toBe(expected);
    expect(message).not.toContain("\n");
    expect(tryParseReference(input)).toBeNull();
  });
});

describe("Reference", () => {
  it("gives digest references the repository and token scope, not `alpine@sha256`", () => {
    const ref = parseReference(`alpine@${D}`);
    expect(ref.repository).toBe("library/alpine");
    expect(ref.scope("pull")).toBe("repository:library/alpine:pull");
    expect(ref.scope("pull,push")).toBe("repository:library/alpine:pull,push");
    expect(ref.identifier).toBe(D);
    expect(parseReference(`alpine:3.20@${D}`).scope("pull")).toBe("repository:library/alpine:pull");
    expect(parseReference(`127.0.0.1:5000/cache/x@${D}`).scope("push")).toBe("repository:cache/x:push");
    expect(parseReference(`[::1]:5000/a/b:1@${D}`).scope("pull")).toBe("repository:a/b:pull");
  });

  it.each([
    ["alpine", "alpine:latest"],
    ["alpine:3.20", "alpine:3.20"],
    [`alpine@${D}`, `alpine@${D}`],
    [`busybox:latest@${D}`, `busybox:latest@${D}`],
    ["docker.io/library/alpine", "alpine:latest"],
    ["index.docker.io/user/app", "user/app:latest"],
    ["user/app", "user/app:latest"],
    ["library/foo/bar", "library/foo/bar:latest"],
    ["other/library", "other/library:latest"],
    ["ghcr.io/o/r:1", "ghcr.io/o/r:1"],
    ["127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase:latest"],
    ["registry-1.docker.io/library/alpine", "registry-1.docker.io/library/alpine:latest"],
    ["Foo/bar", "Foo/bar:latest"],
  ])("familiar(%s) = %s", (input, familiar) => {
    expect(parseReference(input).familiar()).toBe(familiar);
  });

  it("identifier prefers the digest, then the tag, then latest", () => {
    expect(parseReference("alpine:3.20").identifier).toBe("3.20");
    expect(parseReference(`alpine:3.20@${D}`).identifier).toBe(D);
    expect(parseReference("alpine").identifier).toBe("latest");
    const bare = parseReference("alpine", { defaultTag: false });
    expect(bare.tag).toBeUndefined();
    expect(bare.identifier).toBe("latest");
    expect(bare.toString()).toBe("docker.io/library/alpine");
    expect(parseReference(`alpine@${D}`, { defaultTag: false }).tag).toBeUndefined();
  });

  it("withDigest keeps the tag; pinned drops it; withTag replaces or clears it", () => {
    const ref = parseReference("alpine:3.20");
    expect(ref.withDigest(D).toString()).toBe(`docker.io/library/alpine:3.20@${D}`);
    expect(ref.withDigest(D).tag).toBe("3.20");
    expect(ref.pinned(D).toString()).toBe(`docker.io/library/alpine@${D}`);
    expect(ref.pinned(D).tag).toBeUndefined();
    expect(ref.pinned(D).scope("pull")).toBe("repository:library/alpine:pull");
    expect(ref.withDigest(D).withDigest(D512).digest).toBe(D512);
    expect(ref.withTag("edge").toString()).toBe("docker.io/library/alpine:edge");
    expect(ref.withTag(undefined).toString()).toBe("docker.io/library/alpine");
    expect(parseReference(`alpine:1@${D}`).withTag("2").toString()).toBe("docker.io/library/alpine:2");
    // The original is untouched (references are values).
    expect(ref.toString()).toBe("docker.io/library/alpine:3.20");
  });

  it.each([
    ["sha256:abc", "invalid sha256 digest: want 64 lowercase hex characters"],
    [`sha256:${HEX.toUpperCase()}`, "invalid sha256 digest: want 64 lowercase hex characters"],
    [`md5:${"a".repeat(32)}`, 'unsupported digest algorithm "md5"'],
    [`sha256:${HEX}/../../x`, "invalid digest format"],
    ["", "invalid digest format"],
  ])("withDigest and pinned refuse digest %j (registry data ends up in URL paths)", (digest, reason) => {
    const ref = parseReference("ghcr.io/o/r:1");
    for (const make of [() => ref.withDigest(digest), () => ref.pinned(digest)]) {
      const error = thrown(make);
      expect(isBasewarmError(error, "REF_INVALID")).toBe(true);
      expect((error as Error).message).toBe(`invalid digest ${JSON.stringify(digest)} for ghcr.io/o/r: ${reason}`);
    }
  });

  it.each(["", "-x", ".x", "a/b", "../x", "t".repeat(129), "a b"])("withTag and the constructor refuse tag %j", (tag) => {
    const error = thrown(() => parseReference("ghcr.io/o/r").withTag(tag));
    expect(isBasewarmError(error, "REF_INVALID")).toBe(true);
    expect((error as Error).message).toMatch(new RegExp(`^invalid tag ${JSON.stringify(tag).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} for ghcr\\.io/o/r: want`));
    expect(() => new Reference({ registry: "ghcr.io", repository: "o/r", tag })).toThrow(BasewarmError);
  });
});
