/**
 * A warm run's parts. The builder is set up here, not in runtime.ts, so the commands that never
 * build (mirror, plan, status…) do not load the builder modules and node:child_process with them.
 */
import { setUpBuilder, type BuilderSetup } from "../builder/index.js";
import type { LoadedConfig } from "../config/index.js";
import type { Logger } from "../log/index.js";
import { isLoopbackHost } from "../registry/index.js";
import type { RunParts } from "../run/execute.js";
import { clientFor, openState, stateLabel, type Env } from "./runtime.js";

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

/** Registries builders must reach over plain HTTP: loopback hosts and those configured insecure. */
export function insecureRegistries(loaded: LoadedConfig): string[] {
  const { config } = loaded;
  return [...new Set([config.target.registry, ...Object.keys(config.registries)])].filter((h) => isLoopbackHost(h) || config.registries[h]?.insecure === true);
}

export function builderFor(loaded: LoadedConfig, env: Env): BuilderSetup {
  const credentials: Record<string, { username: string; password: string }> = {};
  for (const [host, entry] of Object.entries(loaded.config.registries)) {
    const password = loaded.secrets[host];
    if (entry.username !== undefined && password !== undefined) credentials[host] = { username: entry.username, password };
  }
  return setUpBuilder(loaded.config.build, { env, insecureRegistries: insecureRegistries(loaded), credentials });
}
