import { describe, expect, it } from "vitest";
import { formatPlan } from "../../src/cli/format.js";
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
    expect(text(row({ error: "HEAD failed" }))).toMatch(/ error: HEAD failed$/);
  });
});
