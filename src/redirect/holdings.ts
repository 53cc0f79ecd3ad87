/**
 * What the mirror really holds, asked of the registries (manifest HEADs only, no pull-rate cost):
 * the one place of `src/redirect` that does I/O. Every generator below redirects only what this
 * says is held, so a builder is never pointed at an image the mirror lacks.
 */
import { errorMessage, isBasewarmError, type ErrorCode } from "../errors.js";
import { mirrorReference, type MirrorTarget } from "../naming/index.js";
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

export type LeftOutReason = "not-mirrored" | "upstream-missing" | "lookup-failed";

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
      return { source, reason: "upstream-missing", message: "not found upstream, so its digest is unknown; fix the reference or mirror it again" };
    }
    // A platform-filtered copy is a new index with its own digest, found by its tag; an unfiltered
    // copy keeps the upstream digest, so the mirror must hold exactly that one (else it is stale).
    // Limit: a filtered copy cannot be tied to the upstream digest it came from by HEADs alone
    // (comparing children would need GETs, which count as pulls on Docker Hub), so a stale
    // filtered copy is still redirected until the next mirror run refreshes it.
    const filtered = need.platforms.length > 0 && mirrored.tag !== undefined;
    const held = await client.manifestHead(filtered ? mirrored : mirrored.pinned(upstreamDigest));
    if (held === undefined) {
      const what = filtered ? mirrored.toString() : `${mirrored.name}@${upstreamDigest}`;
      return { source, reason: "not-mirrored", message: `the mirror does not hold ${what}; run basewarm mirror first` };
    }
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
