import { describe, expect, it } from "vitest";
import { indexForPlatforms } from "../../src/copy/platforms.js";
import { parsePlatform } from "../../src/oci/index.js";
import { sha256 } from "../../testkit/images.js";

const INDEX = "application/vnd.oci.image.index.v1+json";
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const d = (seed: string) => `sha256:${sha256(seed).slice("sha256:".length)}`;

/** An index as BuildKit pushes it: two images, each followed by its attestation manifest. */
function buildkitIndex(): Buffer {
  const image = (arch: string) => ({ mediaType: MANIFEST, digest: d(arch), size: 500, platform: { os: "linux", architecture: arch } });
  const attestation = (arch: string) => ({
    mediaType: MANIFEST, digest: d(`att-${arch}`), size: 400, platform: { os: "unknown", architecture: "unknown" },
    annotations: { "vnd.docker.reference.digest": d(arch), "vnd.docker.reference.type": "attestation-manifest" },
  });
  // Spaces in the document: a re-serialized copy could not keep its digest by accident.
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [image("amd64"), attestation("amd64"), image("arm64"), attestation("arm64")] }, null, 2));
}

describe("an index reduced to the wanted platforms", () => {
  it("keeps each kept image's attestations and drops the others'", () => {
    const reduced = indexForPlatforms({ bytes: buildkitIndex(), mediaType: INDEX, digest: sha256(buildkitIndex()) }, "x", [parsePlatform("linux/arm64")]);
    expect(reduced?.children.map((c) => c.digest)).toEqual([d("arm64"), d("att-arm64")]);
    expect(reduced?.digest).toBe(sha256(reduced!.bytes));
  });

  it("is no filter at all when every entry stays: the index is copied whole, with its own digest", () => {
    expect(indexForPlatforms({ bytes: buildkitIndex(), mediaType: INDEX, digest: sha256(buildkitIndex()) }, "x", [parsePlatform("linux/amd64"), parsePlatform("linux/arm64")])).toBeUndefined();
  });

  it("makes the same index whatever the order of the wanted platforms, repeats included", () => {
    // Three images, so a two-platform filter really filters.
    const doc = JSON.parse(buildkitIndex().toString()) as { manifests: unknown[] };
    doc.manifests.push({ mediaType: MANIFEST, digest: d("s390x"), size: 500, platform: { os: "linux", architecture: "s390x" } });
    const bytes = Buffer.from(JSON.stringify(doc));
    const index = { bytes, mediaType: INDEX, digest: sha256(bytes) };
    const one = indexForPlatforms(index, "x", ["linux/amd64", "linux/arm64"].map(parsePlatform));
    const other = indexForPlatforms(index, "x", ["linux/arm64", "linux/amd64", "linux/arm64/v8"].map(parsePlatform));
    expect(one?.children).toHaveLength(4);
    expect(other?.digest).toBe(one?.digest);
  });

  it("names what is available when nothing matches, and leaves single images alone", () => {
    expect(() => indexForPlatforms({ bytes: buildkitIndex(), mediaType: INDEX, digest: sha256(buildkitIndex()) }, "x", [parsePlatform("linux/s390x")])).toThrow(/x has no manifest for linux\/s390x \(available: linux\/amd64, unknown\/unknown, linux\/arm64, unknown\/unknown\)/);
    expect(indexForPlatforms({ bytes: Buffer.from("{}"), mediaType: MANIFEST, digest: sha256("{}") }, "x", [parsePlatform("linux/s390x")])).toBeUndefined();
  });
});
