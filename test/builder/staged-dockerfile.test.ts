import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { stageDockerfile } from "../../src/builder/index.js";

describe("the Dockerfile a build is given", () => {
  it("takes its <Dockerfile>.dockerignore along, under the staged file's name, and is removed whole", () => {
    const dir = mkdtempSync(join(tmpdir(), "basewarm-stage-"));
    writeFileSync(join(dir, "api.Dockerfile"), "FROM alpine\n");
    writeFileSync(join(dir, "api.Dockerfile.dockerignore"), "secrets/\n*.log\n");
    writeFileSync(join(dir, ".dockerignore"), "other.txt\n");
    const staged = stageDockerfile("FROM mirror/alpine@sha256:x\n", join(dir, "api.Dockerfile"));
    expect(readFileSync(staged.dockerfile, "utf8")).toBe("FROM mirror/alpine@sha256:x\n");
    // BuildKit reads <file>.dockerignore beside the file it is handed, before the context's own.
    expect(readFileSync(`${staged.dockerfile}.dockerignore`, "utf8")).toBe("secrets/\n*.log\n");
    staged.remove();
    expect(existsSync(dirname(staged.dockerfile))).toBe(false);
    staged.remove();
  });

  it("without one, stages the Dockerfile alone, so the context's .dockerignore applies as for tenants", () => {
    const dir = mkdtempSync(join(tmpdir(), "basewarm-stage-"));
    writeFileSync(join(dir, "Dockerfile"), "FROM alpine\n");
    const staged = stageDockerfile("FROM x\n", join(dir, "Dockerfile"));
    expect(existsSync(`${staged.dockerfile}.dockerignore`)).toBe(false);
    staged.remove();
  });
});
