/**
 * What the mirror holds of one image, measured against the upstream's current digest, asked of the
 * mirror alone (no pull counted upstream). It reads the mirror's tag exactly as the copier does,
 * so `plan` and the redirect generators call a copy current exactly when `mirror` would leave it.
 */
import { isBasewarmError } from "../errors.js";
import type { Platform } from "../oci/index.js";
import type { Reference } from "../reference/index.js";
import type { Manifest, RegistryClient } from "../registry/index.js";
import { filteredFrom, holdsFilteredCopy, platformList } from "./platforms.js";

export interface MirrorCopy {
  /** The digest the mirror holds: the upstream's own, or that of its filtered index. */
  digest: string;
  /** Whether it is what a mirror run would make of the upstream's current digest now. */
  current: boolean;
  /** For a copy that is not current, why, in a few words: what it holds against what is wanted. */
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
  if (platforms.length === 0) {
    // The tag, not the digest: the mirror may hold the upstream digest and still serve another
    // copy under the tag (an older one, or one filtered by an earlier config).
    const held = await client.manifestHead(target);
    if (held === undefined) return undefined;
    if (held.digest === upstreamDigest) return { digest: held.digest, current: true };
    // Stale: one read of our own copy says whether it is an older image or a filtered one.
    const copy = await manifestIfAny(client, target.pinned(held.digest));
    const made = copy && filteredFrom(copy);
    const staleBecause = made !== undefined && made.source === upstreamDigest
      ? `mirror's copy is filtered for ${made.platforms}, the config asks for every platform`
      : `mirror holds ${held.digest}, upstream is at ${upstreamDigest}`;
    return { digest: held.digest, current: false, staleBecause };
  }
  // The filtered index carries its own origin: one GET of our own registry tells current from stale.
  const held = await manifestIfAny(client, target);
  if (held === undefined) return undefined;
  if (holdsFilteredCopy(held, upstreamDigest, platforms)) return { digest: held.digest, current: true };
  return { digest: held.digest, current: false, staleBecause: whyNotFiltered(held, upstreamDigest, platforms) };
}

function whyNotFiltered(held: Manifest, upstreamDigest: string, platforms: Platform[]): string {
  const wanted = platformList(platforms);
  const made = filteredFrom(held);
  if (made === undefined) {
    return held.digest === upstreamDigest
      ? `mirror holds the whole index, the config asks for ${wanted}`
      : `mirror holds ${held.digest}, upstream is at ${upstreamDigest}`;
  }
  if (made.source !== upstreamDigest) return `mirror's copy was filtered from ${made.source}, upstream is at ${upstreamDigest}`;
  // The same platforms in another order: written by a basewarm that kept the config's order.
  if (made.platforms.split(",").sort().join(",") === wanted) return `mirror's copy was filtered by an earlier basewarm for the same platforms; a mirror run rewrites it once`;
  return `mirror's copy is filtered for ${made.platforms}, the config asks for ${wanted}`;
}

/** A manifest by tag or digest, or undefined when the registry has none there (the copier's check too). */
export async function manifestIfAny(client: RegistryClient, ref: Reference): Promise<Manifest | undefined> {
  try {
    return await client.manifestGet(ref);
  } catch (err) {
    if (isBasewarmError(err, "NOT_FOUND")) return undefined;
    throw err;
  }
}

/** One line for a copy that is not current: which mirror reference, why, and what to run. */
export function staleCopyMessage(target: Reference, copy: MirrorCopy): string {
  return `the mirror's ${target.toString()} is out of date (${copy.staleBecause ?? "not what a mirror run would make now"}); run basewarm mirror first`;
}
