/**
 * An OCI image layout on disk (image-spec image-layout.md): the `oci-layout` marker, `index.json`
 * (an image index whose entries carry their names in `org.opencontainers.image.ref.name`) and
 * content-addressed `blobs/<alg>/<hex>`. Reads are checked: index.json against a schema and a size
 * cap, manifests and blobs against their digests, so a corrupt layout is reported, never copied.
 * Writes land by rename from a temp file inside the layout (one filesystem, so the rename is
 * atomic): a reader, or a crash, never meets half a blob or half an index.json.
 */
import { createHash } from "node:crypto";
import { constants, readdirSync, statSync } from "node:fs";
import { link, open, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Duplex, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { BasewarmError, isBasewarmError } from "../errors.js";
import { openProblem, readRegularFile } from "../files/index.js";
import { MANIFEST_SIZE_LIMIT, MEDIA_TYPES, type Descriptor } from "../oci/index.js";
import { digestAlgorithm, digestOf, isDigest } from "../reference/index.js";
import { exists, makeDirs, writeProblem } from "./directories.js";
import { INDEX_LOCK_WAIT_MS, withIndexLock } from "./index-lock.js";
import { isTempName, sweepDeadTemps, tempPath } from "./leftovers.js";
import { formatLayoutName } from "./name.js";

export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
const LAYOUT_FILE = "oci-layout";
const INDEX_FILE = "index.json";
const LAYOUT_VERSION = "1.0.0";
/** The marker is one short JSON object; anything bigger is not one. */
const LAYOUT_FILE_LIMIT = 4096;
/** Errors list at most this many of a layout's names, then say how many more there are. */
const NAMES_SHOWN = 20;
const INCOMPLETE = "the layout is incomplete: copy the image into it again";

const layoutFileShape = z.looseObject({ imageLayoutVersion: z.string() });
const entryShape = z.looseObject({
  mediaType: z.string().min(1),
  digest: z.string().refine(isDigest, "not a valid digest"),
  size: z.number().int().nonnegative().refine(Number.isSafeInteger),
  annotations: z.record(z.string(), z.string()).optional(),
});
// Loose objects: unknown fields are kept, so rewriting index.json loses nothing another tool wrote.
const indexShape = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MEDIA_TYPES.ociIndex).optional(),
  manifests: z.array(entryShape),
});
type IndexDocument = z.infer<typeof indexShape>;
type IndexEntry = z.infer<typeof entryShape>;

/** A manifest index.json lists, with the name it has there, if any. */
export interface LayoutEntry extends Descriptor {
  refName?: string;
}

function entryOf(entry: IndexEntry): LayoutEntry {
  const refName = entry.annotations?.[REF_NAME_ANNOTATION];
  return { mediaType: entry.mediaType, digest: entry.digest, size: entry.size, ...(refName === undefined ? {} : { refName }) };
}

/** `v1, v2 and 3 without a name`, for messages; long lists are cut. */
function describeNames(entries: LayoutEntry[]): string {
  const names = [...new Set(entries.flatMap((e) => (e.refName === undefined ? [] : [e.refName])))];
  const unnamed = entries.filter((e) => e.refName === undefined).length;
  const parts = names.slice(0, NAMES_SHOWN).map((n) => JSON.stringify(n));
  if (names.length > NAMES_SHOWN) parts.push(`${names.length - NAMES_SHOWN} more`);
  if (unnamed > 0) parts.push(`${unnamed} without a name`);
  return parts.length === 0 ? "none" : parts.join(", ");
}

/** How `land` writes a file: a look at each chunk, a last check before the name appears, and whether it may replace one. */
interface LandOptions {
  onChunk?: (chunk: Buffer) => void;
  check?: () => void;
  clobber?: boolean;
}

export class OciLayout {
  readonly dir: string;
  /** How messages name the layout. */
  readonly label: string;
  /** index.json as read when the layout was opened for reading (what a copy from it resolves against). */
  private readonly opened: IndexDocument | undefined;
  private created: Promise<void> | undefined;
  private readonly lockWaitMs: number;

  private constructor(dir: string, read: boolean, lockWaitMs = INDEX_LOCK_WAIT_MS) {
    this.dir = dir;
    this.lockWaitMs = lockWaitMs;
    this.label = `OCI layout ${dir}`;
    this.opened = read ? this.readIndex() : undefined;
  }

  /** An existing layout to read: DIR, its oci-layout marker and a valid index.json must be there. */
  static open(dir: string): OciLayout {
    if (OciLayout.list(dir) === undefined) throw new BasewarmError("FILE_NOT_FOUND", `OCI layout ${dir} not found; check the directory in oci:DIR[:TAG]`);
    OciLayout.checkMarker(dir);
    return new OciLayout(dir, true);
  }

  /**
   * A layout to write into. A missing or empty DIR becomes a layout on the first write; an existing
   * layout is checked now (marker, index.json), so a broken one is refused before anything is copied;
   * a DIR holding anything else is refused, so basewarm never mixes blobs into someone's files.
   */
  static forWriting(dir: string, options: { lockWaitMs?: number } = {}): OciLayout {
    // Our temp files alone: another copy is creating the layout this very moment (its marker first).
    const names = OciLayout.list(dir)?.filter((name) => !isTempName(name));
    if (names !== undefined && names.length > 0) {
      if (!names.includes(LAYOUT_FILE)) {
        throw new BasewarmError("LAYOUT_INVALID", `${dir} exists and is not an OCI image layout (it is not empty and has no oci-layout file); name a new or empty directory, or an existing layout`);
      }
      OciLayout.checkMarker(dir);
      const layout = new OciLayout(dir, false, options.lockWaitMs);
      if (names.includes(INDEX_FILE)) layout.readIndex();
      return layout;
    }
    return new OciLayout(dir, false, options.lockWaitMs);
  }

  /** The directory's entries; undefined when it does not exist. */
  private static list(dir: string): string[] | undefined {
    try {
      if (!statSync(dir).isDirectory()) throw new BasewarmError("LAYOUT_INVALID", `OCI layout ${dir} is not a directory; name a directory in oci:DIR[:TAG]`);
      return readdirSync(dir);
    } catch (err) {
      if (isBasewarmError(err)) throw err;
      const problem = openProblem(dir, err, { what: "OCI layout" });
      if (problem.code === "FILE_NOT_FOUND") return undefined;
      throw problem;
    }
  }

  private static checkMarker(dir: string): void {
    let text: Buffer;
    try {
      text = readRegularFile(join(dir, LAYOUT_FILE), { what: "OCI layout marker", maxBytes: LAYOUT_FILE_LIMIT });
    } catch (err) {
      if (!isBasewarmError(err, "FILE_NOT_FOUND")) throw err;
      throw new BasewarmError("LAYOUT_INVALID", `${dir} is not an OCI image layout: it has no oci-layout file; name a layout directory (skopeo copy … oci:DIR:TAG writes one)`, { cause: err });
    }
    const parsed = layoutFileShape.safeParse(parseJson(text, join(dir, LAYOUT_FILE)));
    if (!parsed.success) throw new BasewarmError("LAYOUT_INVALID", `${join(dir, LAYOUT_FILE)} has no imageLayoutVersion; it is not an OCI layout marker`);
    // image-spec: the version is semver; a new major version may change the layout incompatibly.
    if (!parsed.data.imageLayoutVersion.startsWith("1.")) {
      throw new BasewarmError("LAYOUT_INVALID", `${join(dir, LAYOUT_FILE)} says imageLayoutVersion ${JSON.stringify(parsed.data.imageLayoutVersion)}; basewarm reads and writes version 1 layouts only`);
    }
  }

  private readIndex(): IndexDocument {
    const path = join(this.dir, INDEX_FILE);
    // index.json is an image index: the cap on manifests applies.
    const bytes = readRegularFile(path, { what: "OCI layout index", maxBytes: MANIFEST_SIZE_LIMIT, hint: "an OCI image layout has one; name a layout directory" });
    const parsed = indexShape.safeParse(parseJson(bytes, path));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BasewarmError("LAYOUT_INVALID", `${path} is not a valid OCI image index (${issue?.path.join(".") || "document"}: ${issue?.message ?? "invalid"}); the layout is damaged: recreate it`);
    }
    return parsed.data;
  }

  /** The manifests index.json lists, in its order; none while a layout to write into has no index.json yet. */
  entries(): LayoutEntry[] {
    if (this.opened) return this.opened.manifests.map(entryOf);
    try {
      return this.readIndex().manifests.map(entryOf);
    } catch (err) {
      if (isBasewarmError(err, "FILE_NOT_FOUND")) return [];
      throw err;
    }
  }

  /** The manifest named `refName`, or without a name the layout's only manifest. */
  find(refName: string | undefined): LayoutEntry {
    const entries = this.entries();
    if (refName === undefined) {
      const [only, ...others] = entries;
      if (only && others.length === 0) return only;
      if (!only) throw new BasewarmError("LAYOUT_INVALID", `${this.label} holds no image (its index.json lists none)`);
      throw new BasewarmError("USAGE", `${this.label} holds ${entries.length} images (names: ${describeNames(entries)}); name one: ${formatLayoutName({ dir: this.dir, refName: "TAG" })}`);
    }
    const matches = entries.filter((e) => e.refName === refName);
    const [match, ...more] = matches;
    if (!match) throw new BasewarmError("USAGE", `${this.label} has no image named ${JSON.stringify(refName)} (names there: ${describeNames(entries)}); name one of those`);
    if (more.length > 0) throw new BasewarmError("LAYOUT_INVALID", `${this.label}: index.json names ${matches.length} images ${JSON.stringify(refName)}, so which one is meant is unclear; fix the layout's index.json`);
    return match;
  }

  private blobPath(digest: string): string {
    // Digests become paths: only a valid one (algorithm and hex, no separators) may.
    if (!isDigest(digest)) throw new BasewarmError("MANIFEST_INVALID", `invalid digest ${JSON.stringify(digest)} for ${this.label}`);
    const colon = digest.indexOf(":");
    return join(this.dir, "blobs", digest.slice(0, colon), digest.slice(colon + 1));
  }

  /** A manifest's exact bytes, refused unless they have the descriptor's size and digest. */
  manifestRead(descriptor: Descriptor): Buffer {
    const path = this.blobPath(descriptor.digest);
    if (descriptor.size > MANIFEST_SIZE_LIMIT) {
      throw new BasewarmError("MANIFEST_TOO_LARGE", `manifest ${path} is ${descriptor.size} bytes, over the ${MANIFEST_SIZE_LIMIT}-byte limit`);
    }
    const bytes = readRegularFile(path, { what: "manifest", maxBytes: MANIFEST_SIZE_LIMIT, hint: INCOMPLETE });
    const actual = digestOf(bytes, digestAlgorithm(descriptor.digest));
    if (bytes.length !== descriptor.size || actual !== descriptor.digest) {
      throw new BasewarmError("DIGEST_MISMATCH", `manifest ${path} is ${bytes.length} bytes hashing to ${actual}, not the ${descriptor.size} bytes of ${descriptor.digest}; the layout is corrupt: copy the image into it again`);
    }
    return bytes;
  }

  /**
   * Stream a blob into `through`, which checks size and digest as it passes (the layout's reader
   * does not hash twice); any failure, a missing file included, destroys `through` with the reason.
   */
  blobRead(blob: Descriptor, options: { through: Duplex; signal?: AbortSignal }): Readable {
    const out = options.through;
    const path = this.blobPath(blob.digest);
    const pump = async () => {
      // O_NONBLOCK: a FIFO planted in blobs/ fails on the type check instead of waiting for a writer.
      const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch((err: unknown) => {
        throw openProblem(path, err, { what: "blob", hint: INCOMPLETE });
      });
      const info = await handle.stat();
      if (!info.isFile()) {
        await handle.close();
        throw new BasewarmError("FILE_UNREADABLE", `blob ${path} is not a regular file; the layout is damaged: copy the image into it again`);
      }
      await pipeline(handle.createReadStream({ highWaterMark: 1024 * 1024 }), out, options.signal ? { signal: options.signal } : {});
    };
    pump().catch((err: unknown) => out.destroy(err as Error));
    return out;
  }

  /** Whether the layout holds a blob (or manifest) of the descriptor's size: then it need not be written. */
  async blobHas(blob: Descriptor): Promise<boolean> {
    const path = this.blobPath(blob.digest);
    try {
      const info = await stat(path);
      return info.isFile() && info.size === blob.size;
    } catch (err) {
      const problem = openProblem(path, err, { what: "blob" });
      if (problem.code === "FILE_NOT_FOUND") return false;
      throw problem;
    }
  }

  /**
   * Write a blob or manifest: it goes to a temp file, hashed on the way, and is renamed into
   * `blobs/` only when size and digest match the descriptor. The layout is created if needed.
   * `checked`: the stream itself fails before its end unless its bytes hash to the descriptor's
   * digest (the copy's digest check), so hashing here again would only cost CPU (~1 s per GiB);
   * the size is still checked.
   */
  async blobWrite(blob: Descriptor, content: Readable | Buffer, options: { checked?: boolean } = {}): Promise<void> {
    const path = this.blobPath(blob.digest);
    const algorithm = digestAlgorithm(blob.digest);
    const hash = options.checked ? undefined : createHash(algorithm);
    let size = 0;
    const refuse = (reason: string) => new BasewarmError("DIGEST_MISMATCH", `blob ${blob.digest} for ${this.label}: ${reason}; not written`, { retryable: true });
    // The write loop below reports the stream's failure; one before it starts reading must not go unhandled.
    if (!Buffer.isBuffer(content)) content.on("error", () => undefined);
    await this.create();
    await this.writing(async () => {
      await makeDirs(dirname(path));
      await this.land(path, Buffer.isBuffer(content) ? [content] : content, {
        onChunk: (chunk) => {
          size += chunk.length;
          if (size > blob.size) throw refuse(`more than the ${blob.size} bytes its descriptor declares`);
          hash?.update(chunk);
        },
        check: () => {
          if (size !== blob.size) throw refuse(`${size} bytes, its descriptor declares ${blob.size}`);
          if (hash === undefined) return;
          const actual = `${algorithm}:${hash.digest("hex")}`;
          if (actual !== blob.digest) throw refuse(`the content hashes to ${actual}`);
        },
      });
    });
  }

  /**
   * Point `refName` at a manifest the layout holds: index.json is rewritten (temp file, rename)
   * with an entry of that name replaced, or added, and every other entry kept as it was. Without a
   * name, the manifest is listed once, unnamed.
   */
  async indexPut(manifest: Descriptor, refName: string | undefined): Promise<void> {
    await this.create();
    await this.writing(() => withIndexLock(this.dir, () => this.indexRewrite(manifest, refName), { waitMs: this.lockWaitMs }));
  }

  /** indexPut's read-modify-write, under the index lock: the index is read afresh inside it. */
  private async indexRewrite(manifest: Descriptor, refName: string | undefined): Promise<void> {
    const index = this.readIndex();
    const replaces = (e: IndexEntry) => {
      const name = e.annotations?.[REF_NAME_ANNOTATION];
      return refName === undefined ? name === undefined && e.digest === manifest.digest : name === refName;
    };
    const at = index.manifests.findIndex(replaces);
    const manifests = index.manifests.filter((e) => !replaces(e));
    const entry: IndexEntry = {
      mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size,
      ...(refName === undefined ? {} : { annotations: { [REF_NAME_ANNOTATION]: refName } }),
    };
    // The replaced entry keeps its place: other tools and people read index.json in order.
    manifests.splice(at === -1 ? manifests.length : at, 0, entry);
    await this.land(join(this.dir, INDEX_FILE), [Buffer.from(JSON.stringify({ ...index, manifests }))]);
  }

  /**
   * Make DIR a layout (directory, marker, empty index), once; what is already there stays, even
   * when another writer creates it at the same moment (no-clobber). The temp files of writers that
   * died are removed here.
   */
  private create(): Promise<void> {
    this.created ??= this.writing(async () => {
      await makeDirs(this.dir);
      await sweepDeadTemps(this.dir);
      const initial = async (name: string, content: unknown) => {
        if (!(await exists(join(this.dir, name)))) await this.land(join(this.dir, name), [Buffer.from(JSON.stringify(content))], { clobber: false });
      };
      // The marker first: another copy opening the directory meanwhile finds a layout, or nothing
      // but temp files, never a directory it must refuse.
      await initial(LAYOUT_FILE, { imageLayoutVersion: LAYOUT_VERSION });
      await makeDirs(join(this.dir, "blobs"));
      await initial(INDEX_FILE, { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] });
    });
    return this.created;
  }

  /** Run a write, a refusal by the file system turned into one line naming this layout. */
  private async writing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      throw writeProblem(this.dir, err);
    }
  }

  /**
   * Write chunks to a temp file in the layout, let `check` refuse it, sync it, then rename it to
   * `path` (or, with `clobber: false`, link it there unless `path` exists). The temp file is
   * removed on any failure (an aborted stream included).
   */
  private async land(path: string, chunks: Iterable<Buffer> | AsyncIterable<Buffer>, options: LandOptions = {}): Promise<void> {
    const { onChunk, check, clobber = true } = options;
    const temp = tempPath(this.dir);
    const handle = await open(temp, "wx", 0o644);
    let closed = false;
    try {
      for await (const chunk of chunks) {
        onChunk?.(chunk);
        for (let offset = 0; offset < chunk.length; ) offset += (await handle.write(chunk, offset)).bytesWritten;
      }
      check?.();
      // Synced before the rename: after a crash the name never points at missing data.
      await handle.datasync();
      closed = true;
      await handle.close();
      if (clobber) {
        await rename(temp, path);
      } else {
        await link(temp, path).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== "EEXIST") throw err;
        });
        await rm(temp, { force: true });
      }
    } catch (err) {
      if (!closed) await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw err;
    }
  }
}

function parseJson(bytes: Buffer, path: string): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new BasewarmError("LAYOUT_INVALID", `${path} is not valid JSON; the layout is damaged: recreate it`);
  }
}
