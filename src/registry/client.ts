/**
 * The OCI Distribution API (distribution-spec v1.1) for basewarm: manifests and blobs by
 * repository, with exact bytes, verified digests and streaming bodies.
 */
import { PassThrough, Readable, type Duplex } from "node:stream";
import { z } from "zod";
import { BasewarmError, isBasewarmError, type ErrorCode } from "../errors.js";
import { bareMediaType, MANIFEST_ACCEPT, MANIFEST_SIZE_LIMIT, MEDIA_TYPES, parseManifest, sniffMediaType, type ChildDescriptor, type Descriptor } from "../oci/index.js";
import { digestAlgorithm, digestOf, isDigest, Reference, repositoryScope } from "../reference/index.js";
import { Transport, type RateLimitInfo, type RegistryResponse, type TransportOptions } from "./transport.js";

/** A repository in a registry: what every blob and manifest call is scoped to. */
export interface RepositoryRef {
  registry: string;
  repository: string;
}

export interface Manifest extends Descriptor {
  bytes: Buffer;
}

/** One page of a tag list (`n=1000` tags of at most 128 characters is ~130 KiB); more is not a tag list. */
export const TAG_LIST_PAGE_LIMIT = 1024 * 1024;
/** Blobs above this size are uploaded in chunks (PATCH) rather than one PUT. */
export const DEFAULT_CHUNKED_THRESHOLD = 512 * 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 32 * 1024 * 1024;

export interface ClientOptions extends TransportOptions {
  chunkedThreshold?: number;
  chunkSize?: number;
}

export type MountResult = { mounted: true } | { mounted: false; location: string };

function repoLabel(repo: RepositoryRef): string {
  return `${repo.registry}/${repo.repository}`;
}

function pullScope(repo: RepositoryRef): string {
  return repositoryScope(repo.repository, "pull");
}

function pushScope(repo: RepositoryRef): string {
  return repositoryScope(repo.repository, "pull,push");
}


/** Read a body into memory, refusing (and draining) one over `limit` bytes. */
async function readCapped(response: RegistryResponse, limit: number, what: string, code: ErrorCode): Promise<Buffer> {
  const length = Number(response.headers["content-length"] ?? "NaN");
  if (!Number.isNaN(length) && length > limit) {
    await response.body.dump().catch(() => undefined);
    throw new BasewarmError(code, `${what} is ${length} bytes, over the ${limit}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > limit) {
      response.body.destroy();
      throw new BasewarmError(code, `${what} is over the ${limit}-byte limit`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Registry JSON other than manifests, validated; a bad document is a REGISTRY_ERROR naming it. */
function parseRegistryJson<T>(bytes: Buffer, schema: z.ZodType<T>, what: string): T {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new BasewarmError("REGISTRY_ERROR", `${what}: the registry sent a response that is not valid JSON`);
  }
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BasewarmError("REGISTRY_ERROR", `${what}: unexpected response (${issue?.path.join(".") || "document"}: ${issue?.message ?? "invalid"})`);
  }
  return parsed.data;
}

// distribution-spec "Listing Tags": `{"name": ..., "tags": [...]}`; registries send `null` for none.
const tagListSchema = z.looseObject({ tags: z.array(z.string()).nullish() });

export class RegistryClient {
  readonly #transport: Transport;
  private readonly chunkedThreshold: number;
  private readonly chunkSize: number;

  constructor(options: ClientOptions = {}) {
    this.#transport = new Transport(options);
    this.chunkedThreshold = options.chunkedThreshold ?? DEFAULT_CHUNKED_THRESHOLD;
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  close(): Promise<void> {
    return this.#transport.close();
  }

  /** The pull budget a registry (Docker Hub) last announced, if any; callers defer work near its end. */
  rateLimit(registry: string): RateLimitInfo | undefined {
    return this.#transport.rateLimit(registry);
  }

  /** `GET /v2/`: checks the registry answers and learns its auth scheme. */
  async ping(registry: string): Promise<void> {
    const res = await this.#transport.request({
      host: registry, method: "GET", path: "/v2/", scopes: [], subject: registry,
      accept: (s) => s === 200 || s === 401,
    });
    await res.body.dump();
    if (res.status === 401) this.#transport.auth.learn(registry, res.headers["www-authenticate"]);
  }

  /**
   * HEAD a manifest by tag or digest. Undefined when it does not exist.
   * A registry that omits `Docker-Content-Digest` on HEAD costs one GET instead.
   */
  async manifestHead(ref: Reference, accept: readonly string[] = MANIFEST_ACCEPT): Promise<Descriptor | undefined> {
    const res = await this.#transport.request({
      host: ref.registry, method: "HEAD", path: `/v2/${ref.repository}/manifests/${ref.identifier}`,
      headers: { accept: accept.join(", ") }, scopes: [ref.scope("pull")], subject: ref.toString(),
      accept: (s) => (s >= 200 && s < 300) || s === 404,
    });
    await res.body.dump();
    if (res.status === 404) return undefined;
    const digest = res.headers["docker-content-digest"];
    const mediaType = bareMediaType(res.headers["content-type"]);
    const size = Number(res.headers["content-length"] ?? "NaN");
    if (!digest || !isDigest(digest) || !mediaType || Number.isNaN(size)) {
      const manifest = await this.manifestGet(ref, accept);
      return { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
    }
    if (ref.digest !== undefined && digest !== ref.digest) {
      throw new BasewarmError("DIGEST_MISMATCH", `manifest ${ref.toString()}: registry reports digest ${digest}`);
    }
    return { mediaType, digest, size };
  }

  /** GET a manifest with its exact bytes; the digest is verified against the reference or the header. */
  async manifestGet(ref: Reference, accept: readonly string[] = MANIFEST_ACCEPT): Promise<Manifest> {
    const res = await this.#transport.request({
      host: ref.registry, method: "GET", path: `/v2/${ref.repository}/manifests/${ref.identifier}`,
      headers: { accept: accept.join(", ") }, scopes: [ref.scope("pull")], subject: ref.toString(),
    });
    const bytes = await readCapped(res, MANIFEST_SIZE_LIMIT, `manifest ${ref.toString()}`, "MANIFEST_TOO_LARGE");
    const header = res.headers["docker-content-digest"];
    const expected = ref.digest ?? (header && isDigest(header) ? header : undefined);
    const algorithm = expected ? digestAlgorithm(expected) : "sha256";
    const digest = digestOf(bytes, algorithm);
    if (expected && digest !== expected) {
      throw new BasewarmError("DIGEST_MISMATCH", `manifest ${ref.toString()}: received bytes hash to ${digest}, expected ${expected}; refusing to use it`, { retryable: true });
    }
    const mediaType = bareMediaType(res.headers["content-type"]) || sniffMediaType(bytes);
    return { bytes, mediaType, digest: expected ?? digest, size: bytes.length };
  }

  /** PUT a manifest by tag or digest; returns the digest the registry stored. */
  async manifestPut(repo: RepositoryRef, reference: string, manifest: { bytes: Buffer; mediaType: string }): Promise<string> {
    const subject = `${repoLabel(repo)}${isDigest(reference) ? "@" : ":"}${reference}`;
    const res = await this.#transport.request({
      host: repo.registry, method: "PUT", path: `/v2/${repo.repository}/manifests/${reference}`,
      headers: { "content-type": manifest.mediaType }, body: manifest.bytes, scopes: [pushScope(repo)], subject,
    });
    await res.body.dump();
    const digest = digestOf(manifest.bytes);
    const stored = res.headers["docker-content-digest"];
    if (stored && stored !== digest) {
      throw new BasewarmError("DIGEST_MISMATCH", `manifest put ${subject}: registry stored ${stored}, expected ${digest}`);
    }
    return digest;
  }

  /** HEAD a blob: its size when the repository has it, undefined otherwise. */
  async blobHead(repo: RepositoryRef, digest: string): Promise<number | undefined> {
    const res = await this.#transport.request({
      host: repo.registry, method: "HEAD", path: `/v2/${repo.repository}/blobs/${digest}`,
      scopes: [pullScope(repo)], subject: `${repoLabel(repo)}@${digest}`, followRedirects: true,
      accept: (s) => (s >= 200 && s < 300) || s === 404,
    });
    await res.body.dump();
    if (res.status === 404) return undefined;
    const size = Number(res.headers["content-length"] ?? "NaN");
    return Number.isNaN(size) ? 0 : size;
  }

  /** One GET of a blob from `offset` (a Range request when > 0). */
  private async blobGetOnce(repo: RepositoryRef, digest: string, offset: number, signal?: AbortSignal): Promise<RegistryResponse> {
    return this.#transport.request({
      host: repo.registry, method: "GET", path: `/v2/${repo.repository}/blobs/${digest}`,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, scopes: [pullScope(repo)],
      subject: `${repoLabel(repo)}@${digest}`, followRedirects: true, priority: "bulk",
      ...(signal ? { signal } : {}),
    });
  }

  /**
   * Stream a blob. When the body breaks off, the rest is fetched with a Range request (or, if the
   * registry ignores Range, the already-delivered prefix is skipped), up to `maxResumes` times.
   * The digest is not checked here: the consumer hashes what it streams.
   */
  blobRead(repo: RepositoryRef, digest: string, options: { size?: number; maxResumes?: number; signal?: AbortSignal; through?: Duplex } = {}): Readable {
    const maxResumes = options.maxResumes ?? 3;
    // The caller's own transform (a digest check) can stand in for the PassThrough: one hop less.
    const out = options.through ?? new PassThrough({ highWaterMark: 1024 * 1024 });
    const pump = async () => {
      let delivered = 0;
      let resumes = 0;
      for (;;) {
        const res = await this.blobGetOnce(repo, digest, delivered, options.signal);
        let skip = 0;
        if (delivered > 0 && res.status !== 206) skip = delivered; // Range ignored: full body again
        try {
          for await (const chunk of res.body) {
            let buffer = chunk as Buffer;
            if (skip > 0) {
              const dropped = Math.min(skip, buffer.length);
              skip -= dropped;
              buffer = buffer.subarray(dropped);
              if (buffer.length === 0) continue;
            }
            delivered += buffer.length;
            if (!out.write(buffer)) await new Promise<void>((resolve) => out.once("drain", resolve));
            if (out.destroyed) {
              res.body.destroy();
              return;
            }
          }
          if (options.size !== undefined && delivered < options.size) {
            throw new BasewarmError("NETWORK_ERROR", `GET ${repoLabel(repo)}@${digest}: the body ended after ${delivered} of ${options.size} bytes`, { retryable: true });
          }
          out.end();
          return;
        } catch (err) {
          if (out.destroyed || options.signal?.aborted || resumes >= maxResumes) throw err;
          if (options.size !== undefined && delivered >= options.size) throw err;
          resumes++;
        }
      }
    };
    pump().catch((err: unknown) => {
      const wrapped = isBasewarmError(err) ? err : new BasewarmError("NETWORK_ERROR", `GET ${repoLabel(repo)}@${digest}: ${(err as Error).message}`, { cause: err, retryable: true });
      out.destroy(wrapped);
    });
    return out;
  }

  /**
   * Cross-repository mount (`POST /blobs/uploads/?mount=&from=`). The registry answers 201 when it
   * mounted the blob and 202 with an upload session when it will not (other registry, no pull
   * right on the source): the caller then uploads into that session.
   */
  async blobMount(repo: RepositoryRef, digest: string, fromRepository: string): Promise<MountResult> {
    const from: RepositoryRef = { registry: repo.registry, repository: fromRepository };
    const res = await this.#transport.request({
      host: repo.registry, method: "POST",
      path: `/v2/${repo.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepository)}`,
      scopes: [pushScope(repo), pullScope(from)], subject: `${repoLabel(repo)}@${digest} (mount from ${fromRepository})`,
      accept: (s) => s === 201 || s === 202,
    });
    await res.body.dump();
    if (res.status === 201) return { mounted: true };
    const location = res.headers["location"];
    if (!location) throw new BasewarmError("REGISTRY_ERROR", `mount of ${digest} into ${repoLabel(repo)}: upload session without Location`);
    return { mounted: false, location: new URL(location, res.url).toString() };
  }

  private async uploadStart(repo: RepositoryRef): Promise<string> {
    const res = await this.#transport.request({
      host: repo.registry, method: "POST", path: `/v2/${repo.repository}/blobs/uploads/`,
      scopes: [pushScope(repo)], subject: `${repoLabel(repo)} (upload)`, accept: (s) => s === 202,
    });
    await res.body.dump();
    const location = res.headers["location"];
    if (!location) throw new BasewarmError("REGISTRY_ERROR", `upload to ${repoLabel(repo)}: registry gave no upload Location`);
    return new URL(location, res.url).toString();
  }

  /**
   * Upload a blob of known digest and size. `body` is a Buffer (retried freely) or a stream,
   * sent once; the registry verifies the digest on the final PUT, so a corrupt stream never lands.
   * Streams above the chunked threshold go up in PATCH chunks of `chunkSize`.
   */
  async blobUpload(repo: RepositoryRef, digest: string, size: number, body: Buffer | Readable, options: { location?: string } = {}): Promise<void> {
    const location = options.location ?? (await this.uploadStart(repo));
    const subject = `${repoLabel(repo)}@${digest}`;
    if (!Buffer.isBuffer(body) && size > this.chunkedThreshold) {
      await this.uploadChunked(repo, digest, size, body, location);
      return;
    }
    const url = new URL(location);
    url.searchParams.set("digest", digest);
    const res = await this.#transport.request({
      host: repo.registry, method: "PUT", path: url.toString(),
      headers: { "content-type": "application/octet-stream", "content-length": String(size) },
      body: Buffer.isBuffer(body) ? body : () => body, once: !Buffer.isBuffer(body),
      scopes: [pushScope(repo)], subject, priority: "bulk", accept: (s) => s === 201,
    });
    await res.body.dump();
  }

  /**
   * Chunked upload (PATCH per chunk, then PUT). Each chunk is streamed straight from the source,
   * never gathered in memory, so a 1 GiB blob costs no more memory than a small one.
   */
  private async uploadChunked(repo: RepositoryRef, digest: string, size: number, body: Readable, firstLocation: string): Promise<void> {
    const subject = `${repoLabel(repo)}@${digest}`;
    const source = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let carry: Buffer | undefined;
    async function* slice(length: number): AsyncGenerator<Buffer> {
      let remaining = length;
      while (remaining > 0) {
        let buffer = carry;
        carry = undefined;
        if (!buffer) {
          const next = await source.next();
          if (next.done) throw new BasewarmError("DIGEST_MISMATCH", `upload ${subject}: the source ended ${remaining} bytes early`, { retryable: true });
          buffer = next.value;
        }
        if (buffer.length > remaining) {
          carry = buffer.subarray(remaining);
          buffer = buffer.subarray(0, remaining);
        }
        remaining -= buffer.length;
        yield buffer;
      }
    }
    let location = firstLocation;
    for (let offset = 0; offset < size; ) {
      const length = Math.min(this.chunkSize, size - offset);
      const res = await this.#transport.request({
        host: repo.registry, method: "PATCH", path: location,
        headers: { "content-type": "application/octet-stream", "content-length": String(length), "content-range": `${offset}-${offset + length - 1}` },
        body: () => Readable.from(slice(length)), scopes: [pushScope(repo)], subject, priority: "bulk", accept: (s) => s === 202,
        once: true, // a repeated PATCH would append twice
      });
      await res.body.dump();
      offset += length;
      const next = res.headers["location"];
      if (next) location = new URL(next, res.url).toString();
    }
    // The source must end exactly here; a longer stream is not the blob we were promised.
    if (carry !== undefined || !(await source.next()).done) {
      throw new BasewarmError("DIGEST_MISMATCH", `upload ${subject}: the source is longer than ${size} bytes`, { retryable: true });
    }
    const url = new URL(location);
    url.searchParams.set("digest", digest);
    const res = await this.#transport.request({
      host: repo.registry, method: "PUT", path: url.toString(), headers: { "content-length": "0" },
      scopes: [pushScope(repo)], subject, accept: (s) => s === 201, once: true,
    });
    await res.body.dump();
  }

  /** All tags of a repository, following `Link` pagination. */
  async tagsList(repo: RepositoryRef): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repo.repository}/tags/list?n=1000`;
    for (let page = 0; path && page < 1000; page++) {
      const res = await this.#transport.request({
        host: repo.registry, method: "GET", path, scopes: [pullScope(repo)], subject: `${repoLabel(repo)} tags`,
        accept: (s) => (s >= 200 && s < 300) || s === 404,
      });
      if (res.status === 404) {
        await res.body.dump();
        return tags;
      }
      const what = `tag list of ${repoLabel(repo)}`;
      const parsed = parseRegistryJson(await readCapped(res, TAG_LIST_PAGE_LIMIT, what, "REGISTRY_ERROR"), tagListSchema, what);
      tags.push(...(parsed.tags ?? []));
      const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers["link"] ?? "");
      path = link?.[1];
    }
    return tags;
  }

  /**
   * The referrers of a manifest (OCI 1.1 referrers API), falling back to the tag schema
   * (`sha256-<hex>` tag) when the registry does not implement the API.
   */
  async referrers(repo: RepositoryRef, digest: string): Promise<ChildDescriptor[]> {
    const subject = `${repoLabel(repo)}@${digest} referrers`;
    const res = await this.#transport.request({
      host: repo.registry, method: "GET", path: `/v2/${repo.repository}/referrers/${digest}`,
      headers: { accept: MEDIA_TYPES.ociIndex }, scopes: [pullScope(repo)], subject,
      accept: (s) => (s >= 200 && s < 300) || s === 404,
    });
    let bytes: Buffer;
    let mediaType: string = MEDIA_TYPES.ociIndex;
    if (res.status === 200 && bareMediaType(res.headers["content-type"]) === MEDIA_TYPES.ociIndex) {
      bytes = await readCapped(res, MANIFEST_SIZE_LIMIT, subject, "MANIFEST_TOO_LARGE");
    } else {
      await res.body.dump();
      const fallbackTag = digest.replace(":", "-");
      const head = await this.manifestHead(referenceIn(repo, fallbackTag));
      if (!head) return [];
      ({ bytes, mediaType } = await this.manifestGet(referenceIn(repo, fallbackTag)));
    }
    // The referrers response is an OCI index: read it like every other index.
    const parsed = parseManifest(bytes, mediaType, subject);
    if (parsed.kind !== "index") throw new BasewarmError("MANIFEST_INVALID", `manifest ${subject}: not an index (no manifests list)`);
    return parsed.children;
  }
}

/** The repository a reference names, without its tag or digest. */
export function repositoryOf(ref: Reference): RepositoryRef {
  return { registry: ref.registry, repository: ref.repository };
}

/** The reference to `identifier` (a tag or a digest) in a repository. */
export function referenceIn(repo: RepositoryRef, identifier: string): Reference {
  const place = { registry: repo.registry, repository: repo.repository };
  return new Reference(isDigest(identifier) ? { ...place, digest: identifier } : { ...place, tag: identifier });
}
