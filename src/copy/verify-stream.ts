import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { BasewarmError } from "../errors.js";
import { digestAlgorithm } from "../reference/index.js";
import { bytesMoved } from "./young-garbage.js";

/**
 * Passes bytes through while hashing them; fails the stream (and so the upload it feeds) when
 * the content does not hash to the expected digest or has the wrong size. The last chunk is
 * held back until the check passes, so a registry never receives a complete corrupt body.
 */
export class DigestVerifier extends Transform {
  private readonly hash: Hash;
  private readonly expected: string;
  private readonly expectedSize: number;
  private readonly subject: string;
  private seen = 0;
  private held: Buffer | undefined;
  private readonly onBytes: ((bytes: number) => void) | undefined;

  constructor(expected: string, expectedSize: number, subject: string, onBytes?: (bytes: number) => void) {
    super({ highWaterMark: 1024 * 1024 });
    this.expected = expected;
    this.expectedSize = expectedSize;
    this.subject = subject;
    this.hash = createHash(digestAlgorithm(expected));
    this.onBytes = onBytes;
  }

  get bytes(): number {
    return this.seen;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.expectedSize) {
      callback(new BasewarmError("DIGEST_MISMATCH", `blob ${this.subject}: more than the ${this.expectedSize} bytes its descriptor declares`, { retryable: true }));
      return;
    }
    this.hash.update(chunk);
    this.onBytes?.(chunk.length);
    bytesMoved(chunk.length);
    const previous = this.held;
    this.held = chunk;
    if (previous) this.push(previous);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.seen !== this.expectedSize) {
      callback(new BasewarmError("DIGEST_MISMATCH", `blob ${this.subject}: received ${this.seen} bytes, its descriptor declares ${this.expectedSize}`, { retryable: true }));
      return;
    }
    const actual = `${this.expected.slice(0, this.expected.indexOf(":"))}:${this.hash.digest("hex")}`;
    if (actual !== this.expected) {
      callback(new BasewarmError("DIGEST_MISMATCH", `blob ${this.subject}: content hashes to ${actual}; refusing to upload it`, { retryable: true }));
      return;
    }
    if (this.held) this.push(this.held);
    callback();
  }
}
