/**
 * The composition root for commands: builds the registry client, the state store, the builder and
 * the logger from the validated config and the environment the CLI was given. Nothing below the
 * CLI reads environment variables or files on its own.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { defaultSettings, resolvePath, type LoadedConfig } from "../config/index.js";
import { BasewarmError, isBasewarmError } from "../errors.js";
import type { Logger } from "../log/index.js";
import { RegistryClient, chainCredentials, configCredentials, dockerConfigCredentials, spawnHelperRunner, type CredentialSource } from "../registry/index.js";
import { openStateStore, parseStateSetting, type StateStore } from "../state/index.js";

export type Env = Record<string, string | undefined>;

export function dockerConfigPath(loaded: LoadedConfig | undefined, env: Env): string {
  if (loaded?.config.dockerConfig) return resolvePath(loaded.dir, loaded.config.dockerConfig);
  return join(env["DOCKER_CONFIG"] ?? join(env["HOME"] ?? homedir(), ".docker"), "config.json");
}

export function credentialsFor(loaded: LoadedConfig | undefined, env: Env): CredentialSource {
  const entries: Record<string, { username?: string; password?: string; credentialHelper?: string }> = {};
  for (const [host, entry] of Object.entries(loaded?.config.registries ?? {})) {
    const password = loaded?.secrets[host];
    entries[host] = {
      ...(entry.username === undefined ? {} : { username: entry.username }),
      ...(password === undefined ? {} : { password }),
      ...(entry.credentialHelper === undefined ? {} : { credentialHelper: entry.credentialHelper }),
    };
  }
  // Credential helpers run with the CLI's environment (PATH), passed in rather than read below.
  const helperRunner = spawnHelperRunner({ env });
  return chainCredentials(configCredentials(entries, { helperRunner }), dockerConfigCredentials({ configPath: dockerConfigPath(loaded, env), helperRunner }));
}

export function clientFor(loaded: LoadedConfig | undefined, env: Env, logger: Logger, extraInsecure: string[] = [], signal?: AbortSignal): RegistryClient {
  const insecure = [
    ...Object.entries(loaded?.config.registries ?? {}).filter(([, e]) => e.insecure).map(([host]) => host),
    ...extraInsecure,
  ];
  const concurrency = loaded?.config.concurrency ?? defaultSettings().concurrency;
  return new RegistryClient({
    credentials: credentialsFor(loaded, env),
    insecureHosts: insecure,
    perHostConcurrency: concurrency.perRegistry,
    ...(loaded ? { timeouts: loaded.config.timeouts, hostTimeouts: Object.fromEntries(Object.entries(loaded.config.registries).map(([host, e]) => [host, e.timeouts])) } : {}),
    logger,
    ...(signal ? { signal } : {}),
  });
}

/** How messages name the state: the SQLite file's path, or the database's URL (it has no password). */
export function stateLabel(loaded: LoadedConfig): string {
  const location = parseStateSetting(loaded.config.state, loaded.dir);
  return location.kind === "sqlite" ? location.path : location.label;
}

/** The SQLite file, or undefined when the state is a database. */
export function stateFile(loaded: LoadedConfig): string | undefined {
  const location = parseStateSetting(loaded.config.state, loaded.dir);
  return location.kind === "sqlite" ? location.path : undefined;
}

/** The state the config names; a PostgreSQL password comes from PGPASSWORD or PGPASSWORD_FILE in `env`. */
export function openState(loaded: LoadedConfig, env: Env): Promise<StateStore> {
  return openStateStore(loaded.config.state, { baseDir: loaded.dir, env });
}

/**
 * The state for a command that only reads it (status, history): a SQLite file that does not exist
 * is refused rather than created, so a mistyped `state:` does not pass for "no runs yet".
 */
export async function openRecordedState(loaded: LoadedConfig, env: Env): Promise<StateStore> {
  const file = stateFile(loaded);
  if (file !== undefined && !existsSync(file)) {
    throw new BasewarmError("STATE_EMPTY", `state file ${file} does not exist: no run or mirror has recorded anything there yet; check state: in ${loaded.path}`);
  }
  return openStateStore(loaded.config.state, { baseDir: loaded.dir, env, mustExist: true, readOnly: true }).catch((err: unknown) => {
    // The database's own message plus where the setting is, as for a missing file.
    if (isBasewarmError(err, "STATE_EMPTY")) throw new BasewarmError("STATE_EMPTY", `${err.message}; check state: in ${loaded.path}`);
    throw err;
  });
}
