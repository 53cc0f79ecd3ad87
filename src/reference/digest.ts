import { createHash } from "node:crypto";
import { BasewarmError } from "../errors.js";

/**
 * Digest validation as go-digest does it: `algorithm:encoded`, where the registered
 * algorithms fix the encoded length and require lowercase hex. Unknown algorithms
 * that match the grammar are rejected, as a registry would reject them.
 */
const ALGORITHM_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export type DigestAlgorithm = "sha256" | "sha384" | "sha512";

/** Returns null when `value` is a valid digest, otherwise the reason it is not. */
export function digestProblem(value: string): string | null {
  if (!DIGEST_GRAMMAR.test(value)) return "invalid digest format";
  const colon = value.indexOf(":");
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  const length = ALGORITHM_HEX_LENGTH[algorithm];
  if (length === undefined) return `unsupported digest algorithm "${algorithm}"`;
  if (encoded.length !== length || !/^[a-f0-9]+$/.test(encoded)) {
    return `invalid ${algorithm} digest: want ${length} lowercase hex characters`;
  }
  return null;
}

export function isDigest(value: string): boolean {
  return digestProblem(value) === null;
}

export function assertDigest(value: string, where = "digest"): string {
  const problem = digestProblem(value);
  if (problem) throw new BasewarmError("REF_INVALID", `${where} ${JSON.stringify(value)}: ${problem}`);
  return value;
}

export function digestAlgorithm(digest: string): DigestAlgorithm {
  const algorithm = digest.slice(0, digest.indexOf(":"));
  if (algorithm === "sha256" || algorithm === "sha384" || algorithm === "sha512") return algorithm;
  throw new BasewarmError("REF_INVALID", `unsupported digest algorithm in ${JSON.stringify(digest)}`);
}

/** The digest of some bytes, as `algorithm:hex`. */
export function digestOf(data: Buffer | string, algorithm: DigestAlgorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest("hex")}`;
}
