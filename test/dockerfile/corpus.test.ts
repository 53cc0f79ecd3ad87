import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isBasewarmError } from "../../src/errors.js";
import { extractImages, type ExtractOptions, type ImageUse } from "../../src/dockerfile/index.js";

/**
 * Each corpus/<name>.Dockerfile has a <name>.expected.json: a list of cases, each with optional
 * extract options and either the exact image uses (in order) or a substring of the one-line error.
 */
interface ExpectedUse {
  kind: string;
  ref: string;
  line: number;
  stage?: string;
  platform?: string;
  normalized?: string;
}
interface Case {
  options?: ExtractOptions;
  uses?: ExpectedUse[];
  error?: string;
}

const dir = join(import.meta.dirname, "corpus");
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".Dockerfile"))
  .map((f) => f.slice(0, -".Dockerfile".length))
  .sort();

function shape(use: ImageUse, withNormalized: boolean): ExpectedUse {
  return {
    kind: use.kind,
    ref: use.ref,
    line: use.line,
    ...(use.stage === undefined ? {} : { stage: use.stage }),
    ...(use.platform === undefined ? {} : { platform: use.platform }),
    ...(withNormalized ? { normalized: use.normalized } : {}),
  };
}

describe("Dockerfile corpus", () => {
  it("covers enough cases, good and bad", () => {
    expect(names.length).toBeGreaterThanOrEqual(25);
    const cases = names.flatMap((n) => JSON.parse(readFileSync(join(dir, `${n}.expected.json`), "utf8")) as Case[]);
    expect(cases.filter((c) => c.error).length).toBeGreaterThanOrEqual(10);
    expect(cases.filter((c) => c.uses).length).toBeGreaterThanOrEqual(15);
  });

  for (const name of names) {
    const content = new Uint8Array(readFileSync(join(dir, `${name}.Dockerfile`)));
    const cases = JSON.parse(readFileSync(join(dir, `${name}.expected.json`), "utf8")) as Case[];
    cases.forEach((c, i) => {
      const label = `${name}${cases.length > 1 ? ` #${i + 1}` : ""}${c.options ? ` ${JSON.stringify(c.options)}` : ""}`;
      const file = `corpus/${name}.Dockerfile`;
      if (c.error !== undefined) {
        it(`${label} is rejected: ${c.error}`, () => {
          let caught: unknown;
          try {
            extractImages(content, { ...c.options, file });
          } catch (err) {
            caught = err;
          }
          expect(isBasewarmError(caught, "DOCKERFILE_INVALID"), String(caught)).toBe(true);
          const message = (caught as Error).message;
          expect(message).toContain(c.error);
          expect(message.startsWith(`${file}:`)).toBe(true);
          expect(message).not.toContain("\n");
        });
      } else {
        it(`${label} yields the expected images`, () => {
          const uses = extractImages(content, { ...c.options, file });
          const expected = c.uses ?? [];
          expect(uses.map((u, j) => shape(u, expected[j]?.normalized !== undefined))).toEqual(expected);
          for (const use of uses) expect(use.reference.toString()).toBe(use.normalized);
        });
      }
    });
  }
});
