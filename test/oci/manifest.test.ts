import { describe, expect, it } from "vitest";
import { filterIndex, isBuildkitCache, MEDIA_TYPES, parseManifest, platformMatches, parsePlatform, sniffMediaType } from "../../src/oci/index.js";
import { isBasewarmError } from "../../src/errors.js";
import { makeArtifact, makeCacheImage, makeImage, makeLayer, makeMultiArch } from "../../testkit/images.js";

const digest = `sha256:${"a".repeat(64)}`;

function problem(bytes: string, mediaType = "application/vnd.oci.image.manifest.v1+json"): string {
  try {
    parseManifest(Buffer.from(bytes), mediaType, "reg/x@sha256:…");
  } catch (err) {
    expect(isBasewarmError(err, "MANIFEST_INVALID")).toBe(true);
    return (err as Error).message;
  }
  throw new Error("expected MANIFEST_INVALID");
}

describe("manifest parsing", () => {
  it("finds children of indexes and blobs of images, caches and artifacts", () => {
    const multi = makeMultiArch({ seed: "m", shared: [makeLayer("s", 10)], archLayerSize: 10 });
    const index = parseManifest(multi.bytes, multi.mediaType, "m");
    expect(index.kind).toBe("index");
    expect(index.children.map((c) => c.platform?.architecture)).toEqual(["amd64", "arm64"]);
    const image = makeImage({ seed: "i", layers: [makeLayer("a", 10), makeLayer("b", 10)], format: "docker" });
    expect(parseManifest(image.bytes, image.mediaType, "i").blobs.map((b) => b.digest)).toEqual(image.blobs.map((b) => b.digest));
    const cache = makeCacheImage("c", [makeLayer("c1", 10)]);
    const parsedCache = parseManifest(cache.bytes, cache.mediaType, "c");
    expect(isBuildkitCache(parsedCache)).toBe(true);
    expect(parsedCache.blobs).toHaveLength(2);
    const artifact = makeArtifact("sbom", "application/spdx+json", image);
    const parsedArtifact = parseManifest(artifact.bytes, artifact.mediaType, "a");
    expect(parsedArtifact.subject?.digest).toBe(image.digest);
    expect(parsedArtifact.blobs).toHaveLength(2);
  });

  it.each([
    ["invalid JSON", "{not json", /not valid JSON/],
    ["a JSON array", "[]", /not a JSON object/],
    ["an unknown schema version", JSON.stringify({ schemaVersion: 3 }), /unknown schemaVersion 3/],
    ["schema 1", JSON.stringify({ schemaVersion: 1, name: "x", fsLayers: [] }), /schema 1 manifests are deprecated/],
    ["a media type that contradicts the header", JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json", config: { digest, size: 1 }, layers: [] }), /registry says .* but the document says/],
    ["a descriptor with a bad digest", JSON.stringify({ schemaVersion: 2, config: { digest: "sha256:xyz", size: 1 }, layers: [] }), /config has an invalid digest/],
    ["a negative size", JSON.stringify({ schemaVersion: 2, config: { digest, size: -1 }, layers: [] }), /config has an invalid size/],
    ["layers that are not a list", JSON.stringify({ schemaVersion: 2, config: { digest, size: 1 }, layers: {} }), /layers is not a list/],
    ["neither index nor image", JSON.stringify({ schemaVersion: 2 }), /neither an index/],
    ["an index entry that is not an object", JSON.stringify({ schemaVersion: 2, manifests: [{ digest, size: 1 }, "x"] }), /manifests\[1\] is not a descriptor object/],
    ["an index entry without digest", JSON.stringify({ schemaVersion: 2, manifests: [{ size: 1 }] }), /manifests\[0\] has an invalid digest \(missing\)/],
    ["a fractional size", JSON.stringify({ schemaVersion: 2, config: { digest, size: 1.5 }, layers: [] }), /config has an invalid size 1.5/],
    ["an unsafe size", JSON.stringify({ schemaVersion: 2, config: { digest, size: 2 ** 60 }, layers: [] }), /config has an invalid size/],
    ["manifests that are not a list", JSON.stringify({ schemaVersion: 2, manifests: {} }), /manifests is not a list/],
    ["a media type that is not a string", JSON.stringify({ schemaVersion: 2, mediaType: 5, config: { digest, size: 1 } }), /mediaType is not a string/],
    ["a bad subject", JSON.stringify({ schemaVersion: 2, config: { digest, size: 1 }, subject: { digest: "md5:x", size: 1 } }), /subject has an invalid digest/],
    ["an index of more than 10000 entries", JSON.stringify({ schemaVersion: 2, manifests: new Array(10_001).fill({ digest, size: 1 }) }), /more than 10000/],
  ])("rejects %s with a clear message", (_name, bytes, pattern) => {
    expect(problem(bytes)).toMatch(pattern);
  });

  it("rejects the schema 1 media types before reading the body", () => {
    expect(problem("{}", "application/vnd.docker.distribution.manifest.v1+prettyjws")).toMatch(/schema 1/);
  });

  it("reads Windows platforms (os.version, os.features), artifact types and annotations of index entries", () => {
    const doc = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [
        { mediaType: MEDIA_TYPES.ociManifest, digest, size: 10, platform: { os: "windows", architecture: "amd64", "os.version": "10.0.17763.5329", "os.features": ["win32k"] } },
        { mediaType: MEDIA_TYPES.ociManifest, digest, size: 10, artifactType: "application/spdx+json", annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" } },
        { mediaType: MEDIA_TYPES.ociManifest, digest, size: 10, platform: { os: "linux" } },
      ],
    };
    const parsed = parseManifest(Buffer.from(JSON.stringify(doc)), MEDIA_TYPES.ociIndex, "w");
    expect(parsed.children[0]?.platform).toEqual({ os: "windows", architecture: "amd64", variant: "", osVersion: "10.0.17763.5329", osFeatures: ["win32k"] });
    expect(parsed.children[1]).toEqual({ mediaType: MEDIA_TYPES.ociManifest, digest, size: 10, artifactType: "application/spdx+json", annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" } });
    // A malformed platform object makes the entry match no platform; the index is still copied whole.
    expect(parsed.children[2]?.platform).toBeUndefined();
  });

  it("filters an index to the wanted platforms, keeping every other field and each kept entry verbatim", () => {
    const multi = makeMultiArch({ seed: "f", shared: [makeLayer("fs", 10)], archLayerSize: 10, platforms: [
      { os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64", variant: "v8" }, { os: "linux", architecture: "arm", variant: "v6" },
    ] });
    const original = JSON.parse(multi.bytes.toString()) as Record<string, unknown> & { manifests: unknown[] };
    const withExtras = Buffer.from(JSON.stringify({ ...original, annotations: { keep: "me" } }));
    const wanted = [parsePlatform("linux/arm64")];
    const reduced = filterIndex(withExtras, multi.mediaType, "f", (c) => wanted.some((w) => platformMatches(w, c.platform)));
    expect(reduced.children.map((c) => c.platform?.variant)).toEqual(["v8"]);
    expect(reduced.dropped.map((c) => c.platform?.architecture)).toEqual(["amd64", "arm"]);
    expect(JSON.parse(reduced.bytes.toString())).toEqual({ ...original, annotations: { keep: "me" }, manifests: [original.manifests[1]] });
    expect(Object.keys(JSON.parse(reduced.bytes.toString()) as object)).toEqual(Object.keys(JSON.parse(withExtras.toString()) as object));
    expect(() => filterIndex(makeImage({ seed: "i", layers: [] }).bytes, MEDIA_TYPES.ociManifest, "i", () => true)).toThrow(/not an index/);
  });

  it.each([
    [{ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerList, manifests: [] }, MEDIA_TYPES.dockerList],
    [{ schemaVersion: 2, manifests: [] }, MEDIA_TYPES.ociIndex],
    [{ schemaVersion: 2, config: {} }, MEDIA_TYPES.ociManifest],
    [{ schemaVersion: 1, name: "x" }, MEDIA_TYPES.dockerSchema1],
    ["not json", "application/octet-stream"],
    [[1, 2], "application/octet-stream"],
  ])("sniffs the media type of %j as %s", (doc, expected) => {
    expect(sniffMediaType(Buffer.from(typeof doc === "string" ? doc : JSON.stringify(doc)))).toBe(expected);
  });
});
