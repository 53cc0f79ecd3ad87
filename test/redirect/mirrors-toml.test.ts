import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { mirrorReference } from "../../src/naming/index.js";
import { parseReference } from "../../src/reference/index.js";
import { mirrorsToml, plainHttpHost, registryMirror } from "../../src/redirect/index.js";
import type { LeftOutImage } from "../../src/redirect/index.js";

type Sections = Record<string, { mirrors?: unknown; http?: unknown; insecure?: unknown }>;

function sectionsOf(toml: string): Sections {
  const parsed = parse(toml) as { registry?: Sections };
  expect(Object.keys(parsed)).toEqual(["registry"]);
  return parsed.registry ?? {};
}

/** BuildKit's mirror path join (util/resolver: `/v2` + mirror path + the image's repository). */
function buildkitMirrorPath(mirror: string, repository: string): string {
  const slash = mirror.indexOf("/");
  const host = slash === -1 ? mirror : mirror.slice(0, slash);
  const path = slash === -1 ? "" : mirror.slice(slash);
  return `${host}/v2${path}/${repository}`;
}

describe("buildkitd.toml mirrors (parsed with a TOML library; no buildkitd runs it here)", () => {
  const sources = ["docker.io/library/alpine:3.20", "ghcr.io/org/tool:1", "127.0.0.1:5001/lib/base:2", "my-registry.io:443/team/app:7", "docker.io/user/app:1"];

  const cases: { name: string; target: { registry: string; prefix: string }; registries: Record<string, { insecure?: boolean }>; mirrorHttp: boolean }[] = [
    { name: "loopback mirror with a prefix", target: { registry: "127.0.0.1:5000", prefix: "mirror" }, registries: {}, mirrorHttp: true },
    { name: "insecure (plain HTTP) mirror with a nested prefix", target: { registry: "mirror.internal:5000", prefix: "team/mirror" }, registries: { "mirror.internal:5000": { insecure: true } }, mirrorHttp: true },
    { name: "HTTPS mirror without a prefix", target: { registry: "mirror.example.com", prefix: "" }, registries: {}, mirrorHttp: false },
  ];

  for (const c of cases) {
    it(`${c.name}: one section per source registry whose mirror path serves each image where basewarm stored it`, () => {
      const refs = sources.map((s) => parseReference(s));
      const toml = mirrorsToml({ target: c.target, registries: refs.map((r) => r.registry), plainHttp: plainHttpHost({ registries: c.registries }), leftOut: [] });
      const sections = sectionsOf(toml);
      const expectedHosts = ["127.0.0.1:5001", "docker.io", "ghcr.io", "my-registry.io:443", ...(c.mirrorHttp ? [c.target.registry] : [])];
      expect(Object.keys(sections).sort()).toEqual(expectedHosts.sort());
      for (const ref of refs) {
        const section = sections[ref.registry];
        expect(section?.mirrors).toEqual([registryMirror(ref.registry, c.target)]);
        const mirror = (section?.mirrors as string[])[0]!;
        // Where BuildKit will ask is where the mirror step copied the image.
        const stored = mirrorReference(ref, c.target);
        expect(buildkitMirrorPath(mirror, ref.repository)).toBe(`${stored.registry}/v2/${stored.repository}`);
        // A loopback source is fetched over HTTP when BuildKit falls back to it.
        expect(section?.http).toBe(ref.registry === "127.0.0.1:5001" ? true : undefined);
        expect(section?.insecure).toBeUndefined();
      }
      expect(sections[c.target.registry]?.http).toBe(c.mirrorHttp ? true : undefined);
    });
  }

  it("writes the exact mirror strings for docker.io and a host:port source", () => {
    const target = { registry: "mirror.internal:5000", prefix: "mirror" };
    expect(registryMirror("docker.io", target)).toBe("mirror.internal:5000/mirror/docker.io");
    expect(registryMirror("127.0.0.1:5001", target)).toBe("mirror.internal:5000/mirror/127.0.0.1-5001");
    expect(registryMirror("my-registry.io:443", target)).toBe("mirror.internal:5000/mirror/my--registry.io-443");
  });

  it("lists each source registry once, sorted, and never mirrors the mirror to itself", () => {
    const target = { registry: "127.0.0.1:5000", prefix: "m" };
    const toml = mirrorsToml({ target, registries: ["ghcr.io", "docker.io", "ghcr.io", "127.0.0.1:5000"], plainHttp: plainHttpHost({ registries: {} }), leftOut: [] });
    const sections = sectionsOf(toml);
    expect(Object.keys(sections)).toEqual(["docker.io", "ghcr.io", "127.0.0.1:5000"]);
    expect(sections["127.0.0.1:5000"]).toEqual({ http: true });
    expect([...toml.matchAll(/^\[registry\."ghcr\.io"\]$/gm)]).toHaveLength(1);
  });

  it("an insecure source registry keeps plain HTTP for the fallback", () => {
    const toml = mirrorsToml({ target: { registry: "mirror.example.com", prefix: "m" }, registries: ["old.internal:5000"], plainHttp: plainHttpHost({ registries: { "old.internal:5000": { insecure: true } } }), leftOut: [] });
    expect(sectionsOf(toml)).toEqual({ "old.internal:5000": { mirrors: ["mirror.example.com/m/old.internal-5000"], http: true } });
  });

  it("names left-out images in comments that keep the file valid TOML", () => {
    const leftOut: LeftOutImage[] = [{ source: parseReference("ghcr.io/org/gone:1"), reason: "not-mirrored", message: "the mirror does not hold \"x\" [sic]; run basewarm mirror first" }];
    const toml = mirrorsToml({ target: { registry: "127.0.0.1:5000", prefix: "m" }, registries: ["ghcr.io"], plainHttp: () => false, leftOut });
    expect(toml).toMatch(/^# not in the mirror, pulled from upstream: ghcr\.io\/org\/gone:1: the mirror does not hold "x" \[sic\]; run basewarm mirror first$/m);
    expect(sectionsOf(toml)).toEqual({ "ghcr.io": { mirrors: ["127.0.0.1:5000/m/ghcr.io"] } });
    const broken = mirrorsToml({ target: { registry: "127.0.0.1:5000", prefix: "m" }, registries: ["ghcr.io"], plainHttp: () => false, leftOut: [{ ...leftOut[0]!, reason: "lookup-failed", message: "bad\r\n[registry.\"evil\"]\nmirrors = [\"x\"]" }] });
    expect(sectionsOf(broken)).toEqual({ "ghcr.io": { mirrors: ["127.0.0.1:5000/m/ghcr.io"] } });
    // An out-of-date copy cannot be left out of a registry-wide mirror: the comment says it is still served.
    const stale = mirrorsToml({ target: { registry: "127.0.0.1:5000", prefix: "m" }, registries: ["ghcr.io"], plainHttp: () => false, leftOut: [{ ...leftOut[0]!, reason: "out-of-date", message: "the mirror's x is out of date" }] });
    expect(stale).toMatch(/^# out of date in the mirror, still served from it until basewarm mirror runs: ghcr\.io\/org\/gone:1: the mirror's x is out of date$/m);
  });

  it("an empty catalog with an HTTPS mirror gives a valid file with no sections", () => {
    expect(parse(mirrorsToml({ target: { registry: "mirror.example.com", prefix: "m" }, registries: [], plainHttp: () => false, leftOut: [] }))).toEqual({});
  });
});
