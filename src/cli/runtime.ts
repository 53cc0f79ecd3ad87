/**
 * The composition root for commands: builds the registry client, state store and logger from
 * the validated config and the process environment. Nothing below the CLI reads env or files.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { resolvePath, type LoadedConfig } from "../config/index.js";
import { createLogger, type Logger } from "../log/index.js";
import { RegistryClient, chainCredentials, configCredentials, dockerConfigCredentials, spawnHelperRunner, type CredentialSource } from "../registry/index.js";

export interface Environment {
  env: Record<string, string | undefined>;
  debug: boolean;
}

export function loggerFor(level: string | undefined, debug: boolean): Logger {
  return createLogger({ level: debug ? "debug" : (level ?? "warn") });
}

export function dockerConfigPath(loaded: LoadedConfig | undefined, env: Record<string, string | undefined>): string {
  if (loaded?.config.dockerConfig) return resolvePath(loaded.dir, loaded.config.dockerConfig);
  return join(env["DOCKER_CONFIG"] ?? join(env["HOME"] ?? homedir(), ".docker"), "config.json");
}

export function credentialsFor(loaded: LoadedConfig | undefined, env: Record<string, string | undefined>): CredentialSource {
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

export function clientFor(loaded: LoadedConfig | undefined, env: Record<string, string | undefined>, logger: Logger, extraInsecure: string[] = []): RegistryClient {
  const insecure = [
    ...Object.entries(loaded?.config.registries ?? {}).filter(([, e]) => e.insecure).map(([host]) => host),
    ...extraInsecure,
  ];
  return new RegistryClient({
    credentials: credentialsFor(loaded, env),
    insecureHosts: insecure,
    perHostConcurrency: loaded?.config.concurrency.perRegistry ?? 10,
    ...(loaded ? { timeouts: loaded.config.timeouts, hostTimeouts: Object.fromEntries(Object.entries(loaded.config.registries).map(([host, e]) => [host, e.timeouts])) } : {}),
    logger,
  });
}
