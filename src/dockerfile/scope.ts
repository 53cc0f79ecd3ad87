/**
 * Step 2: the global ARG scope FROM lines are expanded in. The automatic platform ARGs come first (a
 * build arg of the same name overrides them), then the ARGs before the first FROM in order; a build
 * arg only replaces an ARG that is declared.
 */
import { preview } from "./errors.js";
import { invalid, type Span } from "./model.js";
import { originalSpan, parseWords, type Instruction } from "./parser.js";
import { formatPlatform, type Platform } from "./platform.js";
import { processWord, ShellError } from "./shell.js";

export interface ArgSource {
  kind: "auto" | "build-arg" | "default";
  /** For literal defaults: where the literal is. */
  literal?: Span;
}

export interface GlobalScope {
  env: Map<string, string>;
  sources: Map<string, ArgSource>;
}

/** Where a default's literal text sits, when it holds no quotes, escapes or variables to process. */
function literalDefault(rawValue: string, valueStart: number, esc: string): Span | null {
  const bad = (s: string, extra: string) => s.includes("$") || s.includes(esc) || [...extra].some((c) => s.includes(c));
  if (rawValue.length >= 2 && rawValue.startsWith('"') && rawValue.endsWith('"')) {
    const inner = rawValue.slice(1, -1);
    return bad(inner, '"') ? null : { start: valueStart + 1, end: valueStart + 1 + inner.length };
  }
  if (rawValue.length >= 2 && rawValue.startsWith("'") && rawValue.endsWith("'")) {
    const inner = rawValue.slice(1, -1);
    return inner.includes("'") ? null : { start: valueStart + 1, end: valueStart + 1 + inner.length };
  }
  return bad(rawValue, "\"'") ? null : { start: valueStart, end: valueStart + rawValue.length };
}

/** Expand `word` in `env`; a shell error becomes the Dockerfile's error at `line`. */
export function expandWord(word: string, env: ReadonlyMap<string, string>, esc: string, file: string, line: number, what: string): { result: string; unmatched: Set<string> } {
  try {
    const r = processWord(word, env, { escapeToken: esc });
    return { result: r.result, unmatched: r.unmatched };
  } catch (err) {
    if (err instanceof ShellError) {
      throw invalid(file, line, err.problem === "too-deep" ? "too-deep" : "expansion", `cannot expand ${preview(what)}: ${err.message}`, err.problem === "too-deep" ? "simplify the nested ${...} substitutions" : "fix the variable syntax", { cause: err });
    }
    throw err;
  }
}

export function globalScope(
  metaArgs: readonly Instruction[],
  options: { platform: Platform; buildArgs: ReadonlyMap<string, string>; targetName: string; escapeToken: string; file: string },
): GlobalScope {
  const { platform, buildArgs, escapeToken: esc, file } = options;
  const env = new Map<string, string>();
  const sources = new Map<string, ArgSource>();
  const auto: [string, string][] = [
    ["BUILDPLATFORM", formatPlatform(platform)],
    ["BUILDOS", platform.os],
    ["BUILDOSVERSION", ""],
    ["BUILDARCH", platform.architecture],
    ["BUILDVARIANT", platform.variant],
    ["TARGETPLATFORM", formatPlatform(platform)],
    ["TARGETOS", platform.os],
    ["TARGETOSVERSION", ""],
    ["TARGETARCH", platform.architecture],
    ["TARGETVARIANT", platform.variant],
    ["TARGETSTAGE", options.targetName],
  ];
  for (const [key, value] of auto) {
    env.set(key, buildArgs.get(key) ?? value);
    sources.set(key, { kind: buildArgs.has(key) ? "build-arg" : "auto" });
  }
  for (const instruction of metaArgs) {
    const line = instruction.line.startLine;
    let any = false;
    for (const word of parseWords(instruction.args, esc, instruction.argsStart)) {
      any = true;
      const eq = word.value.indexOf("=");
      const key = eq === -1 ? word.value : word.value.slice(0, eq);
      if (key === "") throw invalid(file, line, "arguments", "ARG names can not be blank", "write ARG NAME=default");
      if (buildArgs.has(key)) {
        env.set(key, buildArgs.get(key) as string);
        sources.set(key, { kind: "build-arg" });
        continue;
      }
      if (eq === -1) continue;
      const rawValue = word.value.slice(eq + 1);
      const value = expandWord(rawValue, env, esc, file, line, `ARG ${key}=${rawValue}`).result;
      env.set(key, value);
      const source: ArgSource = { kind: "default" };
      const raw = instruction.line.text.slice(word.start, word.end);
      if (raw === word.value) {
        const logical = literalDefault(rawValue, word.start + eq + 1, esc);
        const original = logical && originalSpan(instruction.line, logical.start, logical.end);
        if (original) source.literal = original;
      }
      sources.set(key, source);
    }
    if (!any) throw invalid(file, line, "arguments", "ARG requires at least one argument", "write ARG NAME or ARG NAME=default");
  }
  return { env, sources };
}
