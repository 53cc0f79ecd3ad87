import type { LoadedConfig } from "../config/index.js";
import type { Logger } from "../log/index.js";
import type { RunParts } from "../run/execute.js";
import { builderFor, clientFor, openState, stateLabel, type Env } from "./runtime.js";

/** A warm run's parts, made from the config and the CLI's environment. */
export function runParts(loaded: LoadedConfig, env: Env, logger: Logger): RunParts {
  return {
    openState: () => openState(loaded, env),
    stateLabel: stateLabel(loaded),
    createClient: (signal) => clientFor(loaded, env, logger, [], signal),
    setUpBuilder: () => builderFor(loaded, env),
    logger,
  };
}
