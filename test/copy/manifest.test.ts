import { describe, expect, it } from "vitest";
import { isBuildkitCache, parseManifest } from "../../src/copy/index.js";
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

describe("manifest parsing for copy", () => {
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
  ])("rejects %s with a clear message", (_name, bytes, pattern) => {
    expect(problem(bytes)).toMatch(pattern);
  });

  it("rejects the schema 1 media types before reading the body", () => {
    expect(problem("{}", "application/vnd.docker.distribution.manifest.v1+prettyjws")).toMatch(/schema 1/);
  });
});
