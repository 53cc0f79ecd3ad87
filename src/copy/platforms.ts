import { BasewarmError } from "../errors.js";
import { filterIndex, formatPlatform, isIndexMediaType, platformMatches, type ChildDescriptor, type Platform } from "../oci/index.js";
import { digestOf } from "../reference/index.js";

export interface ReducedIndex {
  bytes: Buffer;
  mediaType: string;
  digest: string;
  children: ChildDescriptor[];
}

/**
 * An index reduced to the wanted platforms (`--platform`): a new document with a new digest.
 * Undefined when the manifest is not an index: a single image is copied whole.
 */
export function indexForPlatforms(manifest: { bytes: Buffer; mediaType: string }, subject: string, platforms: Platform[]): ReducedIndex | undefined {
  if (!isIndexMediaType(manifest.mediaType)) return undefined;
  const reduced = filterIndex(manifest.bytes, manifest.mediaType, subject, (child) => platforms.some((p) => platformMatches(p, child.platform)));
  if (reduced.children.length === 0) {
    const available = reduced.dropped.map((c) => (c.platform ? formatPlatform(c.platform, { osVersion: true }) : "unknown")).join(", ");
    throw new BasewarmError("NOT_FOUND", `${subject} has no manifest for ${platforms.map((p) => formatPlatform(p, { osVersion: true })).join(", ")} (available: ${available})`);
  }
  return { bytes: reduced.bytes, mediaType: manifest.mediaType, digest: digestOf(reduced.bytes), children: reduced.children };
}
