/**
 * OCI content descriptors (image-spec descriptor.md) and the platform object of index entries
 * (image-index.md), validated with zod like every other document a registry sends us.
 */
import { z } from "zod";
import { BasewarmError } from "../errors.js";
import { isDigest } from "../reference/index.js";
import type { Platform } from "./platform.js";

/** What points to content: enough to fetch it and check it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A manifest listed by an index or a referrers response. */
export interface ChildDescriptor extends Descriptor {
  platform?: Platform;
  /** OCI 1.1 artifacts (signatures, SBOMs) say what they are here; referrers filters read it. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** A config, layer or artifact blob. */
export interface BlobDescriptor extends Descriptor {
  /** Foreign layers (Windows base layers) and descriptors with `urls` live elsewhere. */
  urls?: string[];
}

const descriptorShape = z.looseObject({
  mediaType: z.string().optional(),
  digest: z.string().refine(isDigest),
  size: z.number().int().nonnegative().refine(Number.isSafeInteger),
  urls: z.array(z.unknown()).optional(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: z.unknown().optional(),
});

const platformShape = z.looseObject({
  os: z.string().min(1),
  architecture: z.string().min(1),
  variant: z.string().optional(),
  "os.version": z.string().optional(),
  "os.features": z.array(z.string()).optional(),
});

export function manifestInvalid(subject: string, reason: string): BasewarmError {
  return new BasewarmError("MANIFEST_INVALID", `manifest ${subject}: ${reason}`);
}

/** The first problem of a descriptor, said about its field (`config has an invalid digest "x"`). */
function descriptorProblem(value: unknown, error: z.ZodError, where: string): string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return `${where} is not a descriptor object`;
  const field = error.issues[0]?.path[0];
  const got = (value as Record<string, unknown>)[String(field)];
  return `${where} has an invalid ${String(field)} ${JSON.stringify(got) ?? "(missing)"}`;
}

export function readBlobDescriptor(value: unknown, subject: string, where: string): BlobDescriptor {
  const parsed = descriptorShape.safeParse(value);
  if (!parsed.success) throw manifestInvalid(subject, descriptorProblem(value, parsed.error, where));
  const d = parsed.data;
  const out: BlobDescriptor = { mediaType: d.mediaType ?? "application/octet-stream", digest: d.digest, size: d.size };
  const urls = d.urls?.filter((u): u is string => typeof u === "string");
  if (urls && urls.length > 0) out.urls = urls;
  return out;
}

/**
 * An index entry's platform, as the registry wrote it (normalized only when compared or printed).
 * A malformed platform object is ignored, not fatal: the entry is still copied whole, it just
 * matches no wanted platform.
 */
export function readPlatform(value: unknown): Platform | undefined {
  const parsed = platformShape.safeParse(value);
  if (!parsed.success) return undefined;
  const p = parsed.data;
  const out: Platform = { os: p.os, architecture: p.architecture, variant: p.variant ?? "" };
  if (p["os.version"]) out.osVersion = p["os.version"];
  if (p["os.features"] && p["os.features"].length > 0) out.osFeatures = p["os.features"];
  return out;
}

export function readChildDescriptor(value: unknown, subject: string, where: string): ChildDescriptor {
  const parsed = descriptorShape.safeParse(value);
  if (!parsed.success) throw manifestInvalid(subject, descriptorProblem(value, parsed.error, where));
  const d = parsed.data;
  const out: ChildDescriptor = { mediaType: d.mediaType ?? "application/octet-stream", digest: d.digest, size: d.size };
  const platform = readPlatform(d.platform);
  if (platform) out.platform = platform;
  if (d.artifactType !== undefined) out.artifactType = d.artifactType;
  if (d.annotations !== undefined) out.annotations = d.annotations;
  return out;
}

