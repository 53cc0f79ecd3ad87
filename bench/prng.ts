/**
 * Seeded data for the benchmark, from testkit's AES-CTR keystream (deterministic, memory speed),
 * as a buffer or as a lazy stream for blobs too big to hold.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { seededBytes, seededChunks } from "../testkit/images.js";

export { seededRandom as rng } from "../testkit/random.js";

export const seededBuffer = seededBytes;

/** The same bytes as seededBuffer(seed, size), produced lazily in 1 MiB chunks. */
export function seededStream(seed: string, size: number): Readable {
  return Readable.from(seededChunks(seed, size), { objectMode: false });
}

/** Digest of seededStream(seed, size), computed with one streaming pass. */
export function seededDigest(seed: string, size: number): string {
  const hash = createHash("sha256");
  for (const chunk of seededChunks(seed, size)) hash.update(chunk);
  return `sha256:${hash.digest("hex")}`;
}
