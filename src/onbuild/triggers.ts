/**
 * ONBUILD triggers of mirrored base images. A trigger runs in the tenant's build and may pull
 * images itself (`ONBUILD COPY --from=other-image ...`); those must be in the mirror too. The
 * triggers are read from the image config the mirror now holds (never upstream: no pull cost).
 */
import { z } from "zod";
import { onbuildImages, type OnbuildImage, type OnbuildProblem } from "../dockerfile/index.js";
import { BasewarmError, errorMessage, isBasewarmError, type ErrorCode } from "../errors.js";
import { isImageManifestMediaType, parseManifest } from "../oci/index.js";
import type { Reference } from "../reference/index.js";
import type { RegistryClient } from "../registry/index.js";

/** An image config is a few KiB; a larger one is refused rather than read into memory. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Platforms of one index whose configs are read (real indexes list a handful). */
const MAX_PLATFORMS = 16;

const imageConfig = z.object({ config: z.object({ OnBuild: z.array(z.string()).nullish() }).nullish() });

async function readConfig(client: RegistryClient, ref: Reference, digest: string, size: number): Promise<string[]> {
  if (size > MAX_CONFIG_BYTES) throw new BasewarmError("MANIFEST_INVALID", `${ref.name}@${digest}: image config of ${size} bytes is larger than ${MAX_CONFIG_BYTES}`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of client.blobRead(ref, digest, { size })) {
    total += (chunk as Buffer).length;
    if (total > MAX_CONFIG_BYTES) throw new BasewarmError("MANIFEST_INVALID", `${ref.name}@${digest}: image config larger than ${MAX_CONFIG_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (err) {
    throw new BasewarmError("MANIFEST_INVALID", `${ref.name}@${digest}: image config is not JSON`, { cause: err });
  }
  const parsed = imageConfig.safeParse(json);
  if (!parsed.success) throw new BasewarmError("MANIFEST_INVALID", `${ref.name}@${digest}: image config has a malformed OnBuild list`);
  return parsed.data.config?.OnBuild ?? [];
}

/** The ONBUILD triggers of an image in the mirror, over all its platforms (deduplicated, in order). */
export async function onbuildTriggers(client: RegistryClient, ref: Reference): Promise<string[]> {
  const top = await client.manifestGet(ref);
  const parsed = parseManifest(top.bytes, top.mediaType, ref.toString());
  const images = parsed.kind === "image" ? [{ ref, parsed }] : [];
  if (parsed.kind === "index") {
    for (const child of parsed.children.filter((c) => isImageManifestMediaType(c.mediaType)).slice(0, MAX_PLATFORMS)) {
      const pinned = ref.pinned(child.digest);
      const manifest = await client.manifestGet(pinned);
      images.push({ ref: pinned, parsed: parseManifest(manifest.bytes, manifest.mediaType, pinned.toString()) });
    }
  }
  const triggers: string[] = [];
  for (const image of images) {
    const config = image.parsed.blobs[0];
    // Only runnable images have triggers; BuildKit caches and artifacts have other configs.
    if (!config || !/image\.config|container\.image\.v1/.test(image.parsed.configMediaType ?? "")) continue;
    for (const trigger of await readConfig(client, image.ref, config.digest, config.size)) {
      if (!triggers.includes(trigger)) triggers.push(trigger);
    }
  }
  return triggers;
}

export interface OnbuildFindings {
  images: OnbuildImage[];
  problems: (OnbuildProblem & { image: string })[];
}

/** Images the triggers of `base` (as the mirror holds it) pull, and its malformed triggers. */
export async function onbuildFindings(client: RegistryClient, base: string, mirrored: Reference, options: { platform?: string } = {}): Promise<OnbuildFindings> {
  const triggers = await onbuildTriggers(client, mirrored);
  if (triggers.length === 0) return { images: [], problems: [] };
  const found = onbuildImages(triggers, base, options.platform === undefined ? {} : { platform: options.platform });
  return { images: found.images, problems: found.problems.map((p) => ({ ...p, image: base })) };
}

/** A base's triggers as its readers need them: what they pull, and each problem in one line. */
export interface OnbuildRead {
  images: OnbuildImage[];
  problems: { origin: string; code: ErrorCode; message: string }[];
}

/**
 * Like onbuildFindings, for the run, `plan` and `buildkit-config` alike: a malformed trigger or an
 * unreadable config is a problem of that base ("ONBUILD of IMAGE"), never an error. Only a stop
 * (ABORTED) is thrown: then nothing is wrong with the image.
 */
export async function readOnbuild(client: RegistryClient, base: string, mirrored: Reference): Promise<OnbuildRead> {
  let found: OnbuildFindings;
  try {
    found = await onbuildFindings(client, base, mirrored);
  } catch (err) {
    if (isBasewarmError(err, "ABORTED")) throw err;
    const code = isBasewarmError(err) ? err.code : "MANIFEST_INVALID";
    return { images: [], problems: [{ origin: `ONBUILD of ${base}`, code, message: `ONBUILD of ${base}: cannot read its triggers from the mirror: ${errorMessage(err)}` }] };
  }
  return {
    images: found.images,
    problems: found.problems.map((p) => ({ origin: `ONBUILD of ${p.image}`, code: p.error.code, message: p.error.message })),
  };
}
