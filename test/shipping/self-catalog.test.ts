import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { catalogOf } from "../../src/run/catalog.js";
import { loadConfig } from "../../src/config/index.js";
import { rewriteDockerfile } from "../../src/dockerfile/index.js";
import { mirrorReference } from "../../src/naming/index.js";

describe("basewarm's own service image", () => {
  it("is in basewarm's own catalog, and every base image of its Dockerfile is rewritten to the mirror", () => {
    const loaded = loadConfig("config/basewarm-self.yaml");
    const catalog = catalogOf(loaded);
    expect(catalog.problems).toEqual([]);
    expect([...catalog.images.keys()].sort()).toEqual([
      "docker.io/docker/dockerfile:1",
      "docker.io/library/node:24-bookworm",
      "docker.io/library/node:24-bookworm-slim",
    ]);
    const text = readFileSync("Dockerfile", "utf8");
    const result = rewriteDockerfile(text, (use) => mirrorReference(use.reference, loaded.config.target).pinned(`sha256:${"d".repeat(64)}`).toString(), { file: "Dockerfile" });
    expect(result.unrewritten).toEqual([]);
    expect(result.text).toContain(`ARG NODE_IMAGE=mirror.internal.example:5000/mirror/docker.io/library/node@sha256:${"d".repeat(64)}`);
    expect(result.text).not.toMatch(/^FROM node:/m);
  });

  it("the example configs are valid", () => {
    for (const path of ["config/basewarm.example.yaml", "config/basewarm-self.yaml"]) {
      expect(() => loadConfig(path, { env: { DOCKERHUB_TOKEN: "x" } })).not.toThrow();
    }
  });
});
