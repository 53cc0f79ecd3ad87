import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { catalogOf } from "../../src/run/catalog.js";
import { parseConfig } from "../../src/config/index.js";

/** Files in a temp folder and the config read as if at `configAt` there; `config` may name the folder. */
function workspace(files: Record<string, string>, config: string | ((dir: string) => string), configAt = "basewarm.yaml") {
  const dir = mkdtempSync(join(tmpdir(), "basewarm-catalog-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return parseConfig(typeof config === "string" ? config : config(dir), join(dir, configAt));
}

describe("catalog", () => {
  it("deduplicates references across Dockerfiles and images, keeping every use site", () => {
    const loaded = workspace({
      "svc/a/Dockerfile": "FROM alpine:3.20 AS build\nRUN true\nFROM build\n",
      "svc/b/Dockerfile": "ARG V=3.20\nFROM docker.io/library/alpine:${V}\nCOPY --from=golang:1.22 /usr/local/go /go\n",
      "other/Dockerfile.tools": "FROM index.docker.io/library/golang:1.22\n",
    }, [
      "target: { registry: 127.0.0.1:5000 }",
      "catalog:",
      "  - dockerfile: svc/*/Dockerfile",
      "  - dockerfile: other/Dockerfile.tools",
      "    name: tools",
      "    cache: shared/tools",
      "images: [alpine:3.20, 'busybox@sha256:" + "b".repeat(64) + "']",
    ].join("\n"));
    const catalog = catalogOf(loaded);
    expect(catalog.problems).toEqual([]);
    expect(catalog.entries.map((e) => [e.name, e.cache.repository])).toEqual([["svc-a", "cache/svc-a"], ["svc-b", "cache/svc-b"], ["tools", "cache/shared/tools"]]);
    expect([...catalog.images.keys()].sort()).toEqual([
      "docker.io/library/alpine:3.20",
      `docker.io/library/busybox@sha256:${"b".repeat(64)}`,
      "docker.io/library/golang:1.22",
    ]);
    const alpine = catalog.images.get("docker.io/library/alpine:3.20")!;
    expect(alpine.sites.map((s) => (s.kind === "dockerfile" ? `${s.entry}:${s.line}` : s.origin))).toEqual(["svc-a:1", "svc-b:2", "images[0]"]);
    const golang = catalog.images.get("docker.io/library/golang:1.22")!;
    expect(golang.sites.map((s) => (s.kind === "dockerfile" ? s.use : s.kind))).toEqual(["copy-from", "from"]);
  });

  it("expands an absolute glob and one that climbs out of the config's folder", () => {
    const dockerfile = "FROM alpine:3.20\n";
    const loaded = workspace(
      { "df/api/Dockerfile": dockerfile, "df/web/Dockerfile": dockerfile, "shared/tools/Dockerfile": dockerfile, "conf/x": dockerfile },
      (root) => `target: { registry: 127.0.0.1:5000 }\ncatalog:\n  - dockerfile: ${root}/df/*/Dockerfile\n  - dockerfile: ../shared/**/Dockerfile\n`,
      "conf/basewarm.yaml",
    );
    const dir = join(loaded.dir, "..");
    const catalog = catalogOf(loaded);
    expect(catalog.problems).toEqual([]);
    expect(catalog.entries.map((e) => e.dockerfile)).toEqual([join(dir, "df/api/Dockerfile"), join(dir, "df/web/Dockerfile"), join(dir, "shared/tools/Dockerfile")]);
  });

  it("reports a bad Dockerfile or a glob without matches per entry and keeps the rest", () => {
    const loaded = workspace({
      "good/Dockerfile": "FROM alpine:3.20\n",
      "bad/Dockerfile": "FROM Alpine:3.20\n",
    }, "target: { registry: 127.0.0.1:5000 }\ncatalog:\n  - dockerfile: good/Dockerfile\n  - dockerfile: bad/Dockerfile\n  - dockerfile: nothing/*/Dockerfile\n");
    const catalog = catalogOf(loaded);
    expect(catalog.entries.map((e) => e.name)).toEqual(["good"]);
    expect(catalog.problems.map((p) => p.message)).toEqual([
      // The config's file and line, as for any config error.
      expect.stringMatching(/basewarm\.yaml:5: catalog\[2\]\.dockerfile: no file matches "nothing\/\*\/Dockerfile"/),
      expect.stringMatching(/bad\/Dockerfile:1: .*lowercase/i),
    ]);
    expect([...catalog.images.keys()]).toEqual(["docker.io/library/alpine:3.20"]);
  });

  it("under a platform filter, keeps the platforms each Dockerfile pulls for: its entry's and FROM --platform's", () => {
    const loaded = workspace({
      "arm/Dockerfile": "FROM alpine:3.20\n",
      "cross/Dockerfile": "FROM --platform=linux/s390x golang:1.22 AS build\nFROM busybox:1\n",
      "plain/Dockerfile": "FROM debian:12\n",
      "multi/Dockerfile": "FROM --platform=$TARGETPLATFORM node:20\nFROM --platform=linux python:3\n",
    }, [
      "target: { registry: 127.0.0.1:5000 }",
      "mirror: { platforms: [linux/amd64] }",
      "catalog:",
      "  - { dockerfile: arm/Dockerfile, platforms: [linux/arm64] }",
      "  - dockerfile: cross/Dockerfile",
      "  - dockerfile: plain/Dockerfile",
      "  - { dockerfile: multi/Dockerfile, platforms: [linux/amd64, linux/arm64] }",
      "images: ['busybox@sha256:" + "b".repeat(64) + "']",
    ].join("\n"));
    const catalog = catalogOf(loaded);
    expect(catalog.problems).toEqual([]);
    expect(Object.fromEntries([...catalog.images].map(([key, need]) => [key, need.platforms]))).toEqual({
      "docker.io/library/alpine:3.20": ["linux/amd64", "linux/arm64"],
      "docker.io/library/golang:1.22": ["linux/amd64", "linux/s390x"],
      "docker.io/library/busybox:1": ["linux/amd64"],
      "docker.io/library/debian:12": ["linux/amd64"],
      // Pulled for each of its entry's platforms; `linux` alone is BuildKit's linux/amd64.
      "docker.io/library/node:20": ["linux/amd64", "linux/arm64"],
      "docker.io/library/python:3": ["linux/amd64"],
      // A digest is mirrored whole whatever the filter.
      [`docker.io/library/busybox@sha256:${"b".repeat(64)}`]: [],
    });
  });

  it("extracts per platform, so platform-named stages resolve for each", () => {
    const loaded = workspace({
      "p/Dockerfile": "FROM busybox:amd AS base-amd64\nFROM busybox:arm AS base-arm64\nFROM base-$TARGETARCH\n",
    }, "target: { registry: 127.0.0.1:5000 }\ncatalog:\n  - dockerfile: p/Dockerfile\n    platforms: [linux/amd64, linux/arm64]\n");
    const catalog = catalogOf(loaded);
    expect(catalog.problems).toEqual([]);
    expect([...catalog.images.keys()].sort()).toEqual(["docker.io/library/busybox:amd", "docker.io/library/busybox:arm"]);
  });
});
