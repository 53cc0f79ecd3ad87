/**
 * Step 4: whether a `FROM ${VAR}` bound to a global ARG's literal default may be rewritten by
 * rewriting the default: only when every use of the variable in the file is such a FROM and no stage
 * re-declares it (see rewrite.ts).
 */
import type { LocatedUse } from "./model.js";
import type { Stages } from "./stages.js";

export function settleBindings(bindings: ReadonlyMap<string, LocatedUse[]>, stages: Stages): void {
  for (const [name, uses] of bindings) {
    const safe = !stages.stageArgNames.has(name) && (stages.variableUses.get(name) ?? 0) === uses.length;
    for (const use of uses) {
      if (!use.binding) continue;
      use.binding.safe = safe;
      use.binding.total = uses.length;
    }
  }
}
