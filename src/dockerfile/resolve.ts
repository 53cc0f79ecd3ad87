/**
 * Step 3: each stage's images, in stage order as dockerfile2llb meets them: the FROM base (expanded in
 * the global scope, matched against earlier stage names), then `COPY --from` and `RUN --mount from=`.
 * Stage references become dependencies; references to the same or later stages are kept as `forward`
 * and only fail when the stage is built (step 5).
 */
import { InvalidReferenceError, parseReference, tryParseReference, type Reference } from "../reference/index.js";
import { invalid, makeUse, stageLabel, type LocatedUse, type StageInfo } from "./model.js";
import { originalSpan } from "./parser.js";
import { parsePlatform } from "./platform.js";
import { expandWord, type GlobalScope } from "./scope.js";
import { copyFromFlag, mountFromFlags } from "./sources.js";
import type { Stages } from "./stages.js";

const WHOLE_VAR_RE = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/;
export const STAGE_INDEX_RE = /^[+-]?\d{1,18}$/;
export const SCRATCH = "scratch";

/** `ref` as a Reference, or the Dockerfile's error at `line` that says why not (`what` says where it came from). */
export function toReference(ref: string, file: string, line: number, what: string): Reference {
  try {
    return parseReference(ref);
  } catch (err) {
    if (!(err instanceof InvalidReferenceError)) throw err;
    // Valid once lowercased: most likely a stage name written in another case, or an uppercase image name.
    const todo = tryParseReference(ref.toLowerCase())
      ? "image names must be lowercase; a stage is only matched by its exact lowercase name"
      : "fix the image reference or the ARG / build arg it comes from";
    throw invalid(file, line, "image-reference", `${what}${JSON.stringify(ref)} is not a valid image reference: ${err.reason}`, todo, { value: ref, referenceReason: err.reason, cause: err });
  }
}

function unsetHint(unmatched: Set<string>): string {
  return unmatched.size > 0
    ? `${[...unmatched].join(", ")} is not set: declare ARG with a default before the first FROM or pass a build arg`
    : "give FROM an image name";
}

/** What the resolution leaves for the later steps. */
export interface Resolution {
  /** FROM uses bound to a global ARG's literal default, by ARG name. */
  bindings: Map<string, LocatedUse[]>;
}

export function resolveStages(stages: Stages, scope: GlobalScope, file: string): Resolution {
  const esc = stages.escapeToken;
  const byName = new Map<string, number>();
  const bindings = new Map<string, LocatedUse[]>();

  const resolveFrom = (stage: StageInfo): void => {
    const line = stage.from.line.startLine;
    const raw = stage.baseWord.value;
    const { result: base, unmatched } = expandWord(raw, scope.env, esc, file, line, `FROM ${raw}`);
    if (base === "") throw invalid(file, line, "empty-image", `FROM ${raw} expands to an empty image name`, unsetHint(unmatched), { value: raw });

    let platformValue: string | undefined;
    if (stage.platformRaw !== undefined && stage.platformRaw !== "") {
      const p = expandWord(stage.platformRaw, scope.env, esc, file, line, `--platform ${stage.platformRaw}`);
      if (p.result === "") throw invalid(file, line, "platform", `--platform=${stage.platformRaw} expands to an empty platform`, unsetHint(p.unmatched), { value: stage.platformRaw });
      const check = parsePlatform(p.result);
      if (typeof check === "string") {
        throw invalid(file, line, "platform", `invalid platform ${JSON.stringify(p.result)} in --platform=${stage.platformRaw}: ${check}`, "use os/arch[/variant], e.g. linux/arm64", { value: p.result });
      }
      platformValue = p.result;
    }

    // dockerfile2llb matches FROM against earlier stage names exactly (names are already lowercase).
    const earlier = byName.get(base);
    if (earlier !== undefined) {
      stage.baseStage = earlier;
      return;
    }
    if (base === SCRATCH) return;
    const reference = toReference(base, file, line, raw === base ? "FROM " : `FROM ${raw} gives `);
    const use = makeUse(base, reference, "from", line, {
      ...(platformValue === undefined ? {} : { platform: platformValue }),
      stage: stageLabel(stage),
    });
    const wordSpan = originalSpan(stage.from.line, stage.baseWord.start, stage.baseWord.end);
    const located: LocatedUse = raw.includes("$")
      ? { use, span: null, ...(wordSpan === null ? {} : { variableSpan: wordSpan }) }
      : { use, span: wordSpan };
    const whole = WHOLE_VAR_RE.exec(raw);
    const name = whole?.[1] ?? whole?.[2];
    const literal = name === undefined ? undefined : scope.sources.get(name)?.literal;
    if (name !== undefined && literal !== undefined) {
      located.binding = { name, span: literal, safe: false, total: 0 };
      const bound = bindings.get(name);
      if (bound) bound.push(located);
      else bindings.set(name, [located]);
    }
    stage.uses.push(located);
  };

  /** A stage reference by name (case-insensitive) or, for COPY, by index; undefined when it names an image. */
  const stageRef = (stage: StageInfo, value: string, allowIndex: boolean, line: number, what: string): number | "scratch" | undefined => {
    let index: number | undefined;
    if (allowIndex && STAGE_INDEX_RE.test(value)) {
      index = Number(value);
      if (index < 0 || index >= stages.stages.length) {
        throw invalid(file, line, "stage-index", `invalid stage index ${value} in ${what}`, `stages are numbered from 0 to ${stages.stages.length - 1}`, { value });
      }
    } else {
      index = stages.stageNames.get(value.toLowerCase());
    }
    if (index === undefined) return value === SCRATCH ? SCRATCH : undefined;
    if (index >= stage.index) stage.forward.push({ line, value, what: `${what} refers to stage ${JSON.stringify(value)} that is not defined before this one` });
    else stage.deps.add(index);
    return index;
  };

  for (const stage of stages.stages) {
    resolveFrom(stage);
    if (stage.name !== undefined) byName.set(stage.name, stage.index);
    for (const command of stage.commands) {
      const line = command.line.startLine;
      if (command.keyword === "copy") {
        const from = copyFromFlag(command, file, esc);
        if (!from || stageRef(stage, from.value, true, line, `COPY --from=${from.value}`) !== undefined) continue;
        const reference = toReference(from.value, file, line, "COPY --from=");
        stage.uses.push({ use: makeUse(from.value, reference, "copy-from", line, { stage: stageLabel(stage) }), span: from.span });
      } else if (command.keyword === "run") {
        mountFromFlags(command, file, (from) => {
          if (stageRef(stage, from.value, false, line, `RUN --mount=...from=${from.value}`) !== undefined) return;
          const reference = toReference(from.value, file, line, "RUN --mount from=");
          stage.uses.push({ use: makeUse(from.value, reference, "mount-from", line, { stage: stageLabel(stage) }), span: from.span });
        });
      }
    }
  }
  return { bindings };
}
