/**
 * Registry-to-registry image copy. One Copier is one run: it remembers which blobs are already
 * in which target repository and which transfers are in flight, so a blob shared by many images
 * is transferred once and mounted everywhere else.
 */
import { DEFAULT_CONCURRENCY } from "../config/schema.js";
import pLimit, { type LimitFunction } from "p-limit";
import { BasewarmError, errorMessage, isBasewarmError } from "../errors.js";
import { silentLogger, type Logger } from "../log/index.js";
import type { Reference } from "../reference/index.js";
import { MEDIA_TYPES, parseManifest, type BlobDescriptor, type Descriptor, type Platform } from "../oci/index.js";
import type { Manifest, RegistryClient, RepositoryRef } from "../registry/index.js";
import { referenceIn, repositoryOf } from "../registry/index.js";
import { transferGaveUp } from "./give-up.js";
import { holdsFilteredCopy, indexForPlatforms, type ReducedIndex } from "./platforms.js";
import { checkDestinationDigest } from "./destination-digest.js";
import { manifestIfAny } from "./mirror-copy.js";
import { DigestVerifier } from "./verify-stream.js";

export type CopyStatus = "copied" | "unchanged" | "failed" | "deferred";

export interface CopyRequest {
  source: Reference;
  target: Reference;
  /** Copy only these platforms of an index (the result is then a new index with a new digest). */
  platforms?: Platform[];
  /** Re-copy even when the target already has the digest (blobs are still checked with HEAD). */
  force?: boolean;
  /** Also copy the OCI 1.1 referrers (signatures, SBOMs, attestations). */
  referrers?: boolean;
}

export interface CopyResult {
  source: string;
  target: string;
  status: CopyStatus;
  /** Digest at the target (equals sourceDigest unless platforms were filtered). */
  digest: string | null;
  sourceDigest: string | null;
  mediaType: string | null;
  /** Bytes this image uploaded (mounted and skipped blobs count zero). */
  bytes: number;
  blobs: { copied: number; mounted: number; skipped: number };
  manifests: number;
  platformsFiltered: boolean;
  referrers: number;
  error?: string;
  errorCode?: string;
}

export type ProgressEvent =
  | { kind: "bytes"; bytes: number }
  | { kind: "image"; result: CopyResult };

export interface CopierOptions {
  client: RegistryClient;
  /** Global limit on concurrent blob transfers. */
  blobConcurrency?: number;
  /** Images copied at once by copyAll. */
  imageConcurrency?: number;
  /** Whole-transfer attempts for a blob whose stream failed transiently. */
  blobAttempts?: number;
  /** Defer images from a registry whose `ratelimit-remaining` is at or below this reserve. */
  rateLimitReserve?: number;
  /**
   * Repositories of the target registry remembered to hold a blob (the state's memory of earlier
   * runs): a blob new to a repository is mounted from there instead of pulled again.
   */
  knownBlobLocations?: (registry: string, digest: string) => Promise<string[]>;
  /** Told once per repository and blob when the target holds it: copied, mounted or found there. */
  onBlobPlaced?: (registry: string, repository: string, digest: string) => void;
  logger?: Logger;
  onProgress?: (event: ProgressEvent) => void;
  /** Stop (SIGTERM): images not started yet are not started, blob streams in flight are aborted. */
  signal?: AbortSignal;
}

/** What one image's copy moved. */
export interface ImageStats {
  bytes: number;
  copied: number;
  mounted: number;
  skipped: number;
  manifests: number;
}

export function newStats(): ImageStats {
  return { bytes: 0, copied: 0, mounted: 0, skipped: 0, manifests: 0 };
}

/** The result of a copy about to start: failed until the copy says otherwise. */
export function newResult(source: string, target: string, sourceDigest: string | null): CopyResult {
  return {
    source, target, status: "failed", digest: null, sourceDigest, mediaType: null, bytes: 0,
    blobs: { copied: 0, mounted: 0, skipped: 0 }, manifests: 0, platformsFiltered: false, referrers: 0,
  };
}

export function addStats(result: CopyResult, stats: ImageStats): void {
  result.bytes = stats.bytes;
  result.blobs = { copied: stats.copied, mounted: stats.mounted, skipped: stats.skipped };
  result.manifests = stats.manifests;
}

function label(repo: RepositoryRef, digest: string): string {
  return `${repo.registry}/${repo.repository}@${digest}`;
}

export class Copier {
  private readonly client: RegistryClient;
  private readonly blobLimit: LimitFunction;
  private readonly imageLimit: LimitFunction;
  private readonly blobAttempts: number;
  private readonly logger: Logger;
  private readonly options: CopierOptions;
  /** `registry@digest` → repository of that registry holding (or receiving) the blob. */
  private readonly blobOwners = new Map<string, Promise<string>>();
  /** `registry/repo@digest` → the blob is there (or on its way). */
  private readonly blobsInRepo = new Map<string, Promise<void>>();
  /** `registry/repo@digest` → the manifest tree is there (or on its way). */
  private readonly manifestsInRepo = new Map<string, Promise<void>>();
  /** Totals over the run. */
  readonly totals = { bytes: 0, blobsCopied: 0, blobsMounted: 0, blobsSkipped: 0 };

  constructor(options: CopierOptions) {
    this.options = options;
    this.client = options.client;
    this.blobLimit = pLimit(options.blobConcurrency ?? DEFAULT_CONCURRENCY.blobs);
    // Images mostly wait on small requests; blob transfers are bounded separately.
    this.imageLimit = pLimit(options.imageConcurrency ?? DEFAULT_CONCURRENCY.images);
    this.blobAttempts = options.blobAttempts ?? 3;
    this.logger = options.logger ?? silentLogger;
  }

  /** Copy many images; one failure never stops the others. Results keep the input order. */
  async copyAll(requests: CopyRequest[]): Promise<CopyResult[]> {
    return Promise.all(requests.map((request) => this.imageLimit(() => this.copyImage(request))));
  }

  /** Throws ABORTED once the copier was asked to stop. */
  private checkStopped(): void {
    if (this.options.signal?.aborted) throw new BasewarmError("ABORTED", "stopped: the run was asked to stop (SIGTERM); the next run finishes this image");
  }

  async copyImage(request: CopyRequest): Promise<CopyResult> {
    const stats = newStats();
    const result = newResult(request.source.toString(), request.target.toString(), request.source.digest ?? null);
    try {
      const reserve = this.options.rateLimitReserve;
      const budget = this.client.rateLimit(request.source.registry);
      this.checkStopped();
      if (reserve !== undefined && budget && budget.remaining <= reserve) {
        result.status = "deferred";
        result.error = `${request.source.registry} has ${budget.remaining} pulls left of ${budget.limit}, at or below the reserve of ${reserve}; deferred to a later run`;
        result.errorCode = "RATE_LIMITED";
      } else {
        await this.copyInto(request, result, stats);
      }
    } catch (err) {
      result.status = "failed";
      result.error = errorMessage(err);
      result.errorCode = isBasewarmError(err) ? err.code : "REGISTRY_ERROR";
      this.logger.warn({ source: result.source, target: result.target, error: result.error }, "image copy failed");
    }
    addStats(result, stats);
    this.options.onProgress?.({ kind: "image", result });
    return result;
  }

  private async copyInto(request: CopyRequest, result: CopyResult, stats: ImageStats): Promise<void> {
    const { source, target } = request;
    const sourceRepo = repositoryOf(source);
    const targetRepo = repositoryOf(target);
    const filtering = request.platforms !== undefined && request.platforms.length > 0;

    // A digest is immutable: when the target has it, the source is never asked.
    if (source.digest !== undefined && !request.force && !filtering && (target.digest === undefined || target.digest === source.digest)) {
      const existing = await this.client.manifestHead(target.pinned(source.digest));
      if (existing) {
        if (target.tag !== undefined) await this.retag(targetRepo, target.tag, existing);
        result.status = "unchanged";
        result.digest = existing.digest;
        result.mediaType = existing.mediaType;
        // Signatures and SBOMs attached upstream after the first copy still have to arrive.
        if (request.referrers) result.referrers = await this.copyReferrers(sourceRepo, targetRepo, source.digest, stats);
        return;
      }
    }

    // Ask the source and the target at once: both answers are needed whatever they say. Filtering,
    // the target's manifest itself is read (it says what it was filtered from), so an unchanged
    // image costs no fetch of the source index.
    const checkTarget = !request.force && target.tag !== undefined;
    const targetHead: Promise<Descriptor | Manifest | undefined> = !checkTarget ? Promise.resolve(undefined) : filtering ? manifestIfAny(this.client, target) : this.client.manifestHead(target);
    targetHead.catch(() => undefined);
    let top: Descriptor;
    if (source.digest !== undefined) {
      top = { digest: source.digest, mediaType: "", size: 0 };
    } else {
      const head = await this.client.manifestHead(source);
      if (!head) throw new BasewarmError("NOT_FOUND", `${source.toString()}: no such image at the source (check the name and tag)`);
      top = head;
    }
    result.sourceDigest = top.digest;

    if (filtering && checkTarget) {
      const existing = await targetHead;
      if (existing && "bytes" in existing && holdsFilteredCopy(existing, top.digest, request.platforms ?? [])) {
        result.status = "unchanged";
        result.digest = existing.digest;
        result.mediaType = existing.mediaType;
        result.platformsFiltered = existing.digest !== top.digest;
        return;
      }
    }

    let filtered: ReducedIndex | undefined;
    if (filtering) {
      filtered = await this.filteredIndex(source, top.digest, request.platforms ?? []);
      result.platformsFiltered = filtered !== undefined;
    }
    const wantedDigest = filtered?.digest ?? top.digest;
    checkDestinationDigest({ name: target.toString(), digest: target.digest }, source.toString(), wantedDigest);

    if (!request.force && target.tag !== undefined) {
      const existing = await targetHead;
      if (existing && existing.digest === wantedDigest) {
        result.status = "unchanged";
        result.digest = existing.digest;
        result.mediaType = existing.mediaType;
        if (request.referrers && !filtered) result.referrers = await this.copyReferrers(sourceRepo, targetRepo, top.digest, stats);
        return;
      }
    }

    if (filtered) {
      await Promise.all(filtered.children.map((child) => this.ensureManifest(sourceRepo, targetRepo, child, request.force ?? false, stats, new Set([top.digest]))));
      await this.client.manifestPut(targetRepo, filtered.digest, filtered);
      stats.manifests++;
      if (target.tag !== undefined) await this.client.manifestPut(targetRepo, target.tag, filtered);
      result.mediaType = filtered.mediaType;
    } else {
      // Fetch a tagged top manifest by its tag: the registry's digest header is then checked
      // against the bytes, so a registry that lies about digests is caught here. The checks above already asked the mirror about this image (by digest, or by tag), so the
      // top manifest is fetched without another HEAD. When the mirror does hold the digest under
      // another tag, this costs one source GET instead of a mirror HEAD; that case is rare.
      const bytes = await this.ensureManifest(sourceRepo, targetRepo, { digest: top.digest, mediaType: top.mediaType, size: top.size }, request.force ?? false, stats, new Set(), source.digest === undefined ? source : undefined, target.tag, false);
      if (target.tag !== undefined) {
        if (bytes) {
          result.mediaType = bytes.mediaType; // pushed by tag above
        } else {
          // The mirror had the digest under another name: point the tag at it, target-only.
          const manifest = await this.client.manifestGet(target.pinned(top.digest));
          await this.client.manifestPut(targetRepo, target.tag, manifest);
          result.mediaType = manifest.mediaType;
        }
      } else {
        result.mediaType = bytes?.mediaType ?? top.mediaType;
      }
    }
    result.digest = wantedDigest;
    result.status = "copied";

    if (request.referrers) result.referrers = await this.copyReferrers(sourceRepo, targetRepo, top.digest, stats);
  }

  /** Point a tag at a manifest the target already has, using only the target. */
  private async retag(repo: RepositoryRef, tag: string, existing: Descriptor): Promise<void> {
    const current = await this.client.manifestHead(referenceIn(repo, tag));
    if (current?.digest === existing.digest) return;
    const manifest = await this.client.manifestGet(referenceIn(repo, existing.digest));
    await this.client.manifestPut(repo, tag, manifest);
  }

  /** The source index reduced to the wanted platforms, or undefined when the source is not an index or the filter keeps it all. */
  private async filteredIndex(source: Reference, digest: string, platforms: Platform[]): Promise<ReducedIndex | undefined> {
    const manifest = await this.client.manifestGet(source.pinned(digest));
    return indexForPlatforms(manifest, source.toString(), platforms);
  }

  /**
   * Make sure the target repository has a manifest and everything below it, children first.
   * Returns the manifest when it had to be fetched (so the caller can tag it without a second GET).
   */
  private async ensureManifest(
    sourceRepo: RepositoryRef,
    targetRepo: RepositoryRef,
    descriptor: { digest: string; mediaType: string; size: number },
    force: boolean,
    stats: ImageStats,
    ancestors: Set<string>,
    fetchAs?: Reference,
    putAs?: string,
    checkTarget = true,
  ): Promise<{ bytes: Buffer; mediaType: string } | undefined> {
    if (ancestors.has(descriptor.digest)) {
      throw new BasewarmError("MANIFEST_INVALID", `manifest ${label(sourceRepo, descriptor.digest)} lists itself among its children (a cycle); refusing to copy it`);
    }
    const key = label(targetRepo, descriptor.digest);
    const inflight = this.manifestsInRepo.get(key);
    if (inflight && ancestors.size > 0) {
      await inflight;
      return undefined;
    }
    let fetched: { bytes: Buffer; mediaType: string } | undefined;
    const work = (async () => {
      if (!force && checkTarget) {
        const existing = await this.client.manifestHead(referenceIn(targetRepo, descriptor.digest));
        if (existing) return;
      }
      const manifest = await this.client.manifestGet(fetchAs ?? referenceIn(sourceRepo, descriptor.digest));
      if (manifest.digest !== descriptor.digest) {
        throw new BasewarmError("DIGEST_MISMATCH", `${fetchAs?.toString() ?? label(sourceRepo, descriptor.digest)}: the registry announced ${descriptor.digest} but serves a manifest hashing to ${manifest.digest} (the tag moved or the registry is inconsistent); try again`, { retryable: true });
      }
      fetched = manifest;
      const parsed = parseManifest(manifest.bytes, manifest.mediaType, label(sourceRepo, descriptor.digest));
      const lineage = new Set(ancestors).add(descriptor.digest);
      await Promise.all([
        ...parsed.children.map((child) => this.ensureManifest(sourceRepo, targetRepo, child, force, stats, lineage)),
        ...parsed.blobs.map((blob) => this.ensureBlob(sourceRepo, targetRepo, blob, stats)),
      ]);
      // A PUT by tag stores the manifest under its digest too: one request instead of two.
      await this.client.manifestPut(targetRepo, putAs ?? descriptor.digest, manifest);
      stats.manifests++;
    })();
    this.manifestsInRepo.set(key, work);
    work.catch(() => this.manifestsInRepo.delete(key));
    await work;
    return fetched;
  }

  private ensureBlob(sourceRepo: RepositoryRef, targetRepo: RepositoryRef, blob: BlobDescriptor, stats: ImageStats): Promise<void> {
    if (blob.urls && blob.urls.length > 0) return Promise.resolve(); // foreign layer: lives outside registries
    const key = label(targetRepo, blob.digest);
    let work = this.blobsInRepo.get(key);
    if (work) {
      stats.skipped++;
      return work;
    }
    work = this.placeBlob(sourceRepo, targetRepo, blob, stats);
    this.blobsInRepo.set(key, work);
    work.then(() => this.options.onBlobPlaced?.(targetRepo.registry, targetRepo.repository, blob.digest), () => this.blobsInRepo.delete(key));
    return work;
  }

  private async placeBlob(sourceRepo: RepositoryRef, targetRepo: RepositoryRef, blob: BlobDescriptor, stats: ImageStats): Promise<void> {
    const ownerKey = `${targetRepo.registry}@${blob.digest}`;
    const owner = this.blobOwners.get(ownerKey);
    if (owner) {
      // Another repository of this registry has (or is receiving) the blob: mount it from there.
      const from = await owner.catch(() => undefined);
      if (from !== undefined && from !== targetRepo.repository) {
        const mount = await this.client.blobMount(targetRepo, blob.digest, from);
        if (mount.mounted) {
          stats.mounted++;
          this.totals.blobsMounted++;
          return;
        }
        await this.transfer(sourceRepo, targetRepo, blob, stats, mount.location);
        return;
      }
      if (from === targetRepo.repository) {
        stats.skipped++;
        return;
      }
    }
    let settle!: (repo: string) => void;
    let fail!: (err: unknown) => void;
    const claim = new Promise<string>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    claim.catch(() => undefined);
    this.blobOwners.set(ownerKey, claim);
    try {
      let location: string | undefined;
      for (const from of await this.rememberedLocations(targetRepo.registry, blob.digest)) {
        if (from === targetRepo.repository) continue;
        const mount = await this.client.blobMount(targetRepo, blob.digest, from);
        if (mount.mounted) {
          stats.mounted++;
          this.totals.blobsMounted++;
          settle(targetRepo.repository);
          return;
        }
        location = mount.location; // the failed mount opened an upload session: use it
        break;
      }
      if (location === undefined) {
        // "Mount from itself": one request that answers 201 when the repository already has the
        // blob and otherwise opens the upload session we need anyway (a HEAD plus a POST in one).
        const probe = await this.client.blobMount(targetRepo, blob.digest, targetRepo.repository);
        if (probe.mounted) {
          stats.skipped++;
          this.totals.blobsSkipped++;
          settle(targetRepo.repository);
          return;
        }
        location = probe.location;
      }
      await this.transfer(sourceRepo, targetRepo, blob, stats, location);
      settle(targetRepo.repository);
    } catch (err) {
      this.blobOwners.delete(ownerKey);
      fail(err);
      throw err;
    }
  }

  /** Where earlier runs placed a blob; a memory that cannot be read is no reason to fail the copy. */
  private async rememberedLocations(registry: string, digest: string): Promise<string[]> {
    try {
      return (await this.options.knownBlobLocations?.(registry, digest)) ?? [];
    } catch (err) {
      this.logger.debug({ blob: digest, error: errorMessage(err) }, "cannot read remembered blob locations");
      return [];
    }
  }

  /** Stream one blob source → target through a digest check, retrying the whole transfer. */
  private async transfer(sourceRepo: RepositoryRef, targetRepo: RepositoryRef, blob: BlobDescriptor, stats: ImageStats, location?: string): Promise<void> {
    await this.blobLimit(async () => {
      let session = location;
      for (let attempt = 1; ; attempt++) {
        let sent = 0;
        this.checkStopped();
        try {
          const verifier = new DigestVerifier(blob.digest, blob.size, label(sourceRepo, blob.digest), (n) => {
            sent += n;
            this.options.onProgress?.({ kind: "bytes", bytes: n });
          });
          // The reader writes straight into the verifier and destroys it when the source fails,
          // which aborts the upload it feeds; the upload reports the error, so no 'error' listener
          // of its own is needed beyond keeping it from being unhandled.
          verifier.on("error", () => undefined);
          this.client.blobRead(sourceRepo, blob.digest, { size: blob.size, through: verifier, ...(this.options.signal ? { signal: this.options.signal } : {}) });
          await this.client.blobUpload(targetRepo, blob.digest, blob.size, verifier, session === undefined ? {} : { location: session });
          stats.bytes += blob.size;
          stats.copied++;
          this.totals.bytes += blob.size;
          this.totals.blobsCopied++;
          return;
        } catch (err) {
          session = undefined; // a broken session cannot be reused; start a new upload
          this.checkStopped();
          const retryable = isBasewarmError(err) ? err.retryable : true;
          this.logger.debug({ blob: blob.digest, attempt, sent, error: errorMessage(err) }, "blob transfer failed");
          if (!retryable || attempt >= this.blobAttempts) throw transferGaveUp(err, retryable ? attempt : 1, `blob ${label(sourceRepo, blob.digest)}`);
        }
      }
    });
  }

  private async copyReferrers(sourceRepo: RepositoryRef, targetRepo: RepositoryRef, digest: string, stats: ImageStats): Promise<number> {
    const referrers = await this.client.referrers(sourceRepo, digest);
    for (const referrer of referrers) {
      await this.ensureManifest(sourceRepo, targetRepo, referrer, false, stats, new Set());
    }
    if (referrers.length === 0) return 0;
    // Registries without the referrers API (distribution 2.x) find referrers by the tag schema.
    const atTarget = await this.client.referrers(targetRepo, digest);
    const missing = referrers.filter((r) => !atTarget.some((t) => t.digest === r.digest));
    if (missing.length > 0) {
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [...atTarget, ...missing] }));
      await this.client.manifestPut(targetRepo, digest.replace(":", "-"), { bytes: index, mediaType: MEDIA_TYPES.ociIndex });
    }
    return referrers.length;
  }
}
