import { describe, expect, it } from "vitest";
import { extractImages } from "../../src/dockerfile/index.js";
import { mirrorReference } from "../../src/naming/index.js";
import { parseReference } from "../../src/reference/index.js";
import { buildContextArgs, contextName, type HeldImage } from "../../src/redirect/index.js";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const target = { registry: "127.0.0.1:5000", prefix: "mirror" };

function held(source: string, digest: string): HeldImage {
  const ref = parseReference(source);
  return { source: ref, upstreamDigest: digest, mirror: mirrorReference(ref, target).withDigest(digest) };
}

describe("named build contexts", () => {
  it.each([
    ["alpine:3.20", "alpine:3.20"],
    ["docker.io/library/alpine:3.20", "alpine:3.20"],
    ["alpine", "alpine"],
    ["docker.io/library/alpine:latest", "alpine"],
    ["docker.io/user/app:1", "user/app:1"],
    ["127.0.0.1:5001/lib/base:2", "127.0.0.1:5001/lib/base:2"],
    [`ghcr.io/org/tool@${D("e")}`, `ghcr.io/org/tool@${D("e")}`],
  ])("%s is filed under BuildKit's familiar key %s", (written, key) => {
    expect(contextName(parseReference(written))).toBe(key);
  });

  it("gives one --build-context per external image, BUILDKIT_SYNTAX for the frontend, and nothing for stages or missing images", () => {
    const dockerfile = [
      "# syntax=docker/dockerfile:1.7",
      "ARG BASE=alpine:3.20",
      "FROM ${BASE} AS build",
      "COPY --from=127.0.0.1:5001/lib/tools:1 /bin/t /t",
      "RUN --mount=type=bind,from=docker.io/library/alpine:3.20,target=/a true",
      "FROM build",
      "COPY --from=ghcr.io/org/gone:1 /x /x",
      "FROM docker.io/library/busybox",
      "COPY --from=build /t /t",
    ].join("\n");
    const uses = extractImages(dockerfile, { file: "Dockerfile" });
    const args = buildContextArgs(uses, [
      held("docker/dockerfile:1.7", D("1")), held("alpine:3.20", D("2")), held("127.0.0.1:5001/lib/tools:1", D("3")), held("busybox", D("4")),
    ]);
    expect(args).toEqual([
      ["--build-arg", `BUILDKIT_SYNTAX=127.0.0.1:5000/mirror/docker.io/docker/dockerfile:1.7@${D("1")}`],
      ["--build-context", `alpine:3.20=docker-image://127.0.0.1:5000/mirror/docker.io/library/alpine:3.20@${D("2")}`],
      ["--build-context", `127.0.0.1:5001/lib/tools:1=docker-image://127.0.0.1:5000/mirror/127.0.0.1-5001/lib/tools:1@${D("3")}`],
      ["--build-context", `busybox=docker-image://127.0.0.1:5000/mirror/docker.io/library/busybox:latest@${D("4")}`],
    ]);
  });

  it("no held images: no arguments", () => {
    expect(buildContextArgs(extractImages("FROM alpine:3.20\n"), [])).toEqual([]);
  });
});
