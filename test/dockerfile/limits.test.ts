import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { isBasewarmError } from "../../src/errors.js";
import { DockerfileError, extractImages, MAX_SHELL_NESTING, processWord, rewriteDockerfile, ShellError } from "../../src/dockerfile/index.js";

const D = "sha256:" + "ab".repeat(32);

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("deep nesting and long chains", () => {
  it.each([
    ["${a:-...} nested 10,000 deep in FROM", "ARG a=x\nFROM " + "${a:-".repeat(10_000) + "alpine" + "}".repeat(10_000) + "\n", 2],
    ["${a:-\"...\"} with quotes nested 10,000 deep", "FROM alpine\nFROM " + '${a:-"'.repeat(10_000) + "alpine" + '"}'.repeat(10_000) + "\n", 2],
    ["a global ARG default nested 10,000 deep", "ARG B=" + "${a:+".repeat(10_000) + "x" + "}".repeat(10_000) + "\nFROM $B\n", 1],
    ["${a/x/...} patterns nested 10,000 deep", "FROM " + "${a/x/".repeat(10_000) + "}".repeat(10_000) + "\n", 1],
  ])("%s is refused with file, line and a short message, not a stack overflow", (_what, text, line) => {
    const err = caught(() => extractImages(text, { file: "deep/Dockerfile" }));
    expect(err).toBeInstanceOf(DockerfileError);
    const e = err as DockerfileError;
    expect(e.code).toBe("DOCKERFILE_INVALID");
    expect(e.problem).toBe("too-deep");
    expect(e.file).toBe("deep/Dockerfile");
    expect(e.line).toBe(line);
    expect(e.message.startsWith(`deep/Dockerfile:${line}: cannot expand `)).toBe(true);
    expect(e.message).toContain(`nested more than ${MAX_SHELL_NESTING} deep`);
    expect(e.message.length).toBeLessThan(1000);
    expect(e.cause).toBeInstanceOf(ShellError);
  });

  it("nesting up to the limit still expands", () => {
    const depth = MAX_SHELL_NESTING;
    const word = "${a:-".repeat(depth) + "alpine" + "}".repeat(depth);
    expect(processWord(word, new Map()).result).toBe("alpine");
    const err = caught(() => processWord("${a:-" + word + "}", new Map()));
    expect(err).toBeInstanceOf(ShellError);
    expect((err as ShellError).problem).toBe("too-deep");
  });

  it("a chain of 20,000 stages (FROM s1 AS s2, ...) resolves, also for the last stage as target", () => {
    const n = 20_000;
    let text = "FROM alpine:3.20 AS s0\n";
    for (let i = 1; i < n; i++) text += `FROM s${i - 1} AS s${i}\n`;
    for (const options of [{}, { target: `s${n - 1}` }, { target: "s5" }]) {
      expect(extractImages(text, options).map((u) => [u.ref, u.stage])).toEqual([["alpine:3.20", "s0"]]);
    }
    const rewritten = rewriteDockerfile(text, () => `127.0.0.1:5000/m/alpine@${D}`, { target: `s${n - 1}` });
    expect(rewritten.text.startsWith(`FROM 127.0.0.1:5000/m/alpine@${D} AS s0\nFROM s0 AS s1\n`)).toBe(true);
  });

  it("a chain of 20,000 COPY --from dependencies is walked without recursion, and a forward one still fails", () => {
    const n = 20_000;
    let text = "FROM busybox AS s0\n";
    for (let i = 1; i < n; i++) text += `FROM alpine AS s${i}\nCOPY --from=s${i - 1} /a /b\n`;
    expect(extractImages(text, { target: `s${n - 1}` })).toHaveLength(n);
    const forward = caught(() => extractImages(text + `FROM alpine AS last\nCOPY --from=later /a /b\nFROM alpine AS later\n`, { target: "last" }));
    expect((forward as DockerfileError).problem).toBe("stage-order");
    expect((forward as DockerfileError).line).toBe(2 * n + 1);
  });

  it("ONBUILD repeated 100,000 times on one line, 20,000 heredocs and a million-line heredoc body parse", () => {
    expect(extractImages("FROM alpine\n" + "ONBUILD ".repeat(100_000) + "RUN x\n").map((u) => u.ref)).toEqual(["alpine"]);
    expect(extractImages("FROM alpine\nRUN " + "<<E ".repeat(20_000) + "\n" + "E\n".repeat(20_000) + "FROM busybox\n").map((u) => u.ref)).toEqual(["alpine", "busybox"]);
    const missingOne = "FROM alpine\nRUN " + "<<E ".repeat(20_000) + "\n" + "E\n".repeat(19_999);
    expect((caught(() => extractImages(missingOne)) as DockerfileError).problem).toBe("heredoc-unterminated");
    expect(extractImages("FROM alpine\nRUN <<E\n" + "FROM evil\n".repeat(1_000_000) + "E\n").map((u) => u.ref)).toEqual(["alpine"]);
  });

  it("shell patterns that make a backtracking regexp explode are matched quickly", () => {
    const started = performance.now();
    const env = new Map([["V", "a".repeat(5_000)]]);
    expect(processWord("${V#" + "*a".repeat(30) + "c}", env).result).toBe(env.get("V"));
    expect(processWord("${V%%" + "a*".repeat(30) + "c}", env).result).toBe(env.get("V"));
    expect(processWord("${V//" + "*a".repeat(30) + "c/x}", new Map([["V", "a".repeat(300)]])).result).toBe("a".repeat(300));
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it("an error quoting a huge value stays short", () => {
    const err = caught(() => extractImages("FROM " + "A".repeat(5_000_000) + "\n"));
    expect(isBasewarmError(err, "DOCKERFILE_INVALID")).toBe(true);
    expect((err as Error).message.length).toBeLessThan(1000);
    expect((err as DockerfileError).value).toHaveLength(5_000_000);
  });
});

/**
 * Timing ratios, not absolute times (the machine is shared): with linear work, 10× the input takes
 * about 10× the time, with quadratic work 100×. The bound sits between the two (30×), because GC under
 * the capped heap and a noisy CI machine pushed a linear run to 16× once; it still fails a quadratic one. Run in a child with a capped old space, so memory that grows with a large
 * multiple of the input (the old lexer needed ~80 bytes per input byte) fails the test.
 */
describe("large input", () => {
  it("a 20 MB continued instruction and a 20 MB file of many lines take time proportional to size, in bounded memory", () => {
    const entry = resolve("dist/src/dockerfile/index.js");
    const script = `
      const { extractImages } = await import(${JSON.stringify(entry)});
      const make = (kind, bytes) => Buffer.from(kind === "continuation"
        ? "FROM alpine\\nRUN echo " + "a \\\\\\n".repeat(bytes / 4) + "done\\n"
        : "FROM alpine\\n" + "RUN echo hi\\n".repeat(bytes / 12)).toString();
      const time = (text) => { const t0 = performance.now(); const uses = extractImages(text); if (uses.length !== 1) throw new Error("wrong result"); return performance.now() - t0; };
      const out = {};
      for (const kind of ["continuation", "lines"]) {
        const small = make(kind, 2 * 1024 * 1024);
        time(small);
        const tSmall = Math.min(time(small), time(small), time(small));
        const large = make(kind, 20 * 1024 * 1024);
        const tLarge = Math.min(time(large), time(large), time(large));
        out[kind] = { small: tSmall, large: tLarge, ratio: tLarge / tSmall };
      }
      console.log(JSON.stringify(out));`;
    const stdout = execFileSync(process.execPath, ["--max-old-space-size=192", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 300_000 });
    const result = JSON.parse(stdout) as Record<string, { small: number; large: number; ratio: number }>;
    console.log("large input timings (ms):", result);
    for (const kind of ["continuation", "lines"]) {
      expect(result[kind]?.ratio, kind).toBeLessThan(30);
    }
  }, 600_000);
});
