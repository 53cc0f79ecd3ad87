import { describe, expect, it } from "vitest";
import { isBasewarmError } from "../../src/errors.js";
import { formatPlatform, normalizePlatform, parsePlatform, platformMatches, tryParsePlatform, type Platform } from "../../src/oci/index.js";

const p = (os: string, architecture: string, variant = "", extra: Partial<Platform> = {}): Platform => ({ os, architecture, variant, ...extra });

describe("platform parsing and normalizing (containerd's Parse + Normalize)", () => {
  it.each([
    ["linux/amd64", p("linux", "amd64")],
    ["linux/amd64/v1", p("linux", "amd64")],
    ["linux/amd64/v3", p("linux", "amd64", "v3")],
    ["linux/arm64", p("linux", "arm64")],
    ["linux/arm64/v8", p("linux", "arm64")],
    ["linux/arm64/8", p("linux", "arm64")],
    ["linux/arm64/9", p("linux", "arm64", "v9")],
    ["linux/aarch64", p("linux", "arm64")],
    ["linux/arm", p("linux", "arm", "v7")],
    ["linux/arm/7", p("linux", "arm", "v7")],
    ["linux/arm/v6", p("linux", "arm", "v6")],
    ["linux/arm/5", p("linux", "arm", "v5")],
    ["linux/armhf", p("linux", "arm", "v7")],
    ["linux/armel", p("linux", "arm", "v6")],
    ["linux/x86_64", p("linux", "amd64")],
    ["linux/x86-64", p("linux", "amd64")],
    ["linux/i386", p("linux", "386")],
    ["Linux/AMD64", p("linux", "amd64")],
    ["macos/arm64", p("darwin", "arm64")],
    ["linux/s390x", p("linux", "s390x")],
    ["windows(10.0.17763.5329)/amd64", p("windows", "amd64", "", { osVersion: "10.0.17763.5329" })],
    // A lone OS or architecture, as BuildKit's FROM --platform accepts.
    ["linux", p("linux", "amd64")],
    ["windows", p("windows", "amd64")],
    ["arm64", p("linux", "arm64")],
    ["aarch64", p("linux", "arm64")],
  ])("%s", (spec, expected) => {
    expect(tryParsePlatform(spec)).toEqual(expected);
  });

  it.each([
    ["", /empty platform/],
    ["linux/amd64/v8/extra", /too many components/],
    ["linux//v7", /empty component/],
    ["linux/amd 64", /invalid characters/],
    ["linux/arm64/v8.0", /invalid characters/],
    ["plan10", /unknown operating system or architecture/],
    ["arm64(1.0)", /unknown operating system or architecture/],
  ])("refuses %j with the reason", (spec, reason) => {
    const result = tryParsePlatform(spec);
    expect(typeof result).toBe("string");
    expect(result).toMatch(reason);
  });

  it("requires the architecture where asked (config, copy --platform), and says so with the value", () => {
    expect(tryParsePlatform("linux", { requireArchitecture: true })).toBe("missing the architecture");
    const thrown = (() => {
      try {
        return parsePlatform("linux");
      } catch (err) {
        return err;
      }
    })();
    expect(isBasewarmError(thrown, "USAGE")).toBe(true);
    expect((thrown as Error).message).toBe('invalid platform "linux": missing the architecture (want os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8)');
    expect(parsePlatform(" linux/arm64/v8 ")).toEqual(p("linux", "arm64"));
  });

  it("formats what it parsed the way TARGETPLATFORM is written, the version only on request", () => {
    expect(formatPlatform(parsePlatform("linux/arm64/v8"))).toBe("linux/arm64");
    expect(formatPlatform(parsePlatform("linux/arm"))).toBe("linux/arm/v7");
    expect(formatPlatform(parsePlatform("linux/amd64/v3"))).toBe("linux/amd64/v3");
    const windows = parsePlatform("windows(10.0.20348.2113)/amd64");
    expect(formatPlatform(windows)).toBe("windows/amd64");
    expect(formatPlatform(windows, { osVersion: true })).toBe("windows(10.0.20348.2113)/amd64");
    expect(tryParsePlatform(formatPlatform(windows, { osVersion: true }))).toEqual(windows);
  });

  it("normalizes index entries the same way, keeping os.version and os.features", () => {
    expect(normalizePlatform({ os: "Windows", architecture: "AMD64", osVersion: "10.0.17763.1", osFeatures: ["win32k"] }))
      .toEqual(p("windows", "amd64", "", { osVersion: "10.0.17763.1", osFeatures: ["win32k"] }));
    expect(normalizePlatform({ os: "linux", architecture: "arm64", variant: "v8" })).toEqual(p("linux", "arm64"));
    expect(normalizePlatform({ os: "linux", architecture: "aarch64", variant: "v8.0" })).toEqual(p("linux", "arm64"));
    expect(normalizePlatform({ os: "linux", architecture: "arm64", variant: "9.0" })).toEqual(p("linux", "arm64", "v9"));
  });
});

describe("platform matching against index entries (containerd's NewMatcher)", () => {
  const entry = (os: string, architecture: string, variant?: string, extra: Partial<Platform> = {}): Platform => ({ os, architecture, variant: variant ?? "", ...extra });

  it.each([
    // wanted, entry, matches
    ["linux/arm64", entry("linux", "arm64", "v8"), true],
    ["linux/arm64", entry("linux", "arm64"), true],
    ["linux/arm64/v8", entry("linux", "arm64"), true],
    ["linux/arm64/v8", entry("linux", "arm64", "v8"), true],
    ["linux/aarch64", entry("linux", "arm64", "v8"), true],
    ["linux/arm64", entry("linux", "arm64", "v9"), false],
    ["linux/arm", entry("linux", "arm", "v7"), true],
    ["linux/arm", entry("linux", "arm"), true],
    ["linux/arm", entry("linux", "arm", "v6"), false],
    ["linux/arm/v6", entry("linux", "arm", "v6"), true],
    ["linux/arm/v6", entry("linux", "arm", "v7"), false],
    ["linux/arm/v7", entry("linux", "arm", "v6"), false],
    ["linux/armhf", entry("linux", "arm", "v7"), true],
    // A wanted platform without variant is the architecture's default variant, not any variant.
    ["linux/amd64", entry("linux", "amd64"), true],
    ["linux/amd64", entry("linux", "amd64", "v1"), true],
    ["linux/amd64", entry("linux", "amd64", "v3"), false],
    ["linux/amd64/v3", entry("linux", "amd64", "v3"), true],
    ["linux/amd64", entry("linux", "arm64"), false],
    ["linux/amd64", entry("windows", "amd64"), false],
    ["linux/amd64", entry("Linux", "x86_64"), true],
    // Windows: the OS version narrows the match to one build (major.minor.build); the revision may differ.
    ["windows/amd64", entry("windows", "amd64", undefined, { osVersion: "10.0.17763.5329" }), true],
    ["windows(10.0.17763)/amd64", entry("windows", "amd64", undefined, { osVersion: "10.0.17763.5329" }), true],
    ["windows(10.0.17763.100)/amd64", entry("windows", "amd64", undefined, { osVersion: "10.0.17763.5329" }), true],
    ["windows(10.0.20348)/amd64", entry("windows", "amd64", undefined, { osVersion: "10.0.17763.5329" }), false],
    ["windows(10.0.20348)/amd64", entry("windows", "amd64"), true],
  ])("wanted %s, entry %j: %s", (wanted, candidate, expected) => {
    expect(platformMatches(parsePlatform(wanted), candidate)).toBe(expected);
  });

  it("never matches an entry without a platform, and honours wanted os.features", () => {
    expect(platformMatches(parsePlatform("linux/amd64"), undefined)).toBe(false);
    const wanted = { ...parsePlatform("windows/amd64"), osFeatures: ["win32k"] };
    expect(platformMatches(wanted, entry("windows", "amd64", undefined, { osFeatures: ["win32k"] }))).toBe(true);
    expect(platformMatches(wanted, entry("windows", "amd64"))).toBe(false);
  });
});
