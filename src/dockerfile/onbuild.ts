/**
 * The images a base image's ONBUILD triggers pull in the tenant's build. The triggers come from the
 * image config's `OnBuild` array, each one instruction as written after ONBUILD, e.g.
 * `COPY --from=other-image /x /y` or `RUN --mount=type=bind,from=img,target=/t true`.
 *
 * A trigger runs inside a tenant's stage whose names we cannot know, so a `--from` value is read as an
 * image (a numeric COPY index is a stage and skipped; `scratch` pulls nothing), and a value that is not
 * a valid image reference is that trigger's problem. One bad trigger never hides the others: problems
 * are returned, not thrown. `--from` values cannot hold variables (BuildKit refuses them), so build
 * args do not change the result; the options are validated like extraction's.
 */
import { DockerfileError } from "./errors.js";
import { platformOption } from "./extract.js";
import { makeUse, type ExtractOptions, type ImageUse } from "./model.js";
import { parseDockerfile, type Instruction } from "./parser.js";
import { SCRATCH, STAGE_INDEX_RE, toReference } from "./resolve.js";
import { copyFromFlag, mountFromFlags, type FlagSource } from "./sources.js";
import { isKnownInstruction } from "./stages.js";

export type OnbuildOptions = Pick<ExtractOptions, "buildArgs" | "platform">;

export interface OnbuildImage {
  use: ImageUse;
  /** Index of the trigger in the image's OnBuild array. */
  trigger: number;
  /** "ONBUILD of IMAGE". */
  provenance: string;
}

export interface OnbuildProblem {
  trigger: number;
  /** The trigger as the image config holds it. */
  text: string;
  error: DockerfileError;
}

export interface OnbuildResult {
  images: OnbuildImage[];
  problems: OnbuildProblem[];
}

/** BuildKit refuses these as triggers (instructions/parse.go). */
const NOT_TRIGGERS = new Set(["onbuild", "from", "maintainer"]);

function triggerError(file: string, problem: "onbuild-trigger", what: string, todo: string, value?: string): DockerfileError {
  return new DockerfileError({ file, problem, what, todo, ...(value === undefined ? {} : { value }) });
}

/** The one instruction a trigger holds. */
function triggerInstruction(text: string, file: string): { instruction: Instruction; escapeToken: string } {
  const instructions: Instruction[] = [];
  const { escapeToken } = parseDockerfile(text, file, (instruction) => instructions.push(instruction));
  const instruction = instructions[0];
  if (instruction === undefined) throw triggerError(file, "onbuild-trigger", "empty trigger", "the base image's OnBuild entry holds no instruction");
  if (instructions.length > 1) throw triggerError(file, "onbuild-trigger", `trigger holds ${instructions.length} instructions`, "an OnBuild entry is one instruction");
  return { instruction, escapeToken };
}

function imagesOfTrigger(text: string, file: string, provenance: string, trigger: number): OnbuildImage[] {
  const { instruction, escapeToken } = triggerInstruction(text, file);
  const keyword = instruction.keyword;
  if (!isKnownInstruction(keyword)) {
    throw new DockerfileError({ file, problem: "unknown-instruction", value: keyword, what: `unknown instruction ${JSON.stringify(keyword.toUpperCase())}`, todo: "the base image's trigger is not a Dockerfile instruction" });
  }
  if (NOT_TRIGGERS.has(keyword)) {
    throw triggerError(file, "onbuild-trigger", `${keyword.toUpperCase()} isn't allowed as an ONBUILD trigger`, "BuildKit refuses this trigger; the tenant's build of this base fails", keyword);
  }
  const images: OnbuildImage[] = [];
  const line = instruction.line.startLine;
  const add = (from: FlagSource, kind: "copy-from" | "mount-from", what: string) => {
    if (from.value === SCRATCH || (kind === "copy-from" && STAGE_INDEX_RE.test(from.value))) return;
    const reference = toReference(from.value, file, line, what);
    images.push({ use: makeUse(from.value, reference, kind, line), trigger, provenance });
  };
  if (keyword === "copy") {
    const from = copyFromFlag(instruction, file, escapeToken);
    if (from) add(from, "copy-from", "COPY --from=");
  } else if (keyword === "run") {
    mountFromFlags(instruction, file, (from) => add(from, "mount-from", "RUN --mount from="));
  }
  return images;
}

/** Errors of one trigger are reported without a line: the trigger is the place. */
function atTrigger(err: DockerfileError, file: string): DockerfileError {
  return new DockerfileError({
    file,
    problem: err.problem,
    what: err.what,
    todo: err.todo,
    ...(err.value === undefined ? {} : { value: err.value }),
    ...(err.referenceReason === undefined ? {} : { referenceReason: err.referenceReason }),
    cause: err,
  });
}

/**
 * The external images `triggers` (the OnBuild array of `image`'s config) pull, in trigger order, each
 * with provenance "ONBUILD of IMAGE"; malformed triggers come back as problems. Throws only for
 * invalid options (a bad platform), like extraction.
 */
export function onbuildImages(triggers: readonly string[], image: string, options: OnbuildOptions = {}): OnbuildResult {
  const provenance = `ONBUILD of ${image}`;
  platformOption(options.platform, provenance);
  const images: OnbuildImage[] = [];
  const problems: OnbuildProblem[] = [];
  triggers.forEach((text, trigger) => {
    const file = `${provenance} [trigger ${trigger}]`;
    try {
      images.push(...imagesOfTrigger(text, file, provenance, trigger));
    } catch (err) {
      if (!(err instanceof DockerfileError)) throw err;
      problems.push({ trigger, text, error: err.line === undefined ? err : atTrigger(err, file) });
    }
  });
  return { images, problems };
}
