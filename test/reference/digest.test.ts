import { describe, expect, it } from "vitest";
import { isBasewarmError } from "../../src/errors.js";
import { assertDigest, digestAlgorithm, digestProblem, isDigest } from "../../src/reference/index.js";

const HEX = "0123456789abcdef".repeat(4);

describe("digest validation (go-digest rules)", () => {
  it.each([
    [`sha256:${HEX}`, null],
    [`sha384:${"c".repeat(96)}`, null],
    [`sha512:${"b".repeat(128)}`, null],
    [`sha256:${HEX.slice(2)}`, "invalid sha256 digest: want 64 lowercase hex characters"],
    [`sha256:${HEX.toUpperCase()}`, "invalid sha256 digest: want 64 lowercase hex characters"],
    [`sha512:${HEX}`, "invalid sha512 digest: want 128 lowercase hex characters"],
    [`sha384:${HEX}`, "invalid sha384 digest: want 96 lowercase hex characters"],
    [`blake3:${HEX}`, 'unsupported digest algorithm "blake3"'],
    [`SHA256:${HEX}`, "invalid digest format"],
    [HEX, "invalid digest format"],
    [`:${HEX}`, "invalid digest format"],
    ["sha256:", "invalid digest format"],
    [`sha256:${HEX} `, "invalid digest format"],
    [`sha256::${HEX}`, "invalid digest format"],
  ])("%s", (digest, problem) => {
    expect(digestProblem(digest)).toBe(problem);
    expect(isDigest(digest)).toBe(problem === null);
  });

  it("assertDigest names where the digest came from", () => {
    expect(assertDigest(`sha256:${HEX}`)).toBe(`sha256:${HEX}`);
    let error: unknown;
    try {
      assertDigest("sha256:abc", "Docker-Content-Digest header");
    } catch (err) {
      error = err;
    }
    expect(isBasewarmError(error, "REF_INVALID")).toBe(true);
    expect((error as Error).message).toBe('Docker-Content-Digest header "sha256:abc": invalid sha256 digest: want 64 lowercase hex characters');
  });

  it("digestAlgorithm returns the algorithm or refuses", () => {
    expect(digestAlgorithm(`sha512:${"b".repeat(128)}`)).toBe("sha512");
    expect(digestAlgorithm(`sha256:${HEX}`)).toBe("sha256");
    expect(() => digestAlgorithm(`md5:${HEX}`)).toThrow(/unsupported digest algorithm in "md5:/);
  });
});
