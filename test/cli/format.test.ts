import { describe, expect, it } from "vitest";
import { formatMirrorReport, formatPlan } from "../../src/cli/format.js";
import type { PlanImage } from "../../src/run/plan.js";

const UP = `sha256:${"a".repeat(64)}`;
const FILTERED = `sha256:${"b".repeat(64)}`;

function row(over: Partial<PlanImage>): PlanImage {
  return { ref: "docker.io/library/alpine:3", mirror: "m.example/mirror/docker.io/library/alpine:3", platforms: [], usedBy: [{ kind: "config", origin: "images[0]" }], upstreamDigest: UP, mirrored: true, mirrorDigest: UP, ...over };
}

describe("plan as text", () => {
  it("says platforms were filtered only when the mirror holds another digest than upstream", () => {
    const text = (r: PlanImage) => formatPlan({ images: [r], entries: [], problems: [] }).split("\n")[0];
    expect(text(row({ platforms: ["linux/arm64"], mirrorDigest: FILTERED }))).toMatch(/ mirrored \(platforms filtered\)$/);
    // A single-platform image asked for some platforms is copied whole: same digest, no note.
    expect(text(row({ platforms: ["linux/arm64"] }))).toMatch(/ mirrored$/);
    expect(text(row({}))).toMatch(/ mirrored$/);
    expect(text(row({ mirrored: false, mirrorDigest: null }))).toMatch(/ NOT mirrored$/);
    expect(text(row({ mirrored: false, mirrorDigest: FILTERED, outOfDate: `mirror holds ${FILTERED}, upstream is at ${UP}` }))).toMatch(new RegExp(` OUT OF DATE \\(mirror holds ${FILTERED}, upstream is at ${UP}\\)$`));
    expect(text(row({ error: "HEAD failed" }))).toMatch(/ error: HEAD failed$/);
  });

  it("offline (digest and state unknown) ends the reference's line with the reference", () => {
    expect(formatPlan({ images: [{ ref: "docker.io/library/alpine:3", mirror: "m.example/a", platforms: [], usedBy: [] }], entries: [], problems: [] }).split("\n")[0]).toBe("docker.io/library/alpine:3");
  });
});

describe("mirror report as text", () => {
  it("says when a copy filtered platforms (its digest is not upstream's) and when upstream moved", () => {
    const image = {
      source: "docker.io/library/alpine:3", target: "m.example/mirror/docker.io/library/alpine:3", status: "copied" as const, digest: FILTERED, sourceDigest: UP,
      mediaType: null, bytes: 0, blobs: { copied: 0, mounted: 0, skipped: 0 }, manifests: 1, platformsFiltered: true, referrers: 0, changedUpstream: true, previousDigest: UP,
    };
    const summary = { images: 1, copied: 1, unchanged: 0, failed: 0, deferred: 0, bytes: 0, blobsCopied: 0, blobsMounted: 0, blobsSkipped: 0, seconds: 0 };
    const first = formatMirrorReport({ images: [image], summary }).split("\n")[0];
    expect(first).toMatch(/ {2}\(platforms filtered: new index digest\) {2}\(upstream changed from sha256:aaaaaaaaaaaa\)$/);
    expect(formatMirrorReport({ images: [{ ...image, platformsFiltered: false, changedUpstream: false }], summary }).split("\n")[0]).not.toMatch(/\(/);
  });

  it("counts in words that agree with the number", () => {
    const summary = { images: 1, copied: 1, unchanged: 0, failed: 0, deferred: 0, bytes: 0, blobsCopied: 1, blobsMounted: 0, blobsSkipped: 0, seconds: 0 };
    expect(formatMirrorReport({ images: [], summary })).toMatch(/^1 image: 1 copied, .* \(1 blob copied, 0 mounted/);
    expect(formatMirrorReport({ images: [], summary: { ...summary, images: 2, blobsCopied: 0 } })).toMatch(/^2 images: .* \(0 blobs copied, /);
  });
});
