import { BasewarmError } from "../errors.js";

/**
 * A destination that names a digest (`host/repo@sha256:…`) asks for exactly that image: the copy
 * fails before it writes anything when the source — after any platform filtering, which gives the
 * index a digest of its own — is another one. Registry and layout copies share this check.
 */
export function checkDestinationDigest(destination: { name: string; digest?: string | undefined }, sourceName: string, actual: string): void {
  if (destination.digest === undefined || destination.digest === actual) return;
  throw new BasewarmError("DIGEST_MISMATCH", `destination ${destination.name} names digest ${destination.digest}, but ${sourceName} is ${actual}; drop the digest from the destination or copy the source by that digest`);
}
