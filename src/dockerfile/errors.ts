/**
 * Why a Dockerfile is refused, as data: callers branch on `problem` (and the fields), never on the message.
 * The message stays one line: `file:line: what (what to do)`.
 */
import { BasewarmError } from "../errors.js";

export type DockerfileProblem =
  /** Binary content, NUL characters, invalid UTF-8 or Unicode. */
  | "not-text"
  /** A repeated or invalid parser directive (`# escape=`, `# syntax=`, `# check=`). */
  | "directive"
  /** Exec form (JSON array) with something else than strings. */
  | "json-args"
  | "heredoc-unterminated"
  | "unknown-instruction"
  /** An instruction other than ARG before the first FROM. */
  | "before-from"
  | "no-from"
  /** Wrong argument count or blank names (FROM, ARG). */
  | "arguments"
  | "stage-name"
  | "duplicate-stage"
  | "target-not-found"
  /** An unknown, missing, duplicate or malformed flag (`--platform`, `--from`, `--mount`). */
  | "flag"
  | "platform"
  /** A variable expansion that fails (syntax, `${VAR:?}`), or one written where BuildKit allows none. */
  | "expansion"
  | "empty-image"
  | "image-reference"
  | "stage-index"
  /** A stage used before it is defined. */
  | "stage-order"
  /** Nesting deeper than the reader follows (variable substitutions, quotes). */
  | "too-deep"
  /** An ONBUILD trigger that is empty, holds several instructions, or one not allowed as a trigger. */
  | "onbuild-trigger";

export interface DockerfileErrorFields {
  file: string;
  /** 1-based line of the instruction; absent for problems with the options (target, platform). */
  line?: number;
  problem: DockerfileProblem;
  /** What is wrong, without the file, line or advice. */
  what: string;
  /** What to do about it. */
  todo: string;
  /** The value at fault (an image reference, a stage name, a platform), when there is one. */
  value?: string;
  /** For `image-reference`: why the reference parser refused `value`. */
  referenceReason?: string;
  cause?: unknown;
}

/** A value quoted in a message, cut to a readable length. */
export function preview(value: string, max = 80): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/** Longest `what` put in a message: a value quoted from a hostile file can be megabytes long. */
const MAX_WHAT = 400;

function oneLine(s: string): string {
  const line = s.replace(/[\r\n]+/g, " ");
  return line.length > MAX_WHAT ? `${line.slice(0, MAX_WHAT)}…` : line;
}

export class DockerfileError extends BasewarmError {
  readonly file: string;
  readonly line: number | undefined;
  readonly problem: DockerfileProblem;
  readonly what: string;
  readonly todo: string;
  readonly value: string | undefined;
  readonly referenceReason: string | undefined;

  constructor(fields: DockerfileErrorFields) {
    const where = fields.line === undefined ? fields.file : `${fields.file}:${fields.line}`;
    super("DOCKERFILE_INVALID", `${where}: ${oneLine(fields.what)} (${oneLine(fields.todo)})`, fields.cause === undefined ? {} : { cause: fields.cause });
    this.name = "DockerfileError";
    this.file = fields.file;
    this.line = fields.line;
    this.problem = fields.problem;
    this.what = fields.what;
    this.todo = fields.todo;
    this.value = fields.value;
    this.referenceReason = fields.referenceReason;
  }
}
