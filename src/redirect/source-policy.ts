/**
 * A BuildKit source policy that converts every held image to its digest-pinned mirror reference.
 *
 * Format (moby/buildkit sourcepolicy/pb/policy.proto and its JSON form): `{"rules": [{"action":
 * "CONVERT", "selector": {"identifier": …}, "updates": {"identifier": …}}]}`. The selector's
 * `matchType` is left at its default (WILDCARD), which first compares the identifier exactly
 * (sourcepolicy/matcher.go) — our identifiers hold no `*`, so the match is exact either way.
 *
 * Both forms of every source are written: BuildKit resolves a tag to its digest before it matches
 * the rules, so the source op it checks is `docker-image://docker.io/library/alpine:3.20@sha256:…`
 * and a rule written only for `…alpine:3.20` never matches (moby/buildkit#3911); the tag form
 * stays for BuildKits that match before resolving. buildx reads the file named by
 * `EXPERIMENTAL_BUILDKIT_SOURCE_POLICY`.
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
