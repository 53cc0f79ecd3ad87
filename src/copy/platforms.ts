import { BasewarmError } from "../errors.js";
import { filterIndex, formatPlatform, isIndexMediaType, platformMatches, type ChildDescriptor, type Platform } from "../oci/index.js";
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
 * An index reduced to the wanted platforms (`--platform`): a new document with a new digest. The
 * attestations of a kept image stay with it (their platform is unknown/unknown). Undefined when
 * the manifest is not an index, or when the filter keeps every entry: then it is copied whole,
 * byte for byte, and keeps its digest.
 */
export function indexForPlatforms(manifest: { bytes: Buffer; mediaType: string }, subject: string, platforms: Platform[]): ReducedIndex | undefined {
  if (!isIndexMediaType(manifest.mediaType)) return undefined;
  const wanted = (child: ChildDescriptor) => platforms.some((p) => platformMatches(p, child.platform));
  const images = new Set(filterIndex(manifest.bytes, manifest.mediaType, subject, wanted).children.map((child) => child.digest));
  const reduced = filterIndex(manifest.bytes, manifest.mediaType, subject, (child) =>
    images.has(child.digest) || (child.annotations?.[REFERENCE_TYPE] === "attestation-manifest" && images.has(child.annotations[REFERENCE_DIGEST] ?? "")));
  if (reduced.dropped.length === 0) return undefined;
  if (reduced.children.length === 0) {
    const available = reduced.dropped.map((c) => (c.platform ? formatPlatform(c.platform, { osVersion: true }) : "unknown")).join(", ");
    throw new BasewarmError("NOT_FOUND", `${subject} has no manifest for ${platforms.map((p) => formatPlatform(p, { osVersion: true })).join(", ")} (available: ${available})`);
  }
  return { bytes: reduced.bytes, mediaType: manifest.mediaType, digest: digestOf(reduced.bytes), children: reduced.children };
}
