/**
 * After an admin build: is the cache really in the mirror, usable by a fresh builder?
 * - the cache manifest exists and uses OCI media types (BuildKit's fallback path for Docker
 *   media types costs ~30 s per build);
 * - every blob it lists is stored in the mirror's cache repository (a cache exported without
 *   `image-manifest=true` points at layers elsewhere, and a fresh builder then misses it).
 */
import { BasewarmError, errorMessage, isBasewarmError } from "../errors.js";
import { MEDIA_TYPES, parseManifest } from "../oci/index.js";
import { referenceIn, type RegistryClient, type RepositoryRef } from "../registry/index.js";

/** A digest whose presence could not be checked (401, timeout, 5xx): not the same as "not stored". */
export interface CheckError {
  digest: string;
  code: string;
  message: string;
}

export interface CacheCheck {
  ok: boolean;
  manifests: number;
  blobs: number;
  problems: string[];
  /** Lookups that failed; each is also one of `problems`, so the check fails. */
  errors?: CheckError[];
}

/**
 * Is `digest` stored? True or false only when the registry answered (a 404 is "not stored");
 * any other failure comes back as the error, so an expired credential or a slow registry is
 * never reported as a missing blob.
 */
async function lookup(digest: string, probes: (() => Promise<unknown>)[]): Promise<boolean | CheckError> {
  try {
    for (const probe of probes) {
      if ((await probe()) !== undefined) return true;
    }
    return false;
  } catch (err) {
    const code = isBasewarmError(err) ? err.code : typeof (err as { code?: unknown }).code === "string" ? String((err as { code: string }).code) : "UNEXPECTED";
    return { digest, code, message: errorMessage(err) };
  }
}

function record(result: CacheCheck, where: string, what: string, repo: RepositoryRef, found: boolean | CheckError): void {
  const place = `${repo.registry}/${repo.repository}`;
  if (found === true) return;
  if (found === false) {
    result.problems.push(`${where} lists ${what}, which is not stored in ${place}`);
    return;
  }
  (result.errors ??= []).push(found);
  result.problems.push(`${where} lists ${what}, which could not be checked in ${place}: ${found.code}: ${found.message}`);
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
      // An index-style cache lists layers as children, which may be blobs or manifests.
      const found = await lookup(child.digest, [() => client.blobHead(repo, child.digest), () => client.manifestHead(ref.pinned(child.digest))]);
      record(result, where, child.digest, repo, found);
    }
    return;
  }
  if (expectCacheConfig && parsed.configMediaType !== MEDIA_TYPES.buildkitCacheConfig) {
    result.problems.push(`${where} has config type ${parsed.configMediaType ?? "none"}, not ${MEDIA_TYPES.buildkitCacheConfig}`);
  }
  for (const blob of parsed.blobs) {
    result.blobs++;
    record(result, where, `blob ${blob.digest}`, repo, await lookup(blob.digest, [() => client.blobHead(repo, blob.digest)]));
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
