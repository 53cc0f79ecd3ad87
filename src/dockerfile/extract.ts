/**
 * Which images a BuildKit build of a Dockerfile pulls, following frontend/dockerfile/instructions and
 * dockerfile2llb: global ARGs (before the first FROM) with build-arg overrides and the automatic
 * platform ARGs, FROM expansion and stage lookup, `COPY --from`, `RUN --mount=...,from=` and `# syntax=`.
 */
import { BasewarmError, isBasewarmError } from "../errors.js";
import { parseReference, type Reference } from "../reference/index.js";
import {
  DockerfileSyntaxError,
  detectSyntax,
  originalSpan,
  parseDockerfile,
  parseWords,
  splitWhitespace,
  type Instruction,
  type Word,
} from "./parser.js";
import { DEFAULT_PLATFORM, formatPlatform, parsePlatform, type Platform } from "./platform.js";
import { ShellError, processWord } from "./shell.js";

export type ImageKind = "from" | "copy-from" | "mount-from" | "syntax";

export interface ImageUse {
  /** The reference as written after variable expansion. */
  ref: string;
  /** parseReference(ref).toString(), e.g. docker.io/library/alpine:3.20 */
  normalized: string;
  reference: Reference;
  kind: ImageKind;
  /** 1-based line of the instruction. */
  line: number;
  /** From --platform after expansion, when given. */
  platform?: string;
  /** The stage's name (lowercased) or its index as a string when unnamed. */
  stage?: string;
}

export interface ExtractOptions {
  /** Used in error messages ("Dockerfile" when absent). */
  file?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  /** os/arch[/variant], default linux/amd64. */
  platform?: string;
}

export interface Span {
  start: number;
  end: number;
}

/** A global ARG whose default is a plain literal, so that it can be rewritten in place. */
export interface ArgBinding {
  name: string;
  /** Where the literal default sits in the original text (inside its quotes). */
  span: Span;
  /** False when the variable is used anywhere else than as a whole FROM argument. */
  safe: boolean;
  /** How many FROM instructions in the whole file use this ARG as their whole argument. */
  total: number;
}

/** An image use plus where its text sits in the original file. */
export interface LocatedUse {
  use: ImageUse;
  /** Original-text span of the reference; null when it cannot be replaced in place (variables, continuation). */
  span: Span | null;
  /** Set for `FROM $VAR` / `FROM ${VAR}` whose value is a global ARG's literal default. */
  binding?: ArgBinding;
}

export interface Analysis {
  text: string;
  /** The uses selected by the options (every stage, or what the target depends on). */
  uses: LocatedUse[];
}

const KNOWN_INSTRUCTIONS = new Set([
  "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label", "maintainer",
  "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir",
]);
const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;
const WHOLE_VAR_RE = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/;
const SCRATCH = "scratch";

function one(s: string): string {
  return s.replace(/[\r\n]+/g, " ");
}

function invalid(file: string, line: number, what: string, todo: string): BasewarmError {
  return new BasewarmError("DOCKERFILE_INVALID", one(`${file}:${line}: ${what} (${todo})`));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Decode the file as BuildKit would read it: UTF-8 text, BOM kept in the string so rewriting preserves it. */
export function decodeDockerfile(content: string | Uint8Array, file: string): string {
  const notText = (why: string) =>
    new BasewarmError("DOCKERFILE_INVALID", `${file}:1: not a text Dockerfile: ${why} (point the catalog at the Dockerfile, not a binary or another encoding)`);
  if (typeof content === "string") {
    if (content.includes("\0")) throw notText("contains NUL characters");
    if (LONE_SURROGATE.test(content)) throw notText("invalid Unicode");
    return content;
  }
  if (content.includes(0)) throw notText("contains NUL bytes");
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(content);
  } catch {
    throw notText("invalid UTF-8");
  }
}

function refProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const colon = message.indexOf(": ");
  return colon === -1 ? message : message.slice(colon + 2);
}

interface ArgSource {
  kind: "auto" | "build-arg" | "default";
  /** For literal defaults: where the literal is. */
  literal?: Span;
}

interface StageInfo {
  index: number;
  name?: string;
  from: Instruction;
  baseWord: Word;
  platformRaw?: string;
  commands: Instruction[];
  /** Earlier stage used as base. */
  baseStage?: number;
  deps: Set<number>;
  /** Stage references to the same or later stages: BuildKit fails when it builds such a stage. */
  forward: { line: number; what: string }[];
  uses: LocatedUse[];
}

/** Go's encoding/csv for one record, strict quotes; returns fields with their offsets, or an error. */
function parseCsv(text: string): { value: string; start: number; end: number; quoted: boolean }[] | string {
  if (text === "") return "empty mount";
  const fields: { value: string; start: number; end: number; quoted: boolean }[] = [];
  let i = 0;
  for (;;) {
    const start = i;
    if (text[i] === '"') {
      let value = "";
      i++;
      for (;;) {
        if (i >= text.length) return `extraneous or missing " in quoted-field`;
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i];
        i++;
      }
      if (i < text.length && text[i] !== ",") return `extraneous or missing " in quoted-field`;
      fields.push({ value, start, end: i, quoted: true });
    } else {
      const comma = text.indexOf(",", i);
      const end = comma === -1 ? text.length : comma;
      const value = text.slice(i, end);
      if (value.includes('"')) return `bare " in non-quoted-field`;
      fields.push({ value, start, end, quoted: false });
      i = end;
    }
    if (i >= text.length) return fields;
    i++; // the comma
  }
}

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

/** Parse and analyse a decoded Dockerfile. Throws BasewarmError(DOCKERFILE_INVALID) for what BuildKit rejects. */
export function analyzeDockerfile(text: string, options: ExtractOptions = {}): Analysis {
  const file = options.file ?? "Dockerfile";
  const buildArgs = new Map(Object.entries(options.buildArgs ?? {}));

  let platform: Platform = DEFAULT_PLATFORM;
  if (options.platform !== undefined) {
    const parsed = parsePlatform(options.platform);
    if (typeof parsed === "string" || options.platform.split("/").length < 2) {
      throw new BasewarmError(
        "DOCKERFILE_INVALID",
        one(`${file}: invalid platform option ${JSON.stringify(options.platform)}: ${typeof parsed === "string" ? parsed : "want os/arch"} (use os/arch[/variant], e.g. linux/arm64)`),
      );
    }
    platform = parsed;
  }

  let parsed;
  try {
    parsed = parseDockerfile(text);
  } catch (err) {
    if (err instanceof DockerfileSyntaxError) throw invalid(file, err.line, err.message.replace(/ \(.*\)$/, ""), /\((.*)\)$/.exec(err.message)?.[1] ?? "fix the Dockerfile syntax");
    throw err;
  }
  const esc = parsed.escapeToken;

  // Split into global ARGs and stages, as instructions.Parse does.
  const metaArgs: Instruction[] = [];
  const stages: StageInfo[] = [];
  for (const instruction of parsed.instructions) {
    const line = instruction.line.startLine;
    if (!KNOWN_INSTRUCTIONS.has(instruction.keyword)) {
      throw invalid(file, line, `unknown instruction ${JSON.stringify(instruction.keyword.toUpperCase())}`, "check the spelling; Dockerfile instructions are FROM, RUN, COPY, ARG, ...");
    }
    if (instruction.keyword === "from") {
      stages.push(parseFrom(instruction, stages.length, file));
    } else if (stages.length === 0) {
      if (instruction.keyword !== "arg") {
        throw invalid(file, line, `${instruction.keyword.toUpperCase()} before the first FROM`, "only ARG may come before the first FROM");
      }
      metaArgs.push(instruction);
    } else {
      (stages[stages.length - 1] as StageInfo).commands.push(instruction);
    }
  }
  if (stages.length === 0) {
    throw invalid(file, parsed.instructions[0]?.line.startLine ?? 1, "no FROM instruction", "a Dockerfile needs at least one FROM <image> to build");
  }

  const stageNames = new Map<string, number>();
  for (const stage of stages) {
    if (stage.name === undefined) continue;
    if (stageNames.has(stage.name)) {
      throw invalid(file, stage.from.line.startLine, `duplicate stage name ${JSON.stringify(stage.name)}`, "give every stage a unique name after AS");
    }
    stageNames.set(stage.name, stage.index);
  }

  let targetIndex = stages.length - 1;
  if (options.target !== undefined) {
    const found = stageNames.get(options.target.toLowerCase());
    if (found === undefined) {
      const known = [...stageNames.keys()];
      throw new BasewarmError(
        "DOCKERFILE_INVALID",
        one(`${file}: target stage ${JSON.stringify(options.target)} could not be found (${known.length ? `stages are: ${known.join(", ")}` : "no stage has a name; add AS <name> to a FROM"})`),
      );
    }
    targetIndex = found;
  }

  // Global scope: the automatic platform ARGs (a build arg of the same name overrides them), then the ARGs
  // before the first FROM in order; a build arg only replaces an ARG that is declared.
  const env = new Map<string, string>();
  const sources = new Map<string, ArgSource>();
  const targetName = options.target ?? stages[stages.length - 1]?.name ?? "";
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
    ["TARGETSTAGE", targetName],
  ];
  for (const [key, value] of auto) {
    env.set(key, buildArgs.get(key) ?? value);
    sources.set(key, { kind: buildArgs.has(key) ? "build-arg" : "auto" });
  }
  for (const instruction of metaArgs) {
    const line = instruction.line.startLine;
    const words = parseWords(instruction.args, esc, instruction.argsStart);
    if (words.length === 0) throw invalid(file, line, "ARG requires at least one argument", "write ARG NAME or ARG NAME=default");
    for (const word of words) {
      const eq = word.value.indexOf("=");
      const key = eq === -1 ? word.value : word.value.slice(0, eq);
      if (key === "") throw invalid(file, line, "ARG names can not be blank", "write ARG NAME=default");
      if (buildArgs.has(key)) {
        env.set(key, buildArgs.get(key) as string);
        sources.set(key, { kind: "build-arg" });
        continue;
      }
      if (eq === -1) continue;
      const rawValue = word.value.slice(eq + 1);
      let value: string;
      try {
        value = processWord(rawValue, env, { escapeToken: esc }).result;
      } catch (err) {
        if (err instanceof ShellError) throw invalid(file, line, `cannot expand ARG ${key}=${rawValue}: ${err.message}`, "fix the variable syntax");
        throw err;
      }
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
  }

  // Variables re-declared inside stages (their global value flows into RUN etc.), and every `$NAME` in the file.
  const stageArgNames = new Set<string>();
  for (const stage of stages) {
    for (const command of stage.commands) {
      if (command.keyword !== "arg") continue;
      for (const word of parseWords(command.args, esc, command.argsStart)) stageArgNames.add(word.value.split("=")[0] ?? "");
    }
  }
  const referenceCount = (name: string) => {
    const re = new RegExp(`\\$(?:\\{${name}(?![A-Za-z0-9_])|${name}(?![A-Za-z0-9_]))`, "g");
    let count = 0;
    for (const instruction of parsed.instructions) count += instruction.line.text.match(re)?.length ?? 0;
    return count;
  };

  const byName = new Map<string, number>();
  const bindingsPerName = new Map<string, LocatedUse[]>();
  for (const stage of stages) {
    resolveStage(stage);
    if (stage.name !== undefined) byName.set(stage.name, stage.index);
    for (const command of stage.commands) {
      if (command.keyword === "copy") copyFrom(stage, command);
      if (command.keyword === "run") mountFrom(stage, command);
    }
  }
  for (const [name, uses] of bindingsPerName) {
    const safe = !stageArgNames.has(name) && referenceCount(name) === uses.length;
    for (const use of uses) {
      if (!use.binding) continue;
      use.binding.safe = safe;
      use.binding.total = uses.length;
    }
  }

  // What the target's build depends on (base stages and COPY/RUN --mount sources, transitively).
  const reachable = new Set<number>();
  const visit = (index: number) => {
    if (reachable.has(index)) return;
    reachable.add(index);
    const stage = stages[index] as StageInfo;
    if (stage.baseStage !== undefined) visit(stage.baseStage);
    for (const dep of stage.deps) visit(dep);
  };
  visit(targetIndex);
  for (const index of [...reachable].sort((a, b) => a - b)) {
    const forward = (stages[index] as StageInfo).forward[0];
    if (forward) throw invalid(file, forward.line, forward.what, "a stage can only use stages defined before it; move that stage up");
  }

  const uses: LocatedUse[] = [];
  const syntax = detectSyntax(text);
  if (syntax) {
    const reference = toReference(syntax.image, syntax.line, "# syntax=");
    uses.push({ use: makeUse(syntax.image, reference, "syntax", syntax.line), span: { start: syntax.start, end: syntax.end } });
  }
  for (const stage of stages) {
    if (options.target !== undefined && !reachable.has(stage.index)) continue;
    uses.push(...stage.uses);
  }
  return { text, uses };

  function toReference(ref: string, line: number, what: string): Reference {
    try {
      return parseReference(ref);
    } catch (err) {
      if (!isBasewarmError(err, "REF_INVALID")) throw err;
      const problem = refProblem(err);
      const todo = problem.includes("lowercase")
        ? "image names must be lowercase; a stage is only matched by its exact lowercase name"
        : "fix the image reference or the ARG / build arg it comes from";
      throw invalid(file, line, `${what}${JSON.stringify(ref)} is not a valid image reference: ${problem}`, todo);
    }
  }

  function makeUse(ref: string, reference: Reference, kind: ImageKind, line: number, extra: { platform?: string; stage?: string } = {}): ImageUse {
    return { ref, normalized: reference.toString(), reference, kind, line, ...extra };
  }

  function stageLabel(stage: StageInfo): string {
    return stage.name ?? String(stage.index);
  }

  function expand(word: string, line: number, what: string): { result: string; unmatched: Set<string> } {
    try {
      const r = processWord(word, env, { escapeToken: esc });
      return { result: r.result, unmatched: r.unmatched };
    } catch (err) {
      if (err instanceof ShellError) throw invalid(file, line, `cannot expand ${what} ${word}: ${err.message}`, "fix the variable syntax");
      throw err;
    }
  }

  function unsetHint(unmatched: Set<string>): string {
    return unmatched.size > 0
      ? `${[...unmatched].join(", ")} is not set: declare ARG with a default before the first FROM or pass a build arg`
      : "give FROM an image name";
  }

  function resolveStage(stage: StageInfo): void {
    const line = stage.from.line.startLine;
    const raw = stage.baseWord.value;
    const { result: base, unmatched } = expand(raw, line, "FROM");
    if (base === "") throw invalid(file, line, `FROM ${raw} expands to an empty image name`, unsetHint(unmatched));

    let platformValue: string | undefined;
    if (stage.platformRaw !== undefined && stage.platformRaw !== "") {
      const p = expand(stage.platformRaw, line, "--platform");
      if (p.result === "") throw invalid(file, line, `--platform=${stage.platformRaw} expands to an empty platform`, unsetHint(p.unmatched));
      const check = parsePlatform(p.result);
      if (typeof check === "string") throw invalid(file, line, `invalid platform ${JSON.stringify(p.result)} in --platform=${stage.platformRaw}: ${check}`, "use os/arch[/variant], e.g. linux/arm64");
      platformValue = p.result;
    }

    // dockerfile2llb matches FROM against earlier stage names exactly (names are already lowercase).
    const earlier = byName.get(base);
    if (earlier !== undefined) {
      stage.baseStage = earlier;
      return;
    }
    if (base === SCRATCH) return;
    const reference = toReference(base, line, raw === base ? "FROM " : `FROM ${raw} gives `);
    const use = makeUse(base, reference, "from", line, {
      ...(platformValue === undefined ? {} : { platform: platformValue }),
      stage: stageLabel(stage),
    });
    const located: LocatedUse = { use, span: raw.includes("$") ? null : originalSpan(stage.from.line, stage.baseWord.start, stage.baseWord.end) };
    const whole = WHOLE_VAR_RE.exec(raw);
    const name = whole?.[1] ?? whole?.[2];
    const literal = name === undefined ? undefined : sources.get(name)?.literal;
    if (name !== undefined && literal !== undefined) {
      located.binding = { name, span: literal, safe: false, total: 0 };
      bindingsPerName.set(name, [...(bindingsPerName.get(name) ?? []), located]);
    }
    stage.uses.push(located);
  }

  /** A stage reference by name (case-insensitive) or, for COPY, by index; undefined when it names an image. */
  function stageRef(stage: StageInfo, value: string, allowIndex: boolean, line: number, what: string): number | "scratch" | undefined {
    let index: number | undefined;
    if (allowIndex && /^[+-]?\d{1,18}$/.test(value)) {
      index = Number(value);
      if (index < 0 || index >= stages.length) throw invalid(file, line, `invalid stage index ${value} in ${what}`, `stages are numbered from 0 to ${stages.length - 1}`);
    } else {
      index = stageNames.get(value.toLowerCase());
    }
    if (index === undefined) return value === SCRATCH ? SCRATCH : undefined;
    if (index >= stage.index) stage.forward.push({ line, what: `${what} refers to stage ${JSON.stringify(value)} that is not defined before this one` });
    else stage.deps.add(index);
    return index;
  }

  function copyFrom(stage: StageInfo, command: Instruction): void {
    const line = command.line.startLine;
    let from: { value: string; word: Word } | undefined;
    for (const flag of command.flags) {
      const eq = flag.value.indexOf("=");
      if ((eq === -1 ? flag.value.slice(2) : flag.value.slice(2, eq)) !== "from") continue;
      if (eq === -1) throw invalid(file, line, "missing a value on flag --from", "write COPY --from=<stage or image> ...");
      if (from) throw invalid(file, line, "duplicate flag --from", "COPY takes one --from");
      from = { value: flag.value.slice(eq + 1), word: flag };
    }
    if (!from || from.value === "") return;
    let unchanged = false;
    try {
      unchanged = processWord(from.value, new Map(), { escapeToken: esc }).result === from.value;
    } catch {
      unchanged = false;
    }
    if (!unchanged) {
      throw invalid(file, line, `variable expansion is not supported for --from=${from.value}`, "define a stage with FROM ${VAR} AS <name> from a global ARG and copy from that stage");
    }
    if (stageRef(stage, from.value, true, line, `COPY --from=${from.value}`) !== undefined) return;
    const reference = toReference(from.value, line, "COPY --from=");
    const raw = command.line.text.slice(from.word.start, from.word.end);
    const span = raw.startsWith("--from=")
      ? originalSpan(command.line, from.word.start + "--from=".length, from.word.end)
      : null;
    stage.uses.push({ use: makeUse(from.value, reference, "copy-from", line, { stage: stageLabel(stage) }), span });
  }

  function mountFrom(stage: StageInfo, command: Instruction): void {
    const line = command.line.startLine;
    for (const flag of command.flags) {
      const eq = flag.value.indexOf("=");
      if ((eq === -1 ? flag.value.slice(2) : flag.value.slice(2, eq)) !== "mount") continue;
      if (eq === -1) throw invalid(file, line, "missing a value on flag --mount", "write RUN --mount=type=...,from=... <command>");
      const value = flag.value.slice(eq + 1);
      const fields = parseCsv(value);
      if (typeof fields === "string") throw invalid(file, line, `failed to parse --mount=${value}: ${fields}`, "write --mount as comma-separated key=value pairs");
      let from: (typeof fields)[number] | undefined;
      let fromValue = "";
      let type = "bind";
      for (const field of fields) {
        const fieldEq = field.value.indexOf("=");
        if (fieldEq === -1) continue;
        const key = field.value.slice(0, fieldEq).toLowerCase();
        const fieldValue = field.value.slice(fieldEq + 1);
        if (key === "type") type = fieldValue.toLowerCase();
        if (key !== "from") continue;
        if (/\$./.test(fieldValue)) {
          throw invalid(file, line, `'from' doesn't support variable expansion (--mount ...from=${fieldValue})`, "define an alias stage with FROM ${VAR} AS <name> and mount from it");
        }
        from = field;
        fromValue = fieldValue;
      }
      if (!from || fromValue === "" || type === "tmpfs") continue;
      const what = `RUN --mount=...from=${fromValue}`;
      if (stageRef(stage, fromValue, false, line, what) !== undefined) continue;
      const reference = toReference(fromValue, line, "RUN --mount from=");
      const raw = command.line.text.slice(flag.start, flag.end);
      const keyLength = from.value.indexOf("=") + 1;
      const span = raw === `--mount=${value}` && !from.quoted
        ? originalSpan(command.line, flag.start + "--mount=".length + from.start + keyLength, flag.start + "--mount=".length + from.end)
        : null;
      stage.uses.push({ use: makeUse(fromValue, reference, "mount-from", line, { stage: stageLabel(stage) }), span });
    }
  }
}

function parseFrom(instruction: Instruction, index: number, file: string): StageInfo {
  const line = instruction.line.startLine;
  const words = splitWhitespace(instruction.args, instruction.argsStart);
  let name: string | undefined;
  if (words.length === 3 && (words[1] as Word).value.toLowerCase() === "as") {
    const raw = (words[2] as Word).value;
    name = raw.toLowerCase();
    if (!STAGE_NAME_RE.test(name)) {
      throw invalid(file, line, `invalid name for build stage: ${JSON.stringify(raw)}`, "a stage name starts with a letter and has only letters, digits, '-', '_' and '.'");
    }
  } else if (words.length !== 1) {
    throw invalid(file, line, "FROM requires either one or three arguments", "write FROM [--platform=<platform>] <image> [AS <name>]");
  }
  let platformRaw: string | undefined;
  for (const flag of instruction.flags) {
    const eq = flag.value.indexOf("=");
    const flagName = eq === -1 ? flag.value.slice(2) : flag.value.slice(2, eq);
    if (flagName !== "platform") throw invalid(file, line, `unknown flag --${flagName} on FROM`, "FROM only takes --platform=<platform>");
    if (eq === -1) throw invalid(file, line, "missing a value on flag --platform", "write FROM --platform=<os/arch> <image>");
    if (platformRaw !== undefined) throw invalid(file, line, "duplicate flag --platform", "FROM takes one --platform");
    platformRaw = flag.value.slice(eq + 1);
  }
  return {
    index,
    ...(name === undefined ? {} : { name }),
    from: instruction,
    baseWord: words[0] as Word,
    ...(platformRaw === undefined ? {} : { platformRaw }),
    commands: [],
    deps: new Set(),
    forward: [],
    uses: [],
  };
}
