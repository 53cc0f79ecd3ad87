/**
 * Step 1 of the analysis: the instructions split into global ARGs and stages, as BuildKit's
 * instructions.Parse does, with the stage names and the target stage.
 */
import { DockerfileError } from "./errors.js";
import { invalid, type StageInfo } from "./model.js";
import { parseDockerfile, parseWords, splitWhitespace, type Instruction, type Word } from "./parser.js";

const KNOWN_INSTRUCTIONS = new Set([
  "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label", "maintainer",
  "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir",
]);
const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;

export function isKnownInstruction(keyword: string): boolean {
  return KNOWN_INSTRUCTIONS.has(keyword);
}

export interface Stages {
  escapeToken: string;
  /** The ARG instructions before the first FROM. */
  metaArgs: Instruction[];
  stages: StageInfo[];
  /** Stage index by (lowercase) name. */
  stageNames: Map<string, number>;
  /** Variables re-declared by an ARG inside a stage (their global value flows into RUN etc.). */
  stageArgNames: Set<string>;
  /** How often each `$NAME` / `${NAME` occurs in the instructions (not in comments or heredoc bodies). */
  variableUses: Map<string, number>;
}

function isNameStart(c: number): boolean {
  return c === 0x5f || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39);
}

/** Count `$NAME` and `${NAME` (NAME taken whole: `$NAMES` is not `$NAME`) in one instruction's text. */
function countVariables(text: string, counts: Map<string, number>): void {
  for (let i = text.indexOf("$"); i !== -1; i = text.indexOf("$", i + 1)) {
    let start = i + 1;
    if (text.charCodeAt(start) === 0x7b) start++;
    if (!isNameStart(text.charCodeAt(start))) continue;
    let end = start + 1;
    while (end < text.length && isNameChar(text.charCodeAt(end))) end++;
    const name = text.slice(start, end);
    counts.set(name, (counts.get(name) ?? 0) + 1);
    i = end - 1;
  }
}

function parseFrom(instruction: Instruction, index: number, file: string): StageInfo {
  const line = instruction.line.startLine;
  const words = splitWhitespace(instruction.args, instruction.argsStart, 4);
  let name: string | undefined;
  if (words.length === 3 && (words[1] as Word).value.toLowerCase() === "as") {
    const raw = (words[2] as Word).value;
    name = raw.toLowerCase();
    if (!STAGE_NAME_RE.test(name)) {
      throw invalid(file, line, "stage-name", `invalid name for build stage: ${JSON.stringify(raw)}`, "a stage name starts with a letter and has only letters, digits, '-', '_' and '.'", { value: raw });
    }
  } else if (words.length !== 1) {
    throw invalid(file, line, "arguments", "FROM requires either one or three arguments", "write FROM [--platform=<platform>] <image> [AS <name>]");
  }
  let platformRaw: string | undefined;
  for (const flag of instruction.flags) {
    const eq = flag.value.indexOf("=");
    const flagName = eq === -1 ? flag.value.slice(2) : flag.value.slice(2, eq);
    if (flagName !== "platform") throw invalid(file, line, "flag", `unknown flag --${flagName} on FROM`, "FROM only takes --platform=<platform>", { value: flagName });
    if (eq === -1) throw invalid(file, line, "flag", "missing a value on flag --platform", "write FROM --platform=<os/arch> <image>");
    if (platformRaw !== undefined) throw invalid(file, line, "flag", "duplicate flag --platform", "FROM takes one --platform");
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

/** Parse `text` and split it into global ARGs and stages. Keeps only the instructions later steps read. */
export function readStages(text: string, file: string): Stages {
  const metaArgs: Instruction[] = [];
  const stages: StageInfo[] = [];
  const variableUses = new Map<string, number>();
  const stageArgs: Instruction[] = [];
  let firstLine: number | undefined;
  // BuildKit parses the whole file before it splits it: a syntax error further down wins over an
  // unknown instruction higher up, so the first split error waits until the parse is done.
  let pending: DockerfileError | undefined;
  const split = (instruction: Instruction) => {
    const line = instruction.line.startLine;
    if (!KNOWN_INSTRUCTIONS.has(instruction.keyword)) {
      throw invalid(file, line, "unknown-instruction", `unknown instruction ${JSON.stringify(instruction.keyword.toUpperCase())}`, "check the spelling; Dockerfile instructions are FROM, RUN, COPY, ARG, ...", { value: instruction.keyword });
    }
    countVariables(instruction.line.text, variableUses);
    const current = stages[stages.length - 1];
    if (instruction.keyword === "from") {
      stages.push(parseFrom(instruction, stages.length, file));
    } else if (current === undefined) {
      if (instruction.keyword !== "arg") {
        throw invalid(file, line, "before-from", `${instruction.keyword.toUpperCase()} before the first FROM`, "only ARG may come before the first FROM", { value: instruction.keyword });
      }
      metaArgs.push(instruction);
    } else if (instruction.keyword === "arg") {
      stageArgs.push(instruction);
    } else if ((instruction.keyword === "copy" || instruction.keyword === "run") && instruction.flags.length > 0) {
      current.commands.push(instruction);
    }
  };
  const { escapeToken } = parseDockerfile(text, file, (instruction) => {
    firstLine ??= instruction.line.startLine;
    if (pending) return;
    try {
      split(instruction);
    } catch (err) {
      if (!(err instanceof DockerfileError)) throw err;
      pending = err;
    }
  });
  if (pending) throw pending;
  if (stages.length === 0) {
    throw invalid(file, firstLine ?? 1, "no-from", "no FROM instruction", "a Dockerfile needs at least one FROM <image> to build");
  }

  const stageNames = new Map<string, number>();
  for (const stage of stages) {
    if (stage.name === undefined) continue;
    if (stageNames.has(stage.name)) {
      throw invalid(file, stage.from.line.startLine, "duplicate-stage", `duplicate stage name ${JSON.stringify(stage.name)}`, "give every stage a unique name after AS", { value: stage.name });
    }
    stageNames.set(stage.name, stage.index);
  }

  // Stage ARG words are read after the whole file, with the escape token the directives settled on.
  const stageArgNames = new Set<string>();
  for (const command of stageArgs) {
    for (const word of parseWords(command.args, escapeToken, command.argsStart)) stageArgNames.add(word.value.split("=")[0] ?? "");
  }
  return { escapeToken, metaArgs, stages, stageNames, stageArgNames, variableUses };
}

/** The stage a build of `target` ends with (the last stage without one). */
export function targetStage(stages: Stages, target: string | undefined, file: string): number {
  if (target === undefined) return stages.stages.length - 1;
  const found = stages.stageNames.get(target.toLowerCase());
  if (found !== undefined) return found;
  const known = [...stages.stageNames.keys()];
  throw invalid(
    file,
    undefined,
    "target-not-found",
    `target stage ${JSON.stringify(target)} could not be found`,
    known.length ? `stages are: ${known.join(", ")}` : "no stage has a name; add AS <name> to a FROM",
    { value: target },
  );
}
