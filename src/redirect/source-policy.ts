/**
 * A BuildKit source policy that converts every held image to its digest-pinned mirror reference.
 *
 * Format (moby/buildkit sourcepolicy/pb/policy.proto and its JSON form): `{"rules": [{"action":
 * "CONVERT", "selector": {"identifier": …}, "updates": {"identifier": …}}]}`. The selector's
 * `matchType` is left at its default (WILDCARD), which first compares the identifier exactly
 * (sourcepolicy/matcher.go) — our identifiers hold no `*`, so the match is exact either way.
 *
 * Both forms of every source are written, because BuildKit versions disagree on which one they see:
 * - BuildKit 0.11 resolved the tag to its digest before matching, so it checked
 *   `docker-image://docker.io/library/alpine:3.20@sha256:…` and a tag-only rule never matched
 *   (moby/buildkit#3911);
 * - since the fix (moby/buildkit#4215) the policy also applies when the frontend resolves the
 *   image's metadata, by tag. Measured here with buildx 0.13.1 on dockerd 26.1.5's BuildKit: the
 *   tag rule alone sent 0 requests upstream; the digest rule alone still let the tag resolution
 *   (HEAD, then GET of the manifest and config) reach upstream.
 * buildx reads the file named by `EXPERIMENTAL_BUILDKIT_SOURCE_POLICY`.
 */
import type { HeldImage } from "./holdings.js";

export interface SourcePolicyRule {
  action: "CONVERT";
  selector: { identifier: string };
  updates: { identifier: string };
}

export interface SourcePolicy {
  rules: SourcePolicyRule[];
}

const IMAGE_SCHEME = "docker-image://";

/** The identifiers BuildKit may check for a source: as written (normalized) and tag@digest. */
export function sourceIdentifiers(image: Pick<HeldImage, "source" | "upstreamDigest">): string[] {
  const asWritten = image.source.toString();
  const resolved = image.source.withDigest(image.upstreamDigest).toString();
  return [...new Set([asWritten, resolved])].map((ref) => IMAGE_SCHEME + ref);
}

export function sourcePolicy(held: HeldImage[]): SourcePolicy {
  const sorted = [...held].sort((a, b) => a.source.toString().localeCompare(b.source.toString()));
  const rules: SourcePolicyRule[] = [];
  for (const image of sorted) {
    const updates = { identifier: IMAGE_SCHEME + image.mirror.toString() };
    for (const identifier of sourceIdentifiers(image)) rules.push({ action: "CONVERT", selector: { identifier }, updates });
  }
  return { rules };
}
