/**
 * Seeded bytes at memory speed: the AES-256-CTR keystream of a key derived from the seed.
 * testkit's seededBytes hashes 32 bytes at a time, far too slow for a 1 GiB blob; this one
 * is deterministic too and can be produced as a stream without ever holding the whole blob.
 */
import { createCipheriv, createHash } from "node:crypto";
import { Readable } from "node:stream";

const CHUNK = 1024 * 1024;

function keystream(seed: string) {
  const key = createHash("sha256").update(`basewarm-bench/${seed}`).digest();
  return createCipheriv("aes-256-ctr", key, Buffer.alloc(16, 0));
}

export function seededBuffer(seed: string, size: number): Buffer {
  return keystream(seed).update(Buffer.alloc(size, 0));
}

/** The same bytes as seededBuffer(seed, size), produced lazily in 1 MiB chunks. */
export function seededStream(seed: string, size: number): Readable {
  const cipher = keystream(seed);
  const zeros = Buffer.alloc(CHUNK, 0);
  let left = size;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(CHUNK, left);
      left -= n;
      this.push(cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n)));
    },
  });
}

/** Digest of seededStream(seed, size), computed with one streaming pass. */
export async function seededDigest(seed: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of seededStream(seed, size)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

/** A small deterministic PRNG (mulberry32) for choosing sizes and shapes. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
