/**
 * `basewarm rewrite`: a Dockerfile rewritten to the mirror, pinned by the digest the mirror holds,
 * exactly as the warm run's admin build rewrites it (same function, `# syntax=` included).
 */
import type { Config } from "../config/index.js";
import { extractImages, type ExtractOptions, type ImageUse, type RewriteResult } from "../dockerfile/index.js";
import { mirrorReference, mirrorTarget } from "../naming/index.js";
import type { RegistryClient } from "../registry/index.js";
import { rewriteToMirror } from "./pin.js";

export interface RewriteRequest {
  content: Uint8Array;
  options: ExtractOptions;
  /** Every platform the build is for: a FROM built from variables is pinned only if it reads the same on all. */
  platforms?: readonly string[];
  config: Config;
  /**
   * The digest the state recorded as last mirrored from a source (normalized reference) to a
   * target: what the mirror holds, filtered or not. Never an upstream digest whose copy failed.
   */
  mirroredDigest?: (source: string, target: string) => Promise<string | undefined>;
  /** Ask the mirror what it holds (HEAD) for images without a known digest. */
  client?: RegistryClient;
}

export interface MirrorRewrite extends RewriteResult {
  /** Images rewritten to the mirror although neither the mirror (when asked) nor the state knows them there. */
  unknown: ImageUse[];
}

export async function rewriteForMirror(request: RewriteRequest): Promise<MirrorRewrite> {
  const { config } = request;
  const uses = extractImages(request.content, request.options);
  const digests = new Map<string, string>();
  for (const use of uses) {
    const digest = await mirrorDigest(use, request);
    if (digest !== undefined) digests.set(use.normalized, digest);
  }
  const result = rewriteToMirror(request.content, config.target, (use) => digests.get(use.normalized), request.options, request.platforms ?? []);
  return { ...result, unknown: result.rewritten.filter((use) => !digests.has(use.normalized)) };
}

/**
 * The digest the mirror holds for an image: asked (--resolve), only the mirror's answer counts —
 * a state record of a copy the mirror no longer has would pin a missing manifest. Otherwise the
 * state's last good copy. A digest reference is mirrored whole, under its own digest.
 */
async function mirrorDigest(use: ImageUse, request: RewriteRequest): Promise<string | undefined> {
  const mirror = mirrorReference(use.reference, request.config.target);
  if (request.client) return (await request.client.manifestHead(mirror))?.digest;
  return request.mirroredDigest?.(use.normalized, mirrorTarget(use.reference, request.config.target).toString());
}
