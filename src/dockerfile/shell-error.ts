/** The word expander's error, in its own module so the pattern matcher can raise it too. */
import { BasewarmError } from "../errors.js";

export type ShellProblem =
  /** A quote, `${`, or `${VAR/` that is never closed. */
  | "unterminated"
  | "bad-substitution"
  | "unsupported-modifier"
  /** `${VAR?msg}` / `${VAR:?msg}` with VAR unset (or empty). */
  | "required-variable"
  | "invalid-pattern"
  /** Substitutions nested deeper than MAX_SHELL_NESTING. */
  | "too-deep";

/** A word the expander cannot process; `problem` says why (the message is BuildKit's wording). */
export class ShellError extends BasewarmError {
  readonly problem: ShellProblem;

  constructor(problem: ShellProblem, message: string) {
    super("DOCKERFILE_INVALID", message);
    this.name = "ShellError";
    this.problem = problem;
  }
}

