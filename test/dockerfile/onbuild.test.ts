import { describe, expect, it } from "vitest";
import { DockerfileError, onbuildImages, type DockerfileProblem } from "../../src/dockerfile/index.js";

const IMAGE = "ghcr.io/acme/base:1";
const D = "sha256:" + "ab".repeat(32);

// [what, trigger, images pulled as [kind, ref, normalized]]
const pulls: [string, string, [string, string, string][]][] = [
  ["COPY --from an image", "COPY --from=golang:1.22 /usr/local/go /go", [["copy-from", "golang:1.22", "docker.io/library/golang:1.22"]]],
  ["COPY --from with other flags first", "COPY --chown=0:0 --link --from=ghcr.io/x/y@" + D + " /a /b", [["copy-from", "ghcr.io/x/y@" + D, "ghcr.io/x/y@" + D]]],
  ["RUN --mount from an image", "RUN --mount=type=bind,from=busybox:1.36,target=/t true", [["mount-from", "busybox:1.36", "docker.io/library/busybox:1.36"]]],
  ["several mounts", "RUN --mount=type=cache,target=/c --mount=from=redis:7,target=/r --mount=type=bind,from=localhost:5000/x,target=/x true", [
    ["mount-from", "redis:7", "docker.io/library/redis:7"],
    ["mount-from", "localhost:5000/x", "localhost:5000/x:latest"],
  ]],
  ["a lowercase name is read as an image (the tenant's stage names are unknown)", "COPY --from=builder /a /b", [["copy-from", "builder", "docker.io/library/builder:latest"]]],
  ["a COPY stage index is the tenant's stage, skipped", "COPY --from=0 /a /b", []],
  ["scratch pulls nothing", "COPY --from=scratch /a /b", []],
  ["a tmpfs mount reads nothing", "RUN --mount=type=tmpfs,from=alpine,target=/t true", []],
  ["COPY without --from", "COPY . /src", []],
  ["instructions that pull nothing", "RUN make install", []],
  ["lowercase keyword and a continuation", "copy \\\n  --from=nginx:1.27 /etc/nginx /etc/nginx", [["copy-from", "nginx:1.27", "docker.io/library/nginx:1.27"]]],
  ["a heredoc trigger", "RUN --mount=from=alpine:3.20,target=/a <<EOF\nFROM evil\nEOF", [["mount-from", "alpine:3.20", "docker.io/library/alpine:3.20"]]],
];

// [what, trigger, problem, substring of the one-line message]
const problems: [string, string, DockerfileProblem, string][] = [
  ["an uppercase image", "COPY --from=Builder /a /b", "image-reference", 'COPY --from="Builder" is not a valid image reference: repository name must be lowercase'],
  ["a bad digest", "RUN --mount=from=alpine@sha256:12,target=/t true", "image-reference", "invalid sha256 digest"],
  ["a variable in --from", "COPY --from=${IMG} /a /b", "expansion", "variable expansion is not supported for --from=${IMG}"],
  ["a variable in a mount", "RUN --mount=from=$IMG,target=/t true", "expansion", "'from' doesn't support variable expansion"],
  ["a broken mount", 'RUN --mount=from=a\\"b,target=/t true', "flag", "failed to parse --mount"],
  ["--from twice", "COPY --from=a --from=b /a /b", "flag", "duplicate flag --from"],
  ["an empty trigger", "", "onbuild-trigger", "empty trigger"],
  ["a comment only", "# just a comment", "onbuild-trigger", "empty trigger"],
  ["two instructions", "RUN a\nRUN b", "onbuild-trigger", "trigger holds 2 instructions"],
  ["FROM", "FROM alpine", "onbuild-trigger", "FROM isn't allowed as an ONBUILD trigger"],
  ["ONBUILD ONBUILD", "ONBUILD RUN x", "onbuild-trigger", "ONBUILD isn't allowed as an ONBUILD trigger"],
  ["MAINTAINER", "MAINTAINER me", "onbuild-trigger", "MAINTAINER isn't allowed"],
  ["an unknown instruction", "RUNN x", "unknown-instruction", 'unknown instruction "RUNN"'],
  ["an unterminated heredoc", "RUN <<EOF\necho", "heredoc-unterminated", "unterminated heredoc <<EOF"],
  ["exec form with a number", "RUN [1]", "json-args", "arrays must be comprised of strings only"],
];

describe("onbuildImages", () => {
  it.each(pulls)("%s", (_what, trigger, expected) => {
    const result = onbuildImages([trigger], IMAGE);
    expect(result.problems).toEqual([]);
    expect(result.images.map((i) => [i.use.kind, i.use.ref, i.use.normalized])).toEqual(expected);
    for (const image of result.images) {
      expect(image.provenance).toBe(`ONBUILD of ${IMAGE}`);
      expect(image.trigger).toBe(0);
      expect(image.use.reference.toString()).toBe(image.use.normalized);
    }
  });

  it.each(problems)("reports %s as that trigger's problem", (_what, trigger, problem, message) => {
    const result = onbuildImages([trigger], IMAGE);
    expect(result.images).toEqual([]);
    expect(result.problems).toHaveLength(1);
    const p = result.problems[0]!;
    expect(p.trigger).toBe(0);
    expect(p.text).toBe(trigger);
    expect(p.error).toBeInstanceOf(DockerfileError);
    expect(p.error.code).toBe("DOCKERFILE_INVALID");
    expect(p.error.problem).toBe(problem);
    expect(p.error.file).toBe(`ONBUILD of ${IMAGE} [trigger 0]`);
    expect(p.error.line).toBeUndefined();
    expect(p.error.message.startsWith(`ONBUILD of ${IMAGE} [trigger 0]: `)).toBe(true);
    expect(p.error.message).toContain(message);
    expect(p.error.message).not.toContain("\n");
  });

  it("keeps going after a bad trigger and numbers every result by its trigger", () => {
    const result = onbuildImages(["COPY --from=Bad /a /b", "COPY --from=alpine:3.20 /a /b", "FROM x", "RUN --mount=from=redis,target=/r true"], IMAGE, {
      platform: "linux/arm64",
      buildArgs: { IMG: "ignored" },
    });
    expect(result.images.map((i) => [i.trigger, i.use.ref])).toEqual([[1, "alpine:3.20"], [3, "redis"]]);
    expect(result.problems.map((p) => [p.trigger, p.error.problem])).toEqual([[0, "image-reference"], [2, "onbuild-trigger"]]);
    expect(result.problems[0]?.error.referenceReason).toBe("repository name must be lowercase");
    expect(result.problems[0]?.error.value).toBe("Bad");
  });

  it("no triggers, no images", () => {
    expect(onbuildImages([], IMAGE)).toEqual({ images: [], problems: [] });
  });

  it("an invalid platform option is the caller's error, as in extraction", () => {
    expect(() => onbuildImages(["COPY --from=a /a /b"], IMAGE, { platform: "linux" })).toThrow(DockerfileError);
  });
});
