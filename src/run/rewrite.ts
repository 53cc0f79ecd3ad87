/**
 * `basewarm rewrite`: a Dockerfile rewritten to the mirror, pinned by the digest the mirror holds,
 * exactly as the warm run's admin build rewrites it (same function, `# syntax=` included).
 */
import type { Config } from "../config/index.js";
import { extractImages, type ExtractOptions, type ImageUse, type RewriteResult } from "../dockerfile/index.js";
import { mirrorReference } from "../naming/index.js";
import type { RegistryClient } from "../registry/index.js";
import { rewriteToMirror } from "./pin.js";

export interface RewriteRequest {
  content: Uint8Array;
  options: ExtractOptions;
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
  // A filtered copy of an index is a new index with a digest of its own.
  const filtered = config.mirror.platforms.length > 0;
  const digests = new Map<string, string>();
  for (const use of uses) {
    const digest = await mirrorDigest(use, request, filtered);
    if (digest !== undefined) digests.set(use.normalized, digest);
  }
  const result = rewriteToMirror(request.content, config.target, (use) => digests.get(use.normalized), request.options);
  return { ...result, unknown: result.rewritten.filter((use) => !digests.has(use.normalized)) };
}

async function mirrorDigest(use: ImageUse, request: RewriteRequest, filtered: boolean): Promise<string | undefined> {
  if (use.reference.digest !== undefined && !filtered) return use.reference.digest;
  const mirror = mirrorReference(use.reference, request.config.target);
  if (request.client) {
    // A digest reference whose copy was filtered lives under the mirror's tag-less digest push:
    // ask for exactly what the Dockerfile names, as the mirror stores it.
    const head = await request.client.manifestHead(mirror);
    if (head) return head.digest;
  }
  return request.mirroredDigest?.(use.normalized, mirror.toString());
}
