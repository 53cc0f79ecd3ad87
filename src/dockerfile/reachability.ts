/**
 * Step 5: the stages a build of the target needs (its base stages and COPY/RUN --mount sources,
 * transitively). Walked with an explicit stack: a chain of many thousand stages is a valid Dockerfile.
 * A needed stage that refers forward fails the build, as in BuildKit.
 */
import { invalid, type StageInfo } from "./model.js";

export function reachableStages(stages: readonly StageInfo[], target: number, file: string): Set<number> {
  const reachable = new Set<number>();
  const stack = [target];
  while (stack.length > 0) {
    const index = stack.pop() as number;
    if (reachable.has(index)) continue;
    reachable.add(index);
    const stage = stages[index] as StageInfo;
    if (stage.baseStage !== undefined) stack.push(stage.baseStage);
    for (const dep of stage.deps) stack.push(dep);
  }
  for (const index of [...reachable].sort((a, b) => a - b)) {
    const forward = (stages[index] as StageInfo).forward[0];
    if (forward) throw invalid(file, forward.line, "stage-order", forward.what, "a stage can only use stages defined before it; move that stage up", { value: forward.value });
  }
  return reachable;
}
