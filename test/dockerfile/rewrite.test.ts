import { describe, expect, it } from "vitest";
import { isBasewarmError } from "../../src/errors.js";
import { extractImages, rewriteDockerfile, type ImageUse } from "../../src/dockerfile/index.js";

const D = "sha256:" + "ab".repeat(32);
const MIRROR = "127.0.0.1:5000/mirror";
/** The mapping a warm run uses: mirror path of the normalized name, pinned by digest. */
const toMirror = (use: ImageUse) => `${MIRROR}/${use.reference.registry}/${use.reference.repository}@${D}`;
const mirrored = (normalizedName: string) => `${MIRROR}/${normalizedName}@${D}`;

function stagesOf(text: string) {
  return extractImages(text).map((u) => ({ kind: u.kind, line: u.line, stage: u.stage, platform: u.platform }));
}

describe("rewriteDockerfile", () => {
  it("replaces only the references and keeps every other byte (comments, CRLF, heredocs, flags, AS)", () => {
    const input = [
      "# syntax=docker/dockerfile:1.7",
      "# build stage",
      "FROM  --platform=$BUILDPLATFORM\tgolang:1.22-alpine   AS Build   # trailing text",
    ].join("\r\n");
    // BuildKit has no trailing comments: "# trailing text" is more FROM arguments, so this is an error.
    expect(() => rewriteDockerfile(input, toMirror)).toThrow(/one or three arguments/);

    const original =
      "# syntax=docker/dockerfile:1.7\r\n" +
      "# build stage\r\n" +
      "FROM  --platform=$BUILDPLATFORM\tgolang:1.22-alpine   AS Build\r\n" +
      "RUN --mount=type=cache,target=/root/.cache \\\r\n" +
      "    # comment inside a continuation\r\n" +
      "    --mount=type=bind,from=busybox:1.36,target=/bb go build <<EOF\r\n" +
      "FROM should/not:change\r\n" +
      "EOF\r\n" +
      "\r\n" +
      "from scratch AS out\r\n" +
      "COPY --link --from=build /out /out\r\n" +
      "COPY --chown=0:0 --from=nginx:1.27 /etc/nginx /etc/nginx\r\n" +
      "FROM ghcr.io/acme/base@sha256:" + "0".repeat(64) + "\r\n";
    const result = rewriteDockerfile(original, toMirror);
    const expected =
      `# syntax=${mirrored("docker.io/docker/dockerfile")}\r\n` +
      "# build stage\r\n" +
      `FROM  --platform=$BUILDPLATFORM\t${mirrored("docker.io/library/golang")}   AS Build\r\n` +
      "RUN --mount=type=cache,target=/root/.cache \\\r\n" +
      "    # comment inside a continuation\r\n" +
      `    --mount=type=bind,from=${mirrored("docker.io/library/busybox")},target=/bb go build <<EOF\r\n` +
      "FROM should/not:change\r\n" +
      "EOF\r\n" +
      "\r\n" +
      "from scratch AS out\r\n" +
      "COPY --link --from=build /out /out\r\n" +
      `COPY --chown=0:0 --from=${mirrored("docker.io/library/nginx")} /etc/nginx /etc/nginx\r\n` +
      `FROM ${mirrored("ghcr.io/acme/base")}\r\n`;
    expect(result.text).toBe(expected);
    expect(result.rewritten.map((u) => u.ref)).toEqual([
      "docker/dockerfile:1.7",
      "golang:1.22-alpine",
      "busybox:1.36",
      "nginx:1.27",
      "ghcr.io/acme/base@sha256:" + "0".repeat(64),
    ]);
    expect(result.unrewritten).toEqual([]);

    // Parsing the result again gives the same stages, now pointing at the mirror.
    expect(stagesOf(result.text)).toEqual(stagesOf(original));
    expect(extractImages(result.text).map((u) => u.ref)).toEqual(result.rewritten.map((u) => toMirror(u)));
  });

  it("is the identity when map maps nothing, and lists every use as unrewritten", () => {
    const original = "FROM alpine:3.20 AS a\nCOPY --from=nginx /x /x\n";
    const result = rewriteDockerfile(original, () => undefined);
    expect(result.text).toBe(original);
    expect(result.rewritten).toEqual([]);
    expect(result.unrewritten.map((u) => u.ref)).toEqual(["alpine:3.20", "nginx"]);
  });

  it("rewrites only what map maps (the syntax image stays when unmapped)", () => {
    const original = "# syntax=docker/dockerfile:1\nFROM alpine:3.20\n";
    const result = rewriteDockerfile(original, (u) => (u.kind === "syntax" ? undefined : toMirror(u)));
    expect(result.text).toBe(`# syntax=docker/dockerfile:1\nFROM ${mirrored("docker.io/library/alpine")}\n`);
    expect(result.unrewritten.map((u) => u.kind)).toEqual(["syntax"]);
  });

  it("keeps a UTF-8 BOM and the bytes around it", () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("FROM alpine\n")]);
    const result = rewriteDockerfile(bytes, toMirror);
    expect(result.text).toBe(`\uFEFFFROM ${mirrored("docker.io/library/alpine")}\n`);
  });

  it("leaves references with variables alone and lists them", () => {
    const original = "ARG TAG=3.20\nFROM alpine:${TAG}\nFROM $UNKNOWN_BUT_DEFAULTED\n".replace("$UNKNOWN_BUT_DEFAULTED", "${REG:-docker.io}/library/busybox");
    const result = rewriteDockerfile(original, toMirror);
    expect(result.text).toBe(original);
    expect(result.unrewritten.map((u) => u.ref)).toEqual(["alpine:3.20", "docker.io/library/busybox"]);
  });

  it("leaves a reference split by a line continuation alone", () => {
    const original = "FROM alpi\\\nne:3.20 AS a\nFROM busybox\n";
    const result = rewriteDockerfile(original, toMirror);
    expect(result.text).toBe(`FROM alpi\\\nne:3.20 AS a\nFROM ${mirrored("docker.io/library/busybox")}\n`);
    expect(result.unrewritten.map((u) => u.ref)).toEqual(["alpine:3.20"]);
  });

  describe("FROM ${VAR} with a global ARG default", () => {
    it.each([
      ['ARG BASE="alpine:3.20"', `ARG BASE="${mirrored("docker.io/library/alpine")}"`],
      ["ARG BASE='alpine:3.20'", `ARG BASE='${mirrored("docker.io/library/alpine")}'`],
      ["ARG OTHER=1 BASE=alpine:3.20", `ARG OTHER=1 BASE=${mirrored("docker.io/library/alpine")}`],
    ])("rewrites the default in place: %s", (argLine, rewrittenArg) => {
      const original = `${argLine}\nFROM \${BASE} AS app\nRUN echo hi\nFROM $BASE\n`;
      const result = rewriteDockerfile(original, toMirror);
      expect(result.text).toBe(`${rewrittenArg}\nFROM \${BASE} AS app\nRUN echo hi\nFROM $BASE\n`);
      expect(result.rewritten.map((u) => [u.ref, u.line])).toEqual([["alpine:3.20", 2], ["alpine:3.20", 4]]);
      expect(extractImages(result.text).map((u) => u.ref)).toEqual([mirrored("docker.io/library/alpine"), mirrored("docker.io/library/alpine")]);
      // A build arg still overrides the rewritten default.
      expect(extractImages(result.text, { buildArgs: { BASE: "debian:12" } }).map((u) => u.ref)).toEqual(["debian:12", "debian:12"]);
    });

    it.each([
      ["the ARG is re-declared in a stage", 'ARG BASE=alpine:3.20\nFROM ${BASE}\nARG BASE\nRUN echo "$BASE"\n', {}],
      ["the ARG feeds another reference", "ARG BASE=alpine:3.20\nFROM ${BASE}\nFROM ${BASE}-slim\n", {}],
      ["a build arg overrides it", "ARG BASE=alpine:3.20\nFROM ${BASE}\n", { buildArgs: { BASE: "alpine:3.19" } }],
      ["the default is not a literal", "ARG REG=docker.io\nARG BASE=${REG}/alpine\nFROM ${BASE}\n", {}],
      ["the default is only a part of the argument", "ARG BASE=alpine\nFROM ${BASE}:3.20\n", {}],
    ])("leaves it alone when %s", (_why, original, options) => {
      const result = rewriteDockerfile(original, toMirror, options);
      expect(result.text).toBe(original.replace(/FROM \$\{BASE\}-slim/, "FROM ${BASE}-slim"));
      expect(result.rewritten.filter((u) => u.kind === "from")).toEqual([]);
      expect(result.unrewritten.length).toBeGreaterThan(0);
    });

    it("leaves it alone when uses map to different replacements", () => {
      const original = "ARG BASE=alpine:3.20\nFROM --platform=linux/amd64 ${BASE}\nFROM --platform=linux/arm64 ${BASE}\n";
      const result = rewriteDockerfile(original, (u) => `${MIRROR}/${u.platform?.replace("/", "-")}@${D}`);
      expect(result.text).toBe(original);
      expect(result.unrewritten).toHaveLength(2);
    });

    it("leaves it alone when a target leaves out another FROM that uses the ARG", () => {
      const original = "ARG BASE=alpine:3.20\nFROM ${BASE} AS a\nFROM ${BASE} AS b\n";
      const result = rewriteDockerfile(original, toMirror, { target: "a" });
      expect(result.text).toBe(original);
      expect(result.unrewritten.map((u) => u.stage)).toEqual(["a"]);
    });
  });

  it("rewrites mounts field by field and leaves quoted mount values alone", () => {
    const original = 'FROM debian:12\nRUN --mount=type=bind,FROM=redis:7,target=/r --mount="from=busybox,target=/b" true\n';
    const result = rewriteDockerfile(original, toMirror);
    expect(result.text).toBe(
      `FROM ${mirrored("docker.io/library/debian")}\nRUN --mount=type=bind,FROM=${mirrored("docker.io/library/redis")},target=/r --mount="from=busybox,target=/b" true\n`,
    );
    expect(result.unrewritten.map((u) => u.ref)).toEqual(["busybox"]);
  });

  it("maps only what the target builds", () => {
    const original = "FROM golang:1.22 AS build\nFROM nginx:1.27 AS other\nFROM alpine:3.20 AS app\nCOPY --from=build /o /o\n";
    const seen: string[] = [];
    const result = rewriteDockerfile(original, (u) => (seen.push(u.ref), toMirror(u)), { target: "app" });
    expect(seen).toEqual(["golang:1.22", "alpine:3.20"]);
    expect(result.text).toContain("FROM nginx:1.27 AS other");
  });

  it("refuses a replacement that is not a plain image reference", () => {
    for (const bad of ["", "has space/x", "upper/CASE", "x@sha256:short", "$VAR/x"]) {
      let caught: unknown;
      try {
        rewriteDockerfile("FROM alpine\n", () => bad, { file: "svc/Dockerfile" });
      } catch (err) {
        caught = err;
      }
      expect(isBasewarmError(caught, "REF_INVALID"), bad).toBe(true);
      expect((caught as Error).message).toContain("svc/Dockerfile:1:");
    }
  });

  it("reports Dockerfile errors like extractImages", () => {
    expect(() => rewriteDockerfile("FROM ${NOPE}\n", toMirror, { file: "x/Dockerfile" })).toThrow(/^x\/Dockerfile:1: FROM \$\{NOPE\} expands to an empty image name/);
  });

  describe("with fixed args (the admin build)", () => {
    it("pins a FROM built from variables to what it expands to, keeping the ARG and everything else", () => {
      const text = "ARG V=18\nARG FLAVOUR\nFROM node:${V}-${FLAVOUR:-slim} AS build\nRUN echo $V\nFROM $V AS second\n";
      const options = { buildArgs: { V: "20" }, target: "build" };
      const result = rewriteDockerfile(text, toMirror, options, { fixedArgs: true });
      expect(result.text).toBe(`ARG V=18\nARG FLAVOUR\nFROM ${mirrored("docker.io/library/node")} AS build\nRUN echo $V\nFROM $V AS second\n`);
      expect(result.unrewritten).toEqual([]);
      // The rewritten file pulls the same image, now from the mirror.
      expect(extractImages(result.text, options).map((u) => u.ref)).toEqual([mirrored("docker.io/library/node")]);
      // Without fixed args (a file handed to tenants who pass their own args), it stays as written.
      expect(rewriteDockerfile(text, toMirror, options).text).toBe(text);
    });

    it("leaves a FROM whose reference depends on the platform, directly or through another ARG", () => {
      const dependent = ["FROM base-${TARGETARCH}:1\n", "ARG IMG=base-${TARGETARCH}:1\nFROM ${IMG}\n", "FROM --platform=$BUILDPLATFORM img:${BUILDOS}\n", "FROM img:1${TARGETVARIANT}\n", "FROM img:${TARGETOS}\n"];
      for (const platform of [undefined, "linux/arm64", "linux/arm/v6", "windows/s390x", "freebsd/riscv64"]) {
        for (const text of dependent) {
          const result = rewriteDockerfile(text, toMirror, platform === undefined ? {} : { platform }, { fixedArgs: true });
          expect([platform, result.text, result.unrewritten.length]).toEqual([platform, text, 1]);
        }
      }
      // The build's own platforms count too: one that reads differently keeps the variable.
      const perVariant = "ARG V=1\nFROM img:${V}\n";
      expect(rewriteDockerfile(perVariant, toMirror, { platform: "linux/amd64" }, { fixedArgs: true, platforms: ["linux/amd64", "linux/arm/v7"] }).text).toBe(`ARG V=1\nFROM ${mirrored("docker.io/library/img")}\n`);
    });
  });
});
