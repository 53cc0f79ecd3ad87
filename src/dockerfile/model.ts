/** The types the analysis steps share: what a Dockerfile pulls, and the stages it is made of. */
import type { Reference } from "../reference/index.js";
import { DockerfileError, type DockerfileProblem } from "./errors.js";
import type { Instruction, Word } from "./parser.js";

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
  /** A FROM built from variables: the span of its whole image word, for a build whose args are fixed. */
  variableSpan?: Span;
}

export interface Analysis {
  text: string;
  /** The uses selected by the options (every stage, or what the target depends on). */
  uses: LocatedUse[];
}

export interface StageInfo {
  index: number;
  name?: string;
  from: Instruction;
  baseWord: Word;
  platformRaw?: string;
  /** The stage's COPY and RUN instructions that carry flags: the only ones that can pull an image. */
  commands: Instruction[];
  /** Earlier stage used as base. */
  baseStage?: number;
  deps: Set<number>;
  /** Stage references to the same or later stages: BuildKit fails when it builds such a stage. */
  forward: { line: number; what: string; value: string }[];
  uses: LocatedUse[];
}

export function stageLabel(stage: StageInfo): string {
  return stage.name ?? String(stage.index);
}

export function makeUse(ref: string, reference: Reference, kind: ImageKind, line: number, extra: { platform?: string; stage?: string } = {}): ImageUse {
  return { ref, normalized: reference.toString(), reference, kind, line, ...extra };
}

/** A Dockerfile problem at a line: what is wrong and what to do, as one line. */
export function invalid(
  file: string,
  line: number | undefined,
  problem: DockerfileProblem,
  what: string,
  todo: string,
  extra: { value?: string; referenceReason?: string; cause?: unknown } = {},
): DockerfileError {
  return new DockerfileError({ file, ...(line === undefined ? {} : { line }), problem, what, todo, ...extra });
}
