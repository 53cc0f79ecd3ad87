/**
 * `basewarm copy SRC DST`: one image between two ends named as skopeo names them, a registry
 * reference (`docker://` optional) or an OCI layout (`oci:DIR[:TAG]`). Registry to registry uses the
 * Copier (mounts, shared blobs); any copy with a layout uses copyBetween over the same checks.
 */
import { resolve } from "node:path";
import { Copier, copyBetween, layoutSource, layoutTarget, registrySource, registryTarget, type CopyResult, type ImageSource, type ImageTarget, type ProgressEvent } from "../copy/index.js";
import { BasewarmError } from "../errors.js";
import { isLayoutName, OciLayout, parseLayoutName } from "../layout/index.js";
import type { Logger } from "../log/index.js";
import type { Platform } from "../oci/index.js";
import { parseReference, type Reference } from "../reference/index.js";
import type { RegistryClient } from "../registry/index.js";

export interface CopyEnds {
  /** A registry reference, when the end is one. */
  source?: Reference;
  target?: Reference;
  /** The layout end, opened (and a source's name resolved) before any network. */
  layoutFrom?: ImageSource;
  layoutTo?: ImageTarget;
}

/**
 * Parse both ends and open the layouts among them. Everything a user can get wrong here (a bad
 * reference, a missing or broken layout, a name it does not hold, two digests that disagree,
 * --referrers with a layout) is reported before the first request.
 */
export function openCopyEnds(src: string, dst: string, options: { referrers?: boolean } = {}): CopyEnds {
  for (const end of [src, dst]) refuseOtherTransport(end);
  const registryRef = (ref: string) => parseReference(ref.replace(/^docker:\/\//, ""));
  const srcLayout = isLayoutName(src) ? parseLayoutName(src) : undefined;
  const dstLayout = isLayoutName(dst) ? parseLayoutName(dst) : undefined;
  const source = srcLayout ? undefined : registryRef(src);
  const target = dstLayout ? undefined : registryRef(dst);
  if (target?.digest !== undefined && source?.digest !== undefined && target.digest !== source.digest) {
    throw new BasewarmError("USAGE", `destination ${dst} names digest ${target.digest}, but the source is ${source.digest}; a copy keeps the digest: drop it from the destination`);
  }
  if ((srcLayout || dstLayout) && options.referrers) {
    throw new BasewarmError("USAGE", "--referrers: an OCI layout has no referrers API to read or write them; copy without --referrers");
  }
  return {
    ...(source ? { source } : {}),
    ...(target ? { target } : {}),
    ...(srcLayout ? { layoutFrom: layoutSource(OciLayout.open(resolve(srcLayout.dir)), srcLayout.refName) } : {}),
    ...(dstLayout ? { layoutTo: layoutTarget(OciLayout.forWriting(resolve(dstLayout.dir)), dstLayout.refName) } : {}),
  };
}

/**
 * skopeo's transports other than docker:// and oci:, as skopeo users write them. Bare, each would
 * parse as a Docker Hub image (containers-storage:alpine is library/containers-storage, tag alpine)
 * or as an invalid one; said by name instead. docker://dir:x still names that image.
 */
const OTHER_TRANSPORTS = ["dir", "docker-archive", "docker-daemon", "containers-storage", "oci-archive", "sif", "tarball"];

function refuseOtherTransport(end: string): void {
  const transport = OTHER_TRANSPORTS.find((name) => end.startsWith(`${name}:`));
  if (transport === undefined) return;
  throw new BasewarmError("USAGE", `${JSON.stringify(end)}: skopeo's ${transport}: transport is not supported; copy takes a registry image (docker:// optional) or an OCI layout, oci:DIR[:TAG]`);
}

export interface CopyOneOptions {
  client: RegistryClient;
  logger: Logger;
  blobConcurrency: number;
  imageConcurrency: number;
  platforms?: Platform[];
  force?: boolean;
  referrers?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

export async function copyOne(ends: CopyEnds, options: CopyOneOptions): Promise<CopyResult> {
  const { client } = options;
  const { source, target } = ends;
  const wanted = {
    ...(options.platforms?.length ? { platforms: options.platforms } : {}),
    ...(options.force ? { force: true } : {}),
  };
  const running = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  };
  if (source && target) {
    const copier = new Copier({ client, logger: options.logger, blobConcurrency: options.blobConcurrency, imageConcurrency: options.imageConcurrency, ...running });
    return copier.copyImage({ source, target, ...wanted, ...(options.referrers ? { referrers: true } : {}) });
  }
  // One end at least is a layout; the other, when a registry, is wrapped the same way.
  const from = ends.layoutFrom ?? (source && registrySource(client, source));
  const to = ends.layoutTo ?? (target && registryTarget(client, target));
  if (!from || !to) throw new Error("copy: an end is neither a registry nor a layout");
  return copyBetween({ source: from, target: to, ...wanted }, { blobConcurrency: options.blobConcurrency, logger: options.logger, ...running });
}
