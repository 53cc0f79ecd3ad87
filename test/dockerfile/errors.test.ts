import { describe, expect, it } from "vitest";
import { BasewarmError, exitCodeFor, EXIT } from "../../src/errors.js";
import { DockerfileError, extractImages, processWord, rewriteDockerfile, ShellError, type DockerfileProblem } from "../../src/dockerfile/index.js";

function caught(run: () => unknown): DockerfileError {
  try {
    run();
  } catch (err) {
    if (err instanceof DockerfileError) return err;
    throw err;
  }
  throw new Error("no error");
}

// [Dockerfile, options, problem, line, value]: callers branch on these fields, never on the message.
const cases: [string, Parameters<typeof extractImages>[1], DockerfileProblem, number | undefined, string | undefined][] = [
  ["# escape=x\nFROM a\n", {}, "directive", 1, "x"],
  ["# escape=`\n# escape=`\nFROM a\n", {}, "directive", 2, undefined],
  ["FROM a\nRUN [1]\n", {}, "json-args", 2, undefined],
  ["FROM a\nRUN <<EOF\n", {}, "heredoc-unterminated", 2, "EOF"],
  ["FROM a\nRUNN x\n", {}, "unknown-instruction", 2, "runn"],
  ["RUN x\nFROM a\n", {}, "before-from", 1, "run"],
  ["ARG A=1\n", {}, "no-from", 1, undefined],
  ["FROM a b\n", {}, "arguments", 1, undefined],
  ["FROM a AS 1x\n", {}, "stage-name", 1, "1x"],
  ["FROM a AS x\nFROM b AS X\n", {}, "duplicate-stage", 2, "x"],
  ["FROM a AS x\n", { target: "y" }, "target-not-found", undefined, "y"],
  ["FROM --plat=x a\n", {}, "flag", 1, "plat"],
  ["FROM --platform=linux/x/y/z a\n", {}, "platform", 1, "linux/x/y/z"],
  ["FROM a\n", { platform: "nope" }, "platform", undefined, "nope"],
  ["FROM ${A:?needed}\n", {}, "expansion", 1, undefined],
  ["FROM ${NOPE}\n", {}, "empty-image", 1, "${NOPE}"],
  ["FROM Alpine:3\n", {}, "image-reference", 1, "Alpine:3"],
  ["FROM a\nCOPY --from=7 / /\n", {}, "stage-index", 2, "7"],
  ["FROM a AS x\nCOPY --from=y / /\nFROM b AS y\n", { target: "x" }, "stage-order", 2, "y"],
  ["FROM a\0", {}, "not-text", 1, undefined],
];

describe("DockerfileError", () => {
  it.each(cases)("%j is refused with structured fields", (text, options, problem, line, value) => {
    const err = caught(() => extractImages(text, { ...options, file: "app/Dockerfile" }));
    expect(err).toBeInstanceOf(BasewarmError);
    expect(err.code).toBe("DOCKERFILE_INVALID");
    expect(err.problem).toBe(problem);
    expect(err.file).toBe("app/Dockerfile");
    expect(err.line).toBe(line);
    expect(err.value).toBe(value);
    expect(err.message).toBe(`app/Dockerfile${line === undefined ? "" : `:${line}`}: ${err.what} (${err.todo})`);
    expect(err.message).not.toContain("\n");
    expect(exitCodeFor(err)).toBe(EXIT.usage);
  });

  it("an invalid image reference carries the reference parser's reason as a field", () => {
    const err = caught(() => extractImages("FROM alpine@sha256:12\n"));
    expect(err.referenceReason).toMatch(/^invalid sha256 digest/);
    expect(err.message).toContain(`is not a valid image reference: ${err.referenceReason}`);
  });

  it("a name that is only wrong in its case gets the stage-name hint, other bad names the general one", () => {
    expect(caught(() => extractImages("FROM a AS builder\nFROM Builder\n")).todo).toMatch(/exact lowercase name/);
    expect(caught(() => extractImages("FROM a//b\n")).todo).toMatch(/fix the image reference/);
  });

  it("rewriteDockerfile raises the same error", () => {
    const err = caught(() => rewriteDockerfile("FROM a\nRUNN x\n", () => undefined, { file: "x/Dockerfile" }));
    expect([err.problem, err.file, err.line]).toEqual(["unknown-instruction", "x/Dockerfile", 2]);
  });
});

describe("ShellError", () => {
  it.each([
    ["'open", "unterminated"],
    ["${A", "unsupported-modifier"],
    ["${}", "bad-substitution"],
    ["${UNSET:?}", "required-variable"],
    ["${A#\\x}", "invalid-pattern"],
  ])("%s is a BasewarmError with problem %s", (word, problem) => {
    let err: unknown;
    try {
      processWord(word, new Map([["A", "x"]]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ShellError);
    expect(err).toBeInstanceOf(BasewarmError);
    expect((err as ShellError).code).toBe("DOCKERFILE_INVALID");
    expect((err as ShellError).problem).toBe(problem);
  });
});
