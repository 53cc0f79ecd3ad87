import { describe, expect, it } from "vitest";
import { formatLayoutName, isLayoutName, parseLayoutName } from "../../src/layout/index.js";

describe("oci:DIR[:TAG] names, as skopeo splits them", () => {
  it.each([
    ["oci:/tmp/lay", { dir: "/tmp/lay" }],
    ["oci:/tmp/lay:v1", { dir: "/tmp/lay", refName: "v1" }],
    ["oci:rel/dir:3.20", { dir: "rel/dir", refName: "3.20" }],
    // The directory ends at the first ':'; the rest is one ref name, colons and all.
    ["oci:/tmp/lay:library/alpine:3.20", { dir: "/tmp/lay", refName: "library/alpine:3.20" }],
    ["oci:lay:a--b_c+d@e", { dir: "lay", refName: "a--b_c+d@e" }],
  ])("%s", (input, expected) => {
    expect(isLayoutName(input)).toBe(true);
    expect(parseLayoutName(input)).toEqual(expected);
    expect(formatLayoutName(parseLayoutName(input))).toBe(input);
  });

  it.each([
    ["oci:", /no directory/],
    ["oci::v1", /no directory/],
    ["oci:/tmp/lay:", /tag "" must be letters and digits/],
    ["oci:/tmp/lay:-v1", /tag "-v1" must be/],
    ["oci:/tmp/lay:v1/", /tag "v1\/" must be/],
    ["oci:/tmp/lay:a b", /tag "a b" must be/],
    ["docker://x", /not an OCI layout name/],
  ])("refuses %j with the reason", (input, reason) => {
    expect(() => parseLayoutName(input)).toThrow(reason);
    try {
      parseLayoutName(input);
    } catch (err) {
      expect((err as { code: string }).code).toBe("REF_INVALID");
    }
  });

  it("a registry reference is not a layout name", () => {
    expect(isLayoutName("127.0.0.1:5000/lib/x:1")).toBe(false);
    expect(isLayoutName("docker://oci:1")).toBe(false);
  });
});
