/**
 * What a manifest points to, for copying: child manifests (index entries) and blobs (config,
 * layers, artifact blobs). Any media type is accepted; unknown JSON manifests are walked for
 * descriptors generically, so artifacts and BuildKit cache manifests copy like anything else
 * and are never unpacked or converted.
 */
import { BasewarmError } from "../errors.js";
import { isDigest } from "../reference/index.js";
import { isSchema1MediaType, MEDIA_TYPES } from "../registry/index.js";

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ChildDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
}

export interface BlobDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  /** Foreign layers (Windows base layers) and descriptors with `urls` live elsewhere. */
  urls?: string[];
}

export interface ParsedManifest {
  kind: "index" | "image";
  children: ChildDescriptor[];
  blobs: BlobDescriptor[];
  configMediaType?: string;
  subject?: ChildDescriptor;
}

const MAX_CHILDREN = 10_000;

function invalid(subject: string, reason: string): BasewarmError {
  return new BasewarmError("MANIFEST_INVALID", `manifest ${subject}: ${reason}`);
}

function readDescriptor(value: unknown, subject: string, where: string): BlobDescriptor {
  if (typeof value !== "object" || value === null) throw invalid(subject, `${where} is not a descriptor object`);
  const d = value as Record<string, unknown>;
  const digest = d["digest"];
  const size = d["size"];
  const mediaType = d["mediaType"];
  if (typeof digest !== "string" || !isDigest(digest)) throw invalid(subject, `${where} has an invalid digest ${JSON.stringify(digest)}`);
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw invalid(subject, `${where} has an invalid size ${JSON.stringify(size)}`);
  const out: BlobDescriptor = { mediaType: typeof mediaType === "string" ? mediaType : "application/octet-stream", digest, size };
  const urls = d["urls"];
  if (Array.isArray(urls) && urls.length > 0) out.urls = urls.filter((u): u is string => typeof u === "string");
  return out;
}

function readPlatform(value: unknown): Platform | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const p = value as Record<string, unknown>;
  if (typeof p["os"] !== "string" || typeof p["architecture"] !== "string") return undefined;
  const platform: Platform = { os: p["os"], architecture: p["architecture"] };
  if (typeof p["variant"] === "string" && p["variant"]) platform.variant = p["variant"];
  return platform;
}

export function parseManifest(bytes: Buffer, mediaType: string, subject: string): ParsedManifest {
  if (isSchema1MediaType(mediaType)) {
    throw invalid(subject, "Docker schema 1 manifests are deprecated and cannot be mirrored faithfully; use a newer tag of this image");
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw invalid(subject, `not valid JSON (media type ${mediaType || "unknown"})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw invalid(subject, "not a JSON object");
  const m = doc as Record<string, unknown>;
  if (m["schemaVersion"] === 1) {
    throw invalid(subject, "Docker schema 1 manifests are deprecated and cannot be mirrored faithfully; use a newer tag of this image");
  }
  if (m["schemaVersion"] !== 2) throw invalid(subject, `unknown schemaVersion ${JSON.stringify(m["schemaVersion"])}`);
  const declared = m["mediaType"];
  if (typeof declared === "string" && mediaType && declared !== mediaType && mediaType !== "application/octet-stream") {
    throw invalid(subject, `the registry says ${mediaType} but the document says ${declared}`);
  }
  const subjectField = m["subject"] === undefined ? undefined : readDescriptor(m["subject"], subject, "subject");

  if (Array.isArray(m["manifests"])) {
    const list = m["manifests"];
    if (list.length > MAX_CHILDREN) throw invalid(subject, `index lists ${list.length} manifests, more than ${MAX_CHILDREN}`);
    const children = list.map((entry, i) => {
      const d = readDescriptor(entry, subject, `manifests[${i}]`);
      const platform = readPlatform((entry as Record<string, unknown>)["platform"]);
      return { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(platform ? { platform } : {}) };
    });
    return { kind: "index", children, blobs: [], ...(subjectField ? { subject: subjectField } : {}) };
  }

  const blobs: BlobDescriptor[] = [];
  let configMediaType: string | undefined;
  if (m["config"] !== undefined) {
    const config = readDescriptor(m["config"], subject, "config");
    configMediaType = config.mediaType;
    blobs.push(config);
  }
  for (const key of ["layers", "blobs"] as const) {
    const list = m[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw invalid(subject, `${key} is not a list`);
    list.forEach((entry, i) => blobs.push(readDescriptor(entry, subject, `${key}[${i}]`)));
  }
  if (blobs.length === 0 && m["config"] === undefined) {
    throw invalid(subject, "neither an index (manifests) nor an image manifest (config, layers)");
  }
  return { kind: "image", children: [], blobs, ...(configMediaType ? { configMediaType } : {}), ...(subjectField ? { subject: subjectField } : {}) };
}

/** BuildKit registry caches are opaque content: never run, unpack or convert them. */
export function isBuildkitCache(parsed: ParsedManifest): boolean {
  return parsed.configMediaType === MEDIA_TYPES.buildkitCacheConfig;
}
