/**
 * Which images a BuildKit build of a Dockerfile pulls, following frontend/dockerfile/instructions and
 * dockerfile2llb, as named steps over the parsed file: stages (stages.ts), the global ARG scope
 * (scope.ts), per-stage resolution (resolve.ts), ARG bindings for the rewriter (bindings.ts) and the
 * stages the target needs (reachability.ts); then the `# syntax=` frontend.
 */
import { invalid, type Analysis, type ExtractOptions, type LocatedUse } from "./model.js";
import { detectSyntax } from "./parser.js";
import { DEFAULT_PLATFORM, parsePlatform, type Platform } from "./platform.js";
import { reachableStages } from "./reachability.js";
import { resolveStages, toReference } from "./resolve.js";
import { settleBindings } from "./bindings.js";
import { globalScope } from "./scope.js";
import { readStages, targetStage } from "./stages.js";
import { makeUse } from "./model.js";

export type { Analysis, ArgBinding, ExtractOptions, ImageKind, ImageUse, LocatedUse, Span } from "./model.js";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Decode the file as BuildKit would read it: UTF-8 text, BOM kept in the string so rewriting preserves it. */
export function decodeDockerfile(content: string | Uint8Array, file: string): string {
  const notText = (why: string) =>
    invalid(file, 1, "not-text", `not a text Dockerfile: ${why}`, "point the catalog at the Dockerfile, not a binary or another encoding");
  if (typeof content === "string") {
    if (content.includes("\0")) throw notText("contains NUL characters");
    if (LONE_SURROGATE.test(content)) throw notText("invalid Unicode");
    // A string built by concatenation is a rope in V8, and reading it character by character walks the
    // rope each time (seconds per megabyte); converting it to a number flattens it once (the result is unused).
    Number(content);
    return content;
  }
  if (content.includes(0)) throw notText("contains NUL bytes");
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(content);
  } catch {
    throw notText("invalid UTF-8");
  }
}

/** The build platform from the options (linux/amd64 when absent); the error names the option. */
export function platformOption(platform: string | undefined, file: string): Platform {
  if (platform === undefined) return DEFAULT_PLATFORM;
  const parsed = parsePlatform(platform);
  if (typeof parsed === "string" || platform.split("/").length < 2) {
    throw invalid(
      file,
      undefined,
      "platform",
      `invalid platform option ${JSON.stringify(platform)}: ${typeof parsed === "string" ? parsed : "want os/arch"}`,
      "use os/arch[/variant], e.g. linux/arm64",
      { value: platform },
    );
  }
  return parsed;
}

/** Parse and analyse a decoded Dockerfile. Throws DockerfileError (DOCKERFILE_INVALID) for what BuildKit rejects. */
export function analyzeDockerfile(text: string, options: ExtractOptions = {}): Analysis {
  const file = options.file ?? "Dockerfile";
  const platform = platformOption(options.platform, file);
  const stages = readStages(text, file);
  const target = targetStage(stages, options.target, file);
  const scope = globalScope(stages.metaArgs, {
    platform,
    buildArgs: new Map(Object.entries(options.buildArgs ?? {})),
    targetName: options.target ?? stages.stages[stages.stages.length - 1]?.name ?? "",
    escapeToken: stages.escapeToken,
    file,
  });
  const { bindings } = resolveStages(stages, scope, file);
  settleBindings(bindings, stages);
  const reachable = reachableStages(stages.stages, target, file);

  const uses: LocatedUse[] = [];
  const syntax = detectSyntax(text);
  if (syntax) {
    const reference = toReference(syntax.image, file, syntax.line, "# syntax=");
    uses.push({ use: makeUse(syntax.image, reference, "syntax", syntax.line), span: { start: syntax.start, end: syntax.end } });
  }
  for (const stage of stages.stages) {
    if (options.target !== undefined && !reachable.has(stage.index)) continue;
    for (const use of stage.uses) uses.push(use);
  }
  return { text, uses };
}
