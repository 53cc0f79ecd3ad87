/**
 * One factory for builders: given the build settings and the environment (never read from this
 * process), it writes the registry credentials builders need to a private auth file and returns the
 * builder with a cleanup that removes that file. The file is also removed when the process exits
 * (a second SIGTERM, process.exit), so no temporary credential outlives the run.
 */
import { existsSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { makeTempDir, readRegularFile } from "../files/index.js";
import { createBuilder, type Builder, type BuilderDriver } from "./builders.js";

/** The `build:` block of the config, as the schema filled it in. */
export interface BuildSettings {
  driver: BuilderDriver;
  addr?: string | undefined;
  probeAddr?: string | undefined;
  /** Whether probes run at all (their builder is only preflighted then). */
  probe?: boolean;
  executable?: string | undefined;
  timeoutSeconds: number;
  extraArgs: string[];
  network: "host" | "none" | "default";
}

export interface BuilderContext {
  /** The builder process's environment (PATH, HOME...). */
  env: Record<string, string | undefined>;
  /** Registries reached over plain HTTP. */
  insecureRegistries: string[];
  /** Username and password per registry host, for the auth file. */
  credentials: Record<string, { username: string; password: string }>;
}

export interface BuilderSetup {
  builder: Builder;
  /** Removes the temporary auth file; safe to call twice. */
  cleanup(): void;
}

/** The user's Docker config folder, as the Docker CLI finds it. */
export function userDockerConfigDir(env: Record<string, string | undefined>): string {
  return env["DOCKER_CONFIG"] ?? join(env["HOME"] ?? homedir(), ".docker");
}

type DockerConfigJson = Record<string, unknown> & { auths?: Record<string, unknown>; credHelpers?: Record<string, string>; credsStore?: string };

/**
 * The Docker config the builder sees: the user's own, plus our credentials. Docker asks a
 * `credsStore` for every host and ignores `auths` then, so the store is kept per host (as
 * `credHelpers` for the hosts it already serves) and our hosts use the inline entries.
 */
function mergedDockerConfig(user: DockerConfigJson, auths: Record<string, { auth: string }>): DockerConfigJson {
  const credHelpers = { ...(user.credHelpers ?? {}) };
  if (user.credsStore) {
    for (const host of Object.keys(user.auths ?? {})) credHelpers[host] ??= user.credsStore;
  }
  for (const host of Object.keys(auths)) delete credHelpers[host];
  const { credsStore: _store, ...rest } = user;
  return { ...rest, auths: { ...(user.auths ?? {}), ...auths }, credHelpers };
}

function readUserDockerConfig(dir: string): DockerConfigJson {
  const path = join(dir, "config.json");
  if (!existsSync(path)) return {};
  try {
    const parsed = JSON.parse(readRegularFile(path, { what: "Docker config", maxBytes: 1024 * 1024 }).toString("utf8")) as unknown;
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as DockerConfigJson) : {};
  } catch {
    // An unreadable user config must not stop the build: the builder then sees only our credentials.
    return {};
  }
}

/**
 * Builders read credentials from a Docker-style auth file (buildah --authfile, DOCKER_CONFIG for
 * BuildKit clients), never from the command line. The file lives in a 0700 temp dir, mode 0600.
 * For BuildKit clients that dir is a whole Docker config folder: every entry of the user's folder
 * (cli-plugins with buildx, buildx/ with the current builder, contexts/) is linked in, so pointing
 * DOCKER_CONFIG at it hides nothing of the user's setup.
 */
function writeAuthFile(credentials: BuilderContext["credentials"], userDir: string | undefined): { path?: string; cleanup(): void } {
  const auths: Record<string, { auth: string }> = {};
  for (const [host, { username, password }] of Object.entries(credentials)) {
    auths[host] = { auth: Buffer.from(`${username}:${password}`).toString("base64") };
  }
  if (Object.keys(auths).length === 0) return { cleanup: () => undefined };
  const temp = makeTempDir("basewarm-auth-");
  const dir = temp.path;
  const path = join(dir, "config.json");
  try {
    let config: DockerConfigJson = { auths };
    if (userDir !== undefined && existsSync(userDir)) {
      for (const name of readdirSync(userDir)) {
        if (name !== "config.json") symlinkSync(join(userDir, name), join(dir, name));
      }
      config = mergedDockerConfig(readUserDockerConfig(userDir), auths);
    }
    writeFileSync(path, JSON.stringify(config), { mode: 0o600 });
  } catch (err) {
    temp.remove();
    throw err;
  }
  return { path, cleanup: temp.remove };
}

export function setUpBuilder(settings: BuildSettings, context: BuilderContext): BuilderSetup {
  if (settings.driver === "none") return { builder: createBuilder({ driver: "none", env: context.env }), cleanup: () => undefined };
  // buildah reads only `auths` from --authfile; BuildKit clients get a whole DOCKER_CONFIG folder.
  const auth = writeAuthFile(context.credentials, settings.driver === "buildah" ? undefined : userDockerConfigDir(context.env));
  const builder = createBuilder({
    driver: settings.driver,
    env: context.env,
    insecureRegistries: context.insecureRegistries,
    timeoutMs: settings.timeoutSeconds * 1000,
    extraArgs: settings.extraArgs,
    ...(settings.network === "default" ? {} : { network: settings.network }),
    ...(settings.addr === undefined ? {} : { addr: settings.addr }),
    // A probe builder is only reached (and preflighted) when probes run.
    ...(settings.probeAddr === undefined || settings.probe === false ? {} : { probeAddr: settings.probeAddr }),
    ...(settings.executable === undefined ? {} : { executable: settings.executable }),
    ...(auth.path === undefined ? {} : { authFile: auth.path }),
  });
  return { builder, cleanup: auth.cleanup };
}
