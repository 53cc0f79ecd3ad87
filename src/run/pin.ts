/**
 * Rewriting a Dockerfile to the mirror: each external image becomes its mirror copy, pinned by
 * the digest the mirror holds when one is known. One function serves the warm run's admin build
 * and `basewarm rewrite`, so what an operator previews is what the run builds.
 */
import { rewriteDockerfile, type ExtractOptions, type ImageUse, type RewriteResult } from "../dockerfile/index.js";
import { mirrorReference, type MirrorTarget } from "../naming/index.js";

/** The digest the mirror holds for a use, or undefined to point at the mirror's tag unpinned. */
export type MirrorDigest = (use: ImageUse) => string | undefined;

export function rewriteToMirror(content: string | Uint8Array, target: Pick<MirrorTarget, "registry" | "prefix">, digestOf: MirrorDigest, options: ExtractOptions, platforms: readonly string[] = []): RewriteResult {
  // The build's args are fixed (the entry's, or the preview's flags): a FROM built from variables
  // is pinned too, or its base would come from upstream on every admin build, unless it reads
  // differently on one of the build's `platforms`.
  return rewriteDockerfile(content, (use) => {
    const mirror = mirrorReference(use.reference, target);
    const digest = digestOf(use);
    return digest === undefined ? mirror.toString() : mirror.pinned(digest).toString();
  }, options, { fixedArgs: true, platforms });
}
