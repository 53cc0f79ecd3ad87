import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BasewarmError } from "../../src/errors.js";
import { extractImages, rewriteDockerfile, type ImageUse } from "../../src/dockerfile/index.js";

const D = "sha256:" + "cd".repeat(32);
const toMirror = (use: ImageUse) => `127.0.0.1:5000/m/${use.reference.repository}@${D}`;

// Dockerfile-ish fragments, so random input reaches the interesting paths (directives, continuations,
// heredocs, flags, expansions) instead of failing on the first word.
const fragment = fc.constantFrom(
  "FROM ", "from ", "ARG ", "RUN ", "COPY ", "ONBUILD ", "AS ", "as ", " ", "  ", "\t", "\n", "\r\n", "\\\n", "`\n",
  "# escape=`\n", "# syntax=docker/dockerfile:1\n", "#", "alpine", "alpine:3.20", "busybox", "scratch", "build", "0", "1",
  "--platform=", "$BUILDPLATFORM", "--from=", "--mount=type=bind,from=", ",target=/x", "--link ", "--", "<<EOF", "<<-'EOT'",
  "EOF\n", "\tEOT\n", "${", "}", "$", "V", "=", ":-", ":+", "#", "##", "%", "/", "//", "?", "*", '"', "'", "\\", "@sha256:",
  "[\"a\"]", "\uFEFF", "é", "AS a\n", "FROM alpine AS a\n", "ARG V=alpine\n", "FROM ${V}\n", "FROM $V AS b\n",
);
const image = fc.oneof({ weight: 8, arbitrary: fc.constantFrom("alpine", "alpine:3.20", "ghcr.io/a/b:1", "busybox@" + D, "localhost:5000/x", "scratch") }, { weight: 1, arbitrary: fc.constantFrom("Bad", "a@sha256:1") });
const stageName = fc.constantFrom("st0", "st1", "St1", "a", "scratch");
// Mostly unique, valid names (placeholders numbered later), sometimes a duplicate or invalid one.
const asName = fc.oneof({ weight: 8, arbitrary: fc.constant("@UNIQUE@") }, { weight: 1, arbitrary: fc.constantFrom("a", "A", "1x", "st0") });
const fromArg = fc.oneof({ weight: 3, arbitrary: image }, { weight: 1, arbitrary: stageName }, { weight: 2, arbitrary: fc.constantFrom("${V}", "$V", "${V:-alpine}", "alpine:${T}", "${NOPE}", "base-$TARGETARCH", "\"alpine\"", "0") });
const fromLine = fc.tuple(fc.constantFrom("FROM", "from"), fc.option(fc.oneof({ weight: 6, arbitrary: fc.constantFrom("--platform=$BUILDPLATFORM", "--platform=linux/arm64", "--platform=") }, { weight: 1, arbitrary: fc.constant("--platform=bad/x/y/z") })), fromArg, fc.option(asName)).map(([kw, p, arg, name]) => `${kw} ${p ? p + " " : ""}${arg}${name ? " AS " + name : ""}`);
const argLine = fc.tuple(fc.constantFrom("V", "T", "X"), fc.option(fc.constantFrom("alpine", '"alpine:3.19"', "'busybox'", "${V}", "3.20", ""))).map(([k, v]) => `ARG ${k}${v === null ? "" : "=" + v}`);
const bodyLine = fc.oneof(
  { weight: 2, arbitrary: fc.tuple(fc.option(fc.constantFrom("--link", "--chown=0:0")), fc.oneof(image, stageName, fc.constantFrom("0", "1", "5", "${V}"))).map(([f, from]) => `COPY ${f ? f + " " : ""}--from=${from} /a /b`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom("bind", "cache", "tmpfs"), fc.oneof(image, stageName)).map(([t, from]) => `RUN --mount=type=${t},from=${from},target=/m true`) },
  { weight: 1, arbitrary: fc.constantFrom("RUN <<EOF\nFROM evil\nEOF", "RUN <<-EOT\n\tFROM evil\n\tEOT", "COPY <<A <<B /d/\nx\nA\ny\nB", "RUN [\"echo\"]", "# comment", "", "ONBUILD RUN x", "ENV A=b") },
);
const structured = fc
  .tuple(
    fc.constantFrom("", "# syntax=docker/dockerfile:1\n", "# escape=`\n", "\uFEFF", "\n# syntax=x\n"),
    fc.array(argLine, { maxLength: 2 }),
    fc.array(fc.tuple(fromLine, fc.array(fc.oneof(bodyLine, argLine), { maxLength: 3 })), { minLength: 1, maxLength: 3 }),
    fc.constantFrom("\n", "\r\n"),
    fc.oneof({ weight: 2, arbitrary: fc.constant<[number, string][]>([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.nat(), fragment), { maxLength: 2 }) }),
  )
  .map(([head, args, stages, eol, noise]) => {
    const lines = [...args, ...stages.flatMap(([from, body]) => [from, ...body])];
    let n = 0;
    let text = head + lines.map((l) => l.replace("@UNIQUE@", () => `st${n++}`)).join(eol).replace(/\n/g, eol) + eol;
    // A few random insertions (continuations, quotes, variables) to leave the happy path.
    for (const [at, piece] of noise) {
      const i = at % (text.length + 1);
      text = text.slice(0, i) + piece + text.slice(i);
    }
    return text;
  });
const dockerfileish = fc.oneof(
  { weight: 6, arbitrary: structured },
  { weight: 2, arbitrary: fc.array(fragment, { maxLength: 40 }).map((parts) => parts.join("")) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
);
const options = fc.record(
  {
    target: fc.constantFrom("st0", "st1", "St2", "nope"),
    platform: fc.constantFrom("linux/amd64", "linux/arm64", "linux/arm/v7", "windows/amd64"),
    buildArgs: fc.dictionary(fc.constantFrom("V", "TARGETARCH", "X"), fc.constantFrom("alpine", "", "${V}", "arm64")),
  },
  { requiredKeys: [] },
);

function expectOnlyBasewarmErrors(run: () => void): boolean {
  try {
    run();
    return true;
  } catch (err) {
    if (!(err instanceof BasewarmError)) throw err;
    expect(err.message).not.toContain("\n");
    return false;
  }
}

describe("fuzz", () => {
  it("extractImages and rewriteDockerfile never crash or hang on Dockerfile-ish input", () => {
    const started = Date.now();
    let withImages = 0;
    let rewrittenSome = 0;
    fc.assert(
      fc.property(dockerfileish, options, (content, opts) => {
        const t0 = Date.now();
        let uses: ImageUse[] = [];
        const ok = expectOnlyBasewarmErrors(() => {
          uses = extractImages(content, opts);
        });
        if (ok) {
          const result = rewriteDockerfile(content, toMirror, opts);
          if (uses.length > 0) withImages++;
          if (result.rewritten.length > 0) rewrittenSome++;
          expect(result.rewritten.length + result.unrewritten.length).toBe(uses.length);
          // The rewritten file parses again to the same uses, at the same lines, with the new references.
          const again = extractImages(result.text, opts);
          expect(again.map((u) => [u.kind, u.line, u.stage])).toEqual(uses.map((u) => [u.kind, u.line, u.stage]));
          const rewritten = new Set(result.rewritten);
          uses.forEach((u, i) => {
            if (rewritten.has(u)) expect(again[i]?.ref).toBe(toMirror(u));
          });
        } else {
          expectOnlyBasewarmErrors(() => rewriteDockerfile(content, toMirror, opts));
        }
        // Bounds that catch a hang or an exponential blow-up, loose enough for a GC pause on a busy CI machine.
        expect(Date.now() - t0).toBeLessThan(2_000);
      }),
      { numRuns: 2000, seed: 20240601 },
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    // The generator must reach the interesting paths, not only the error exits.
    expect(withImages).toBeGreaterThan(100);
    expect(rewrittenSome).toBeGreaterThan(80);
  });

  it("random seeds find no crash either (a few runs)", () => {
    fc.assert(
      fc.property(dockerfileish, (content) => {
        expectOnlyBasewarmErrors(() => extractImages(content));
      }),
      { numRuns: 500 },
    );
  });
});
