import { BasewarmError } from "../errors.js";
import { filterIndex, formatPlatform, manifestAnnotations, isIndexMediaType, platformMatches, type ChildDescriptor, type Platform } from "../oci/index.js";
import { digestOf } from "../reference/index.js";

export interface ReducedIndex {
  bytes: Buffer;
  mediaType: string;
  digest: string;
  children: ChildDescriptor[];
}

/** BuildKit's attestation manifests (SBOM, provenance) name the image they describe in these annotations. */
const REFERENCE_TYPE = "vnd.docker.reference.type";
const REFERENCE_DIGEST = "vnd.docker.reference.digest";

/**
 * A filtered index says what it was made from, so a later run can tell it is current by reading
 * the mirror's copy alone: without this, every run had to fetch the source index again (on Docker
 * Hub, a counted pull per image) just to learn the digest its filtering would give.
 */
const FILTERED_FROM = "io.basewarm.filtered.from";
const FILTERED_PLATFORMS = "io.basewarm.filtered.platforms";

/**
 * The platforms as the annotation writes them: sorted and without repeats, so the same set in
 * another order (a reordered `mirror.platforms`) makes the same index, digest included.
 */
export function platformList(platforms: Platform[]): string {
  return [...new Set(platforms.map((p) => formatPlatform(p, { osVersion: true })))].sort().join(",");
}

/**
 * Whether the target's manifest is already what filtering the source `sourceDigest` for `platforms`
 * gives: its own filtered copy, or the source itself (a single image, or an index kept whole).
 */
export function holdsFilteredCopy(target: { bytes: Buffer; mediaType: string; digest: string }, sourceDigest: string, platforms: Platform[]): boolean {
  // The source itself: a single image (never filtered), or an index the filter would keep whole.
  if (target.digest === sourceDigest) return indexForPlatforms(target, target.digest, platforms) === undefined;
  const made = filteredFrom(target);
  return made !== undefined && made.source === sourceDigest && made.platforms === platformList(platforms);
}

/**
 * What a filtered index of ours says it was made from: the source digest and the platforms, as
 * written. Undefined for anything else (not an index, no such annotations, not a document we can
 * read), which a later copy filters again and replaces.
 */
export function filteredFrom(target: { bytes: Buffer; mediaType: string; digest: string }): { source: string; platforms: string } | undefined {
  if (!isIndexMediaType(target.mediaType)) return undefined;
  let annotations: Record<string, string>;
  try {
    annotations = manifestAnnotations(target.bytes, target.mediaType, target.digest);
  } catch {
    return undefined;
  }
  const source = annotations[FILTERED_FROM];
  const platforms = annotations[FILTERED_PLATFORMS];
  return source === undefined || platforms === undefined ? undefined : { source, platforms };
}

/**
 * An index reduced to the wanted platforms (`--platform`): a new document with a new digest,
 * annotated with the source digest and the platforms. The attestations of a kept image stay with
 * it (their platform is unknown/unknown). Undefined when the manifest is not an index, or when the
 * filter keeps every entry: then it is copied whole, byte for byte, and keeps its digest.
 */
export function indexForPlatforms(manifest: { bytes: Buffer; mediaType: string; digest: string }, subject: string, platforms: Platform[]): ReducedIndex | undefined {
  if (!isIndexMediaType(manifest.mediaType)) return undefined;
  const wanted = (child: ChildDescriptor) => platforms.some((p) => platformMatches(p, child.platform));
  const images = new Set(filterIndex(manifest.bytes, manifest.mediaType, subject, wanted).children.map((child) => child.digest));
  const reduced = filterIndex(manifest.bytes, manifest.mediaType, subject, (child) =>
    images.has(child.digest) || (child.annotations?.[REFERENCE_TYPE] === "attestation-manifest" && images.has(child.annotations[REFERENCE_DIGEST] ?? "")),
  { [FILTERED_FROM]: manifest.digest, [FILTERED_PLATFORMS]: platformList(platforms) });
  if (reduced.dropped.length === 0) return undefined;
  if (reduced.children.length === 0) {
    const available = reduced.dropped.map((c) => (c.platform ? formatPlatform(c.platform, { osVersion: true }) : "unknown")).join(", ");
    throw new BasewarmError("NOT_FOUND", `${subject} has no manifest for ${platforms.map((p) => formatPlatform(p, { osVersion: true })).join(", ")} (available: ${available})`);
  }
  return { bytes: reduced.bytes, mediaType: manifest.mediaType, digest: digestOf(reduced.bytes), children: reduced.children };
}
