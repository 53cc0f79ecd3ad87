/**
 * A warm run with everything around it: the state opened and the run lock held (with heartbeat),
 * the registry client and the builder (with its temporary credentials) created once the lock is
 * taken, and every one of them released afterwards, whatever failed.
 */
import type { BuilderSetup } from "../builder/index.js";
import type { CatalogSource } from "../catalog/index.js";
import type { Config } from "../config/index.js";
import type { ProgressEvent } from "../copy/index.js";
import type { Logger } from "../log/index.js";
import type { RegistryClient } from "../registry/index.js";
import type { RunTrigger, StateStore } from "../state/index.js";
import { cleanUp, withRunLock } from "./lifecycle.js";
import { warmRun, type RunReport } from "./warm-run.js";

/** How to make the run's parts; given by the composition root (the CLI). */
export interface RunParts {
  openState(): Promise<StateStore>;
  /** For messages: the state file or database. */
  stateLabel: string;
  /** The client's requests abort on `signal` (stop or lost lock). */
  createClient(signal: AbortSignal): RegistryClient;
  setUpBuilder(): BuilderSetup;
  logger: Logger;
}

export interface LockedRunOptions {
  config: Config;
  catalog: CatalogSource;
  trigger: RunTrigger;
  shard?: { index: number; count: number };
  /** SIGTERM: no new work starts; the run is recorded as abandoned. */
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

export async function lockedWarmRun(parts: RunParts, options: LockedRunOptions): Promise<RunReport> {
  const { logger } = parts;
  const state = await parts.openState();
  try {
    return await withRunLock(state, { stateLabel: parts.stateLabel, logger, ...(options.signal ? { signal: options.signal } : {}), ...(options.shard ? { shard: options.shard } : {}) }, async (signal) => {
      let client: RegistryClient | undefined;
      let builder: BuilderSetup | undefined;
      try {
        client = parts.createClient(signal);
        builder = parts.setUpBuilder();
        const report = await warmRun({
          config: options.config, catalog: options.catalog, client, state, builder: builder.builder, logger,
          trigger: options.trigger, signal,
          ...(options.shard ? { shard: options.shard } : {}),
          ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        });
        logger.info({ health: { runId: report.runId, outcome: report.outcome, seconds: report.seconds, images: report.mirror.summary, builds: report.builds.length, problems: report.problems.length } }, "warm run finished");
        return report;
      } finally {
        await cleanUp([
          ["remove the builder's temporary credentials", () => builder?.cleanup()],
          ["close registry connections", () => client?.close()],
        ], logger);
      }
    });
  } finally {
    await cleanUp([["close the state", () => state.close()]], logger);
  }
}
