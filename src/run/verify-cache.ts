/**
 * After an admin build: is the cache really in the mirror, usable by a fresh builder?
 * - the cache manifest exists and uses OCI media types (BuildKit's fallback path for Docker
 *   media types costs ~30 s per build);
 * - every blob it lists is stored in the mirror's cache repository (a cache exported without
 *   `image-manifest=true` points at layers elsewhere, and a fresh builder then misses it).
 */
import { BasewarmError } from "../errors.js";
import { parseManifest } from "../copy/index.js";
import { MEDIA_TYPES, referenceIn, type RegistryClient, type RepositoryRef } from "../registry/index.js";

export interface CacheCheck {
  ok: boolean;
  manifests: number;
  blobs: number;
  problems: string[];
}

async function checkManifest(client: RegistryClient, repo: RepositoryRef, identifier: string, result: CacheCheck, expectCacheConfig: boolean): Promise<void> {
  const ref = referenceIn(repo, identifier);
  const manifest = await client.manifestGet(ref);
  result.manifests++;
  const where = ref.toString();
  if (manifest.mediaType !== MEDIA_TYPES.ociManifest && manifest.mediaType !== MEDIA_TYPES.ociIndex) {
    result.problems.push(`${where} uses ${manifest.mediaType}, not OCI media types (export the cache with oci-mediatypes=true)`);
  }
  const parsed = parseManifest(manifest.bytes, manifest.mediaType, where);
  if (parsed.kind === "index") {
    if (expectCacheConfig) result.problems.push(`${where} is an index, not an image manifest (export the cache with image-manifest=true so its layers are stored in the mirror)`);
    for (const child of parsed.children) {
      // An index-style cache lists layers as children that live in other repositories.
      const size = await client.blobHead(repo, child.digest).catch(() => undefined);
      const asManifest = size === undefined ? await client.manifestHead(ref.pinned(child.digest)) : undefined;
      if (size === undefined && !asManifest) result.problems.push(`${where} lists ${child.digest}, which is not stored in ${repo.registry}/${repo.repository}`);
    }
    return;
  }
  if (expectCacheConfig && parsed.configMediaType !== MEDIA_TYPES.buildkitCacheConfig) {
    result.problems.push(`${where} has config type ${parsed.configMediaType ?? "none"}, not ${MEDIA_TYPES.buildkitCacheConfig}`);
  }
  for (const blob of parsed.blobs) {
    result.blobs++;
    if ((await client.blobHead(repo, blob.digest)) === undefined) {
      result.problems.push(`${where} lists blob ${blob.digest}, which is not stored in ${repo.registry}/${repo.repository}`);
    }
  }
}

/** BuildKit (buildctl, buildx): one cache manifest at `repo:tag`. */
export async function verifyBuildkitCache(client: RegistryClient, repo: RepositoryRef, tag: string): Promise<CacheCheck> {
  const result: CacheCheck = { ok: false, manifests: 0, blobs: 0, problems: [] };
  const head = await client.manifestHead(referenceIn(repo, tag));
  if (!head) {
    result.problems.push(`no cache manifest at ${repo.registry}/${repo.repository}:${tag}`);
    return result;
  }
  await checkManifest(client, repo, tag, result, true);
  result.ok = result.problems.length === 0;
  return result;
}

/** buildah: one cache image per build step, each under its own tag in the cache repository. */
export async function verifyBuildahCache(client: RegistryClient, repo: RepositoryRef): Promise<CacheCheck> {
  const result: CacheCheck = { ok: false, manifests: 0, blobs: 0, problems: [] };
  const tags = await client.tagsList(repo);
  if (tags.length === 0) {
    result.problems.push(`no cache images in ${repo.registry}/${repo.repository}`);
    return result;
  }
  for (const tag of tags) await checkManifest(client, repo, tag, result, false);
  result.ok = result.problems.length === 0;
  return result;
}

export function cacheProblem(check: CacheCheck): BasewarmError {
  return new BasewarmError("CACHE_INVALID", `cache check failed: ${check.problems.slice(0, 3).join("; ")}${check.problems.length > 3 ? ` (and ${check.problems.length - 3} more)` : ""}`);
}
