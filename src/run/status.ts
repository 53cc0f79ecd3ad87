/** `basewarm status`: what the state knows about recent runs, their failures and stale references. */
import type { ImageRow, RunRow, StateStore, BuildRecord } from "../state/index.js";

export interface StateStatus {
  runs: RunRow[];
  lastRunFailures: { images: ImageRow[]; builds: BuildRecord[] };
  stale: { ref: string; lastResolved: string }[];
}

export async function stateStatus(state: StateStore, options: { staleBefore: Date; runs?: number }): Promise<StateStatus> {
  const runs = await state.recentRuns(options.runs ?? 10);
  const last = runs[0];
  return {
    runs,
    lastRunFailures: last ? await state.failuresOfRun(last.id) : { images: [], builds: [] },
    stale: await state.staleRefs(options.staleBefore),
  };
}
