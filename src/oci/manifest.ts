/**
 * Manifests of any kind, read once: what a manifest points to (child manifests of an index;
 * config, layers and artifact blobs of an image), its subject and its config type. Unknown JSON
 * manifests are walked for descriptors generically, so artifacts and BuildKit cache manifests
 * copy like anything else and are never unpacked or converted.
 */
import { z } from "zod";
import { manifestInvalid, readBlobDescriptor, readChildDescriptor, type BlobDescriptor, type ChildDescriptor } from "./descriptor.js";
import { isSchema1MediaType, MEDIA_TYPES } from "./media-types.js";

export interface ParsedManifest {
  kind: "index" | "image";
  /** The media type the document declares, when it declares one. */
  mediaType?: string;
  children: ChildDescriptor[];
  blobs: BlobDescriptor[];
  configMediaType?: string;
  artifactType?: string;
  subject?: ChildDescriptor;
}

/**
 * Manifests are small documents; anything bigger is refused (as registries do), wherever it is
 * read from: a registry response or an OCI layout's blob.
 */
export const MANIFEST_SIZE_LIMIT = 4 * 1024 * 1024;

/** An index listing more manifests than this is not an image anyone can use; refuse it early. */
const MAX_CHILDREN = 10_000;
const SCHEMA1 = "Docker schema 1 manifests are deprecated and cannot be mirrored faithfully; use a newer tag of this image";

// Only the top-level shape; descriptors are read one by one so a message can name the bad one.
const manifestShape = z.looseObject({
  schemaVersion: z.unknown().optional(),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(z.unknown()).optional(),
  config: z.unknown().optional(),
  layers: z.array(z.unknown()).optional(),
  blobs: z.array(z.unknown()).optional(),
  subject: z.unknown().optional(),
});

function parseJson(bytes: Buffer, mediaType: string, subject: string): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    throw manifestInvalid(subject, `not valid JSON (media type ${mediaType || "unknown"})`);
  }
}

function readShape(bytes: Buffer, mediaType: string, subject: string): { doc: Record<string, unknown>; m: z.infer<typeof manifestShape> } {
  if (isSchema1MediaType(mediaType)) throw manifestInvalid(subject, SCHEMA1);
  const doc = parseJson(bytes, mediaType, subject);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw manifestInvalid(subject, "not a JSON object");
  const parsed = manifestShape.safeParse(doc);
  if (!parsed.success) {
    const field = String(parsed.error.issues[0]?.path[0] ?? "document");
    const expected = field === "mediaType" || field === "artifactType" ? "a string" : "a list";
    throw manifestInvalid(subject, `${field} is not ${expected}`);
  }
  const m = parsed.data;
  if (m.schemaVersion === 1) throw manifestInvalid(subject, SCHEMA1);
  if (m.schemaVersion !== 2) throw manifestInvalid(subject, `unknown schemaVersion ${JSON.stringify(m.schemaVersion)}`);
  // The registry's Content-Type and the document must agree, or the digest names two things.
  if (m.mediaType !== undefined && mediaType && m.mediaType !== mediaType && mediaType !== "application/octet-stream") {
    throw manifestInvalid(subject, `the registry says ${mediaType} but the document says ${m.mediaType}`);
  }
  return { doc: doc as Record<string, unknown>, m };
}

/** Parse a manifest of any media type; throws MANIFEST_INVALID naming `subject` and the reason. */
export function parseManifest(bytes: Buffer, mediaType: string, subject: string): ParsedManifest {
  const { m } = readShape(bytes, mediaType, subject);
  const common = {
    ...(m.mediaType !== undefined ? { mediaType: m.mediaType } : {}),
    ...(m.artifactType !== undefined ? { artifactType: m.artifactType } : {}),
    ...(m.subject !== undefined ? { subject: readChildDescriptor(m.subject, subject, "subject") } : {}),
  };

  if (m.manifests !== undefined) {
    if (m.manifests.length > MAX_CHILDREN) throw manifestInvalid(subject, `index lists ${m.manifests.length} manifests, more than ${MAX_CHILDREN}`);
    const children = m.manifests.map((entry, i) => readChildDescriptor(entry, subject, `manifests[${i}]`));
    return { kind: "index", children, blobs: [], ...common };
  }

  const blobs: BlobDescriptor[] = [];
  let configMediaType: string | undefined;
  if (m.config !== undefined) {
    const config = readBlobDescriptor(m.config, subject, "config");
    configMediaType = config.mediaType;
    blobs.push(config);
  }
  m.layers?.forEach((entry, i) => blobs.push(readBlobDescriptor(entry, subject, `layers[${i}]`)));
  m.blobs?.forEach((entry, i) => blobs.push(readBlobDescriptor(entry, subject, `blobs[${i}]`)));
  if (blobs.length === 0 && m.config === undefined) {
    throw manifestInvalid(subject, "neither an index (manifests) nor an image manifest (config, layers)");
  }
  return { kind: "image", children: [], blobs, ...(configMediaType ? { configMediaType } : {}), ...common };
}

/**
 * The same index with only the entries `keep` accepts. Every other field and every kept entry
 * is carried over as the registry wrote it (annotations, unknown fields), so only the list shrinks.
 */
export function filterIndex(bytes: Buffer, mediaType: string, subject: string, keep: (child: ChildDescriptor) => boolean, annotations?: Record<string, string>): { bytes: Buffer; children: ChildDescriptor[]; dropped: ChildDescriptor[] } {
  const { doc, m } = readShape(bytes, mediaType, subject);
  if (m.manifests === undefined) throw manifestInvalid(subject, "not an index (no manifests list)");
  const raw = m.manifests;
  const parsed = raw.map((entry, i) => readChildDescriptor(entry, subject, `manifests[${i}]`));
  const kept = parsed.map((child, i) => ({ child, i })).filter(({ child }) => keep(child));
  const own = stringRecord(doc["annotations"]);
  const out = Buffer.from(JSON.stringify({ ...doc, manifests: kept.map(({ i }) => raw[i]), ...(annotations ? { annotations: { ...own, ...annotations } } : {}) }));
  return { bytes: out, children: kept.map(({ child }) => child), dropped: parsed.filter((c) => !kept.some((k) => k.child === c)) };
}

/** A manifest's own annotations (strings only); throws MANIFEST_INVALID as parseManifest does. */
export function manifestAnnotations(bytes: Buffer, mediaType: string, subject: string): Record<string, string> {
  return stringRecord(readShape(bytes, mediaType, subject).doc["annotations"]);
}

/** An index's own annotations, strings only (anything else is not an annotation). */
function stringRecord(value: unknown): Record<string, string> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/** Media type from the document itself, for registries that send none. */
export function sniffMediaType(bytes: Buffer): string {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch {
    return "application/octet-stream";
  }
  const parsed = z.looseObject({ mediaType: z.unknown().optional(), manifests: z.unknown().optional(), schemaVersion: z.unknown().optional() }).safeParse(doc);
  if (!parsed.success) return "application/octet-stream";
  const m = parsed.data;
  if (typeof m.mediaType === "string") return m.mediaType;
  if (m.schemaVersion === 1) return MEDIA_TYPES.dockerSchema1;
  return Array.isArray(m.manifests) ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest;
}

/** BuildKit registry caches are opaque content: never run, unpack or convert them. */
export function isBuildkitCache(parsed: ParsedManifest): boolean {
  return parsed.configMediaType === MEDIA_TYPES.buildkitCacheConfig;
}
