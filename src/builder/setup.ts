/**
 * One factory for builders: given the build settings and the environment (never read from this
 * process), it writes the registry credentials builders need to a private auth file and returns the
 * builder with a cleanup that removes that file. The file is also removed when the process exits
 * (a second SIGTERM, process.exit), so no temporary credential outlives the run.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBuilder, type Builder, type BuilderDriver } from "./builders.js";

/** The `build:` block of the config, as the schema filled it in. */
export interface BuildSettings {
  driver: BuilderDriver;
  addr?: string | undefined;
  executable?: string | undefined;
  timeoutSeconds: number;
  extraArgs: string[];
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

/**
 * Builders read credentials from a Docker-style auth file (buildah --authfile, DOCKER_CONFIG for
 * BuildKit clients), never from the command line. The file lives in a 0700 temp dir, mode 0600.
 */
function writeAuthFile(credentials: BuilderContext["credentials"]): { path?: string; cleanup(): void } {
  const auths: Record<string, { auth: string }> = {};
  for (const [host, { username, password }] of Object.entries(credentials)) {
    auths[host] = { auth: Buffer.from(`${username}:${password}`).toString("base64") };
  }
  if (Object.keys(auths).length === 0) return { cleanup: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), "basewarm-auth-"));
  const path = join(dir, "config.json");
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.once("exit", remove);
  try {
    writeFileSync(path, JSON.stringify({ auths }), { mode: 0o600 });
  } catch (err) {
    remove();
    process.off("exit", remove);
    throw err;
  }
  return {
    path,
    cleanup: () => {
      process.off("exit", remove);
      remove();
    },
  };
}

export function setUpBuilder(settings: BuildSettings, context: BuilderContext): BuilderSetup {
  if (settings.driver === "none") return { builder: createBuilder({ driver: "none", env: context.env }), cleanup: () => undefined };
  const auth = writeAuthFile(context.credentials);
  const builder = createBuilder({
    driver: settings.driver,
    env: context.env,
    insecureRegistries: context.insecureRegistries,
    timeoutMs: settings.timeoutSeconds * 1000,
    extraArgs: settings.extraArgs,
    ...(settings.addr === undefined ? {} : { addr: settings.addr }),
    ...(settings.executable === undefined ? {} : { executable: settings.executable }),
    ...(auth.path === undefined ? {} : { authFile: auth.path }),
  });
  return { builder, cleanup: auth.cleanup };
}
