/**
 * What the mirror really holds, asked of the registries (manifest HEADs upstream, no pull-rate cost;
 * a filtered copy is read from the mirror itself): the one place of `src/redirect` that does I/O.
 * Every generator below redirects only what this says is held and current, so a builder is never
 * pointed at an image the mirror lacks or holds out of date.
 */
import { mirrorCopyOf, staleCopyMessage } from "../copy/index.js";
import { errorMessage, isBasewarmError, type ErrorCode } from "../errors.js";
import { mirrorReference, mirrorTarget, type MirrorTarget } from "../naming/index.js";
import { parsePlatform } from "../oci/index.js";
import type { Reference } from "../reference/index.js";
import type { RegistryClient } from "../registry/index.js";

/** An image to redirect: the source as the catalog names it, and what of it was mirrored. */
export interface RedirectNeed {
  reference: Reference;
  /** Platforms copied (empty: all), as the catalog computed them. */
  platforms: string[];
}

export interface HeldImage {
  source: Reference;
  /** The digest the source's tag resolves to upstream (what BuildKit matches after resolving). */
  upstreamDigest: string;
  /** The mirror reference pinned to the digest the mirror holds (tag kept for readers). */
  mirror: Reference;
}

export type LeftOutReason = "not-mirrored" | "out-of-date" | "upstream-missing" | "lookup-failed";

export interface LeftOutImage {
  source: Reference;
  reason: LeftOutReason;
  /** One line for the user, after the reference: what is missing and what to do. */
  message: string;
  /** The error code when a lookup failed (AUTH_DENIED, NETWORK, …). */
  code?: ErrorCode;
}

export interface Holdings {
  held: HeldImage[];
  leftOut: LeftOutImage[];
}

/** The head requests one image needs; only the client is asked. */
async function holdingOf(need: RedirectNeed, target: Pick<MirrorTarget, "registry" | "prefix">, client: RegistryClient): Promise<HeldImage | LeftOutImage> {
  const source = need.reference;
  const mirrored = mirrorReference(source, target);
  try {
    const upstreamDigest = source.digest ?? (await client.manifestHead(source))?.digest;
    if (upstreamDigest === undefined) {
      return { source, reason: "upstream-missing", message: "not found upstream (no such tag), so there is nothing to redirect; fix the reference" };
    }
    // Only a current copy is redirected: a stale one (an older upstream digest, or filtered for
    // other platforms) would hand the builder something other than what the tag names now.
    const landing = mirrorTarget(source, target);
    const held = await mirrorCopyOf(client, landing, upstreamDigest, need.platforms.map(parsePlatform));
    // A digest is not looked up upstream first (it names the content), so when the mirror lacks
    // it, one HEAD tells a digest upstream never had (a typo) from one not mirrored yet.
    if (held === undefined && source.digest !== undefined && (await client.manifestHead(source)) === undefined) {
      return { source, reason: "upstream-missing", message: "not found upstream (no such digest), so there is nothing to redirect; fix the reference" };
    }
    if (held === undefined) {
      const what = landing.tag === undefined ? `${landing.name}@${upstreamDigest}` : landing.toString();
      return { source, reason: "not-mirrored", message: `the mirror does not hold ${what}; run basewarm mirror first` };
    }
    if (!held.current) return { source, reason: "out-of-date", message: staleCopyMessage(landing, held) };
    return { source, upstreamDigest, mirror: mirrored.withDigest(held.digest) };
  } catch (err) {
    return {
      source, reason: "lookup-failed", message: errorMessage(err),
      ...(isBasewarmError(err) ? { code: err.code } : {}),
    };
  }
}

/** Ask, image by image (the client bounds concurrency per host), which ones the mirror holds. */
export async function mirrorHoldings(needs: RedirectNeed[], target: Pick<MirrorTarget, "registry" | "prefix">, client: RegistryClient): Promise<Holdings> {
  const results = await Promise.all(needs.map((need) => holdingOf(need, target, client)));
  const holdings: Holdings = { held: [], leftOut: [] };
  for (const result of results) {
    if ("reason" in result) holdings.leftOut.push(result);
    else holdings.held.push(result);
  }
  return holdings;
}
