/**
 * One image from an ImageSource to an ImageTarget (ends.ts): the manifest tree walked children
 * first, every blob streamed through a digest check, the destination's name set last, so a copy
 * that fails leaves no name pointing at an incomplete image. A failure is returned in the result,
 * not logged: the caller reports it once.
 */
import pLimit, { type LimitFunction } from "p-limit";
import { DEFAULT_CONCURRENCY } from "../config/schema.js";
import { BasewarmError, errorMessage, isBasewarmError } from "../errors.js";
import { silentLogger, type Logger } from "../log/index.js";
import { parseManifest, type BlobDescriptor, type Descriptor, type Platform } from "../oci/index.js";
import { addStats, newResult, newStats, type CopyResult, type ProgressEvent } from "./copier.js";
import type { ImageSource, ImageTarget, ManifestBytes } from "./ends.js";
import { indexForPlatforms } from "./platforms.js";
import { checkDestinationDigest } from "./destination-digest.js";
import { transferGaveUp } from "./give-up.js";
import { DigestVerifier } from "./verify-stream.js";

/** Indexes nested deeper than this are no image anyone builds: refused rather than followed. */
const MAX_DEPTH = 8;

export interface BetweenRequest {
  source: ImageSource;
  target: ImageTarget;
  /** Copy only these platforms of an index (the result is then a new index with a new digest). */
  platforms?: Platform[];
  /** Write manifests again even when the destination has them (blobs are still checked first). */
  force?: boolean;
}

export interface BetweenOptions {
  /** Blob transfers at once. */
  blobConcurrency?: number;
  /** Whole-transfer attempts for a blob whose stream failed transiently. */
  blobAttempts?: number;
  /** Stop: blob streams in flight are aborted, nothing new starts. */
  signal?: AbortSignal;
  logger?: Logger;
  onProgress?: (event: ProgressEvent) => void;
}

export async function copyBetween(request: BetweenRequest, options: BetweenOptions = {}): Promise<CopyResult> {
  const result = newResult(request.source.name, request.target.name, null);
  const walk = new Walk(request, options);
  try {
    await walk.run(result);
  } catch (err) {
    result.status = "failed";
    result.error = errorMessage(err);
    if (isBasewarmError(err)) result.errorCode = err.code;
    // The rest of the tree stops too, and is cleaned up (temp files removed) before the result is out.
    await walk.halt();
  }
  addStats(result, walk.stats);
  options.onProgress?.({ kind: "image", result });
  return result;
}

class Walk {
  readonly stats = newStats();
  private readonly request: BetweenRequest;
  private readonly options: BetweenOptions;
  private readonly blobLimit: LimitFunction;
  /** Digest → the manifest (and its tree) is at the destination, or on its way. */
  private readonly manifests = new Map<string, Promise<void>>();
  /** Digest → the blob is at the destination, or on its way: an index's shared layers go once. */
  private readonly blobs = new Map<string, Promise<void>>();
  /** Aborted when one part failed: the other transfers need not finish. */
  private readonly failed = new AbortController();
  /** What blob streams listen to: a stop from outside, or a failure inside. */
  private readonly signal: AbortSignal;

  constructor(request: BetweenRequest, options: BetweenOptions) {
    this.request = request;
    this.options = options;
    this.blobLimit = pLimit(options.blobConcurrency ?? DEFAULT_CONCURRENCY.blobs);
    this.signal = options.signal ? AbortSignal.any([options.signal, this.failed.signal]) : this.failed.signal;
  }

  private checkStopped(): void {
    if (this.options.signal?.aborted) throw new BasewarmError("ABORTED", "stopped: the copy was asked to stop; run it again to finish it");
    if (this.failed.signal.aborted) throw new BasewarmError("ABORTED", "stopped: another part of this copy failed");
  }

  /** Stop every transfer still running and wait until each has ended. */
  async halt(): Promise<void> {
    this.failed.abort();
    await Promise.allSettled([...this.manifests.values(), ...this.blobs.values()]);
  }

  async run(result: CopyResult): Promise<void> {
    const { source, target } = this.request;
    this.checkStopped();
    const resolved = await source.resolve();
    result.sourceDigest = resolved.digest;
    let manifest: ManifestBytes = await source.manifest(resolved);
    let top: Descriptor = { mediaType: manifest.mediaType, digest: resolved.digest, size: manifest.bytes.length };
    const platforms = this.request.platforms ?? [];
    const reduced = platforms.length > 0 ? indexForPlatforms({ ...manifest, digest: resolved.digest }, source.name, platforms) : undefined;
    if (reduced) {
      manifest = { bytes: reduced.bytes, mediaType: reduced.mediaType };
      top = { mediaType: reduced.mediaType, digest: reduced.digest, size: reduced.bytes.length };
      result.platformsFiltered = true;
    }
    result.mediaType = top.mediaType;
    checkDestinationDigest(target, source.name, top.digest);
    if (!this.request.force && (await target.holds(top.digest))) {
      result.status = "unchanged";
      result.digest = top.digest;
      return;
    }
    // Children first: the top manifest, which the destination's name points at, lands last.
    if (this.request.force || !(await target.hasManifest(top))) await this.below(top, manifest, new Set());
    await target.topPut(top, manifest);
    this.stats.manifests++;
    result.digest = top.digest;
    result.status = "copied";
  }

  /** Everything a manifest points to, at the destination. */
  private async below(descriptor: Descriptor, manifest: ManifestBytes, ancestors: ReadonlySet<string>): Promise<void> {
    const parsed = parseManifest(manifest.bytes, manifest.mediaType, `${this.request.source.name}@${descriptor.digest}`);
    const lineage = new Set(ancestors).add(descriptor.digest);
    await Promise.all([
      ...parsed.children.map((child) => this.ensureManifest(child, lineage)),
      ...parsed.blobs.map((blob) => this.ensureBlob(blob)),
    ]);
  }

  private async ensureManifest(descriptor: Descriptor, lineage: ReadonlySet<string>): Promise<void> {
    const { source, target } = this.request;
    const subject = `${source.name}@${descriptor.digest}`;
    if (lineage.has(descriptor.digest)) throw new BasewarmError("MANIFEST_INVALID", `manifest ${subject} lists itself among its children (a cycle); refusing to copy it`);
    if (lineage.size >= MAX_DEPTH) throw new BasewarmError("MANIFEST_INVALID", `manifest ${subject} is nested more than ${MAX_DEPTH} indexes deep; refusing to copy it`);
    let work = this.manifests.get(descriptor.digest);
    if (!work) {
      work = (async () => {
        if (!this.request.force && (await target.hasManifest(descriptor))) return;
        this.checkStopped();
        const manifest = await source.manifest(descriptor);
        await this.below(descriptor, manifest, lineage);
        await target.manifestPut(descriptor, manifest);
        this.stats.manifests++;
      })();
      this.manifests.set(descriptor.digest, work);
    }
    await work;
  }

  private ensureBlob(blob: BlobDescriptor): Promise<void> {
    if (blob.urls && blob.urls.length > 0) return Promise.resolve(); // foreign layer: lives outside registries
    let work = this.blobs.get(blob.digest);
    if (!work) {
      work = (async () => {
        if (await this.request.target.hasBlob(blob)) {
          this.stats.skipped++;
          return;
        }
        await this.blobLimit(() => this.transfer(blob));
      })();
      this.blobs.set(blob.digest, work);
    }
    return work;
  }

  /** Stream one blob through a digest check, retrying the whole transfer on transient failures. */
  private async transfer(blob: BlobDescriptor): Promise<void> {
    const { source, target } = this.request;
    const attempts = this.options.blobAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      this.checkStopped();
      const verifier = new DigestVerifier(blob.digest, blob.size, `${source.name}@${blob.digest}`, (n) => this.options.onProgress?.({ kind: "bytes", bytes: n }));
      // The destination reports the stream's failure; this keeps it from being unhandled.
      verifier.on("error", () => undefined);
      try {
        source.blob(blob, verifier, this.signal);
        await target.blobPut(blob, verifier);
        this.stats.bytes += blob.size;
        this.stats.copied++;
        return;
      } catch (err) {
        verifier.destroy(); // the destination gave up first: stop reading the source
        this.checkStopped();
        const retryable = isBasewarmError(err) ? err.retryable : true;
        (this.options.logger ?? silentLogger).debug({ blob: blob.digest, attempt, error: errorMessage(err) }, "blob transfer failed");
        if (!retryable || attempt >= attempts) throw transferGaveUp(err, retryable ? attempt : 1, `blob ${source.name}@${blob.digest}`);
      }
    }
  }
}
