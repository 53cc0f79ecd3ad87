/**
 * The two ends of a copy that involves an OCI layout, each behind a narrow interface, so one small
 * walk (copy-between.ts) serves registry → layout, layout → registry and layout → layout.
 * Registry → registry stays with the Copier: it mounts blobs across repositories and shares them
 * between the images of a run, none of which a directory has.
 */
import type { Duplex, Readable } from "node:stream";
import { BasewarmError } from "../errors.js";
import { formatLayoutName, type OciLayout } from "../layout/index.js";
import { sniffMediaType, type Descriptor } from "../oci/index.js";
import type { Reference } from "../reference/index.js";
import { repositoryOf, type RegistryClient } from "../registry/index.js";

export interface ManifestBytes {
  bytes: Buffer;
  mediaType: string;
}

export interface ImageSource {
  /** How messages and results name it: `host/repo:tag`, `oci:DIR:TAG`. */
  readonly name: string;
  /** The top manifest; NOT_FOUND when the tag or name names nothing. */
  resolve(): Promise<Descriptor>;
  /** A manifest's exact bytes, verified against the descriptor's digest. */
  manifest(descriptor: Descriptor): Promise<ManifestBytes>;
  /** Stream a blob into `into`, which checks its digest; a failure destroys `into`. */
  blob(blob: Descriptor, into: Duplex, signal?: AbortSignal): void;
}

export interface ImageTarget {
  readonly name: string;
  /** The digest the destination names (`host/repo@sha256:…`): the copy must produce exactly it. */
  readonly digest?: string;
  /** Whether the destination's name already resolves to this digest (nothing to do then). */
  holds(digest: string): Promise<boolean>;
  hasManifest(descriptor: Descriptor): Promise<boolean>;
  hasBlob(blob: Descriptor): Promise<boolean>;
  /** `body` is the walk's digest check: it fails before its end unless its bytes match `blob`. */
  blobPut(blob: Descriptor, body: Readable): Promise<void>;
  manifestPut(descriptor: Descriptor, manifest: ManifestBytes): Promise<void>;
  /** Store the top manifest and point the destination's name (tag, ref name) at it: the last step. */
  topPut(descriptor: Descriptor, manifest: ManifestBytes): Promise<void>;
}

export function registrySource(client: RegistryClient, ref: Reference): ImageSource {
  return {
    name: ref.toString(),
    async resolve() {
      const head = await client.manifestHead(ref);
      if (!head) throw new BasewarmError("NOT_FOUND", `${ref.toString()}: no such image at the source (check the name and tag)`);
      return head;
    },
    async manifest(descriptor) {
      // By digest: the client checks the bytes against it.
      const { bytes, mediaType } = await client.manifestGet(ref.pinned(descriptor.digest));
      return { bytes, mediaType };
    },
    blob(blob, into, signal) {
      client.blobRead(repositoryOf(ref), blob.digest, { size: blob.size, through: into, ...(signal ? { signal } : {}) });
    },
  };
}

export function registryTarget(client: RegistryClient, ref: Reference): ImageTarget {
  const repo = repositoryOf(ref);
  return {
    name: ref.toString(),
    ...(ref.digest === undefined ? {} : { digest: ref.digest }),
    async holds(digest) {
      const head = await client.manifestHead(ref.tag === undefined ? ref.pinned(digest) : ref.withTag(ref.tag));
      return head?.digest === digest;
    },
    async hasManifest(descriptor) {
      return (await client.manifestHead(ref.pinned(descriptor.digest))) !== undefined;
    },
    async hasBlob(blob) {
      return (await client.blobHead(repo, blob.digest)) !== undefined;
    },
    async blobPut(blob, body) {
      await client.blobUpload(repo, blob.digest, blob.size, body);
    },
    async manifestPut(descriptor, manifest) {
      await client.manifestPut(repo, descriptor.digest, manifest);
    },
    async topPut(descriptor, manifest) {
      // A PUT by tag stores the manifest under its digest too: one request instead of two.
      await client.manifestPut(repo, ref.tag ?? descriptor.digest, manifest);
    },
  };
}

/** Resolves the name at once: the layout is local, so a wrong or missing name fails before any network. */
export function layoutSource(layout: OciLayout, refName: string | undefined): ImageSource {
  const top = layout.find(refName);
  return {
    name: formatLayoutName({ dir: layout.dir, ...(refName === undefined ? {} : { refName }) }),
    resolve: async () => top,
    async manifest(descriptor) {
      const bytes = layout.manifestRead(descriptor);
      // A layout stores no Content-Type: the descriptor says it, or (when it did not) the document.
      const mediaType = descriptor.mediaType && descriptor.mediaType !== "application/octet-stream" ? descriptor.mediaType : sniffMediaType(bytes);
      return { bytes, mediaType };
    },
    blob(blob, into, signal) {
      layout.blobRead(blob, { through: into, ...(signal ? { signal } : {}) });
    },
  };
}

export function layoutTarget(layout: OciLayout, refName: string | undefined): ImageTarget {
  return {
    name: formatLayoutName({ dir: layout.dir, ...(refName === undefined ? {} : { refName }) }),
    async holds(digest) {
      const entry = layout.entries().find((e) => e.refName === refName && e.digest === digest);
      return entry !== undefined && (await layout.blobHas(entry));
    },
    hasManifest: (descriptor) => layout.blobHas(descriptor),
    hasBlob: (blob) => layout.blobHas(blob),
    blobPut: (blob, body) => layout.blobWrite(blob, body, { checked: true }),
    manifestPut: (descriptor, manifest) => layout.blobWrite(descriptor, manifest.bytes),
    async topPut(descriptor, manifest) {
      if (!(await layout.blobHas(descriptor))) await layout.blobWrite(descriptor, manifest.bytes);
      await layout.indexPut({ ...descriptor, mediaType: manifest.mediaType }, refName);
    },
  };
}
