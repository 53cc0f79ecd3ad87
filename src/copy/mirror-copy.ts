/**
 * What the mirror holds of one image, measured against the upstream's current digest, asked of the
 * mirror alone (no pull counted upstream). `plan` and the redirect generators share it, so both
 * call a copy current exactly when `mirror` would leave it alone.
 */
import { isBasewarmError } from "../errors.js";
import type { Platform } from "../oci/index.js";
import type { Reference } from "../reference/index.js";
import type { Manifest, RegistryClient } from "../registry/index.js";
import { filteredFrom, holdsFilteredCopy } from "./platforms.js";

export interface MirrorCopy {
  /** The digest the mirror holds: the upstream's own, or that of its filtered index. */
  digest: string;
  /** Whether it is what a mirror run would make of the upstream's current digest now. */
  current: boolean;
  /** For a copy that is not current, why, in a few words (what it was made from). */
  staleBecause?: string;
}

/**
 * `target` is the mirror reference (a tag, or a digest for a digest reference); `platforms` the
 * filter the catalog asks for (empty: the image whole). Undefined when the mirror holds nothing there.
 */
export async function mirrorCopyOf(client: RegistryClient, target: Reference, upstreamDigest: string, platforms: Platform[]): Promise<MirrorCopy | undefined> {
  // A digest reference is mirrored whole, by digest: held or not, nothing can be stale.
  if (target.tag === undefined) {
    const held = await client.manifestHead(target.pinned(upstreamDigest));
    return held && { digest: held.digest, current: true };
  }
  if (platforms.length > 0) {
    // The filtered index carries its own origin: one GET of our own registry tells current from stale.
    const held = await manifestIfAny(client, target);
    if (held === undefined) return undefined;
    if (holdsFilteredCopy(held, upstreamDigest, platforms)) return { digest: held.digest, current: true };
    const made = filteredFrom(held);
    const staleBecause = made === undefined
      ? `holds ${held.digest}`
      : made.source === upstreamDigest ? `filtered for ${made.platforms}` : `made from ${made.source}`;
    return { digest: held.digest, current: false, staleBecause };
  }
  const exact = await client.manifestHead(target.pinned(upstreamDigest));
  if (exact) return { digest: exact.digest, current: true };
  // Not at the upstream digest: the tag may still hold an older copy, which is worth naming.
  const older = await client.manifestHead(target);
  return older && { digest: older.digest, current: false, staleBecause: `holds ${older.digest}` };
}

async function manifestIfAny(client: RegistryClient, ref: Reference): Promise<Manifest | undefined> {
  try {
    return await client.manifestGet(ref);
  } catch (err) {
    if (isBasewarmError(err, "NOT_FOUND")) return undefined;
    throw err;
  }
}

/** One line for a copy that is not current: what the mirror holds, and what to run. */
export function staleCopyMessage(target: Reference, copy: MirrorCopy, upstreamDigest: string): string {
  return `the mirror's ${target.toString()} is out of date (${copy.staleBecause ?? "stale"}; upstream is at ${upstreamDigest}); run basewarm mirror first`;
}
