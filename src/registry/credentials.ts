/**
 * Where registry credentials come from: basewarm's config, a Docker config.json (`auths`,
 * `credsStore`, `credHelpers`) and docker-credential-* helpers. Secrets never appear in errors.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { BasewarmError } from "../errors.js";

export type Credential =
  | { kind: "basic"; username: string; password: string }
  | { kind: "identityToken"; username?: string; token: string }
  | { kind: "registryToken"; token: string };

export interface CredentialSource {
  get(host: string): Promise<Credential | undefined>;
}

/** Runs `docker-credential-<helper> get` with `host` on stdin; undefined when it has nothing. */
export type HelperRunner = (helper: string, host: string) => Promise<string | undefined>;

const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

/** Docker config keys may be URLs (`https://index.docker.io/v1/`) or hosts with paths. */
export function normalizeHost(key: string): string {
  let host = key.trim().toLowerCase().replace(/^[a-z]+:\/\//, "");
  host = host.split("/")[0] ?? host;
  return DOCKER_HUB_ALIASES.has(host) ? "docker.io" : host;
}

/** The default runner: spawn the helper without a shell; PATH comes from `env`. */
export function spawnHelperRunner(env: Record<string, string | undefined> = process.env): HelperRunner {
  return (helper, host) => new Promise((resolve, reject) => {
    const program = `docker-credential-${helper}`;
    const child = execFile(program, ["get"], { env: env as NodeJS.ProcessEnv, timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const text = `${stdout}\n${stderr}`;
      if (/credentials not found/i.test(text)) return resolve(undefined);
      const code = (err as { code?: unknown }).code;
      const firstLine = (String(stderr).trim().split("\n")[0] ?? "").slice(0, 200);
      const reason = code === "ENOENT" ? `${program} is not on PATH` : firstLine || `exit status ${String(code)}`;
      reject(new BasewarmError("AUTH_FAILED", `credential helper ${program} failed for ${host}: ${reason}`));
    });
    child.stdin?.end(host);
  });
}

async function fromHelper(runner: HelperRunner, helper: string, host: string): Promise<Credential | undefined> {
  const out = await runner(helper, host);
  if (out === undefined || out.trim() === "") return undefined;
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(out) as typeof parsed;
  } catch {
    throw new BasewarmError("AUTH_FAILED", `credential helper docker-credential-${helper} returned invalid JSON for ${host}`);
  }
  const username = typeof parsed.Username === "string" ? parsed.Username : "";
  const secret = typeof parsed.Secret === "string" ? parsed.Secret : "";
  if (!secret) return undefined;
  // Docker's convention: username "<token>" means the secret is an identity (refresh) token.
  if (username === "<token>") return { kind: "identityToken", token: secret };
  return { kind: "basic", username, password: secret };
}

function cached(lookup: (host: string) => Promise<Credential | undefined>): CredentialSource {
  const memo = new Map<string, Promise<Credential | undefined>>();
  return {
    get(host) {
      const key = normalizeHost(host);
      let hit = memo.get(key);
      if (!hit) {
        hit = lookup(key);
        memo.set(key, hit);
        hit.catch(() => memo.delete(key));
      }
      return hit;
    },
  };
}

export function configCredentials(
  entries: Record<string, { username?: string; password?: string; credentialHelper?: string }>,
  options: { helperRunner?: HelperRunner } = {},
): CredentialSource {
  const byHost = new Map(Object.entries(entries).map(([host, entry]) => [normalizeHost(host), entry]));
  const runner = options.helperRunner ?? spawnHelperRunner();
  return cached(async (host) => {
    const entry = byHost.get(host);
    if (!entry) return undefined;
    if (entry.username !== undefined && entry.password !== undefined) return { kind: "basic", username: entry.username, password: entry.password };
    if (entry.credentialHelper) return fromHelper(runner, entry.credentialHelper, host);
    return undefined;
  });
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

export function dockerConfigCredentials(options: { configPath: string; helperRunner?: HelperRunner }): CredentialSource {
  const runner = options.helperRunner ?? spawnHelperRunner();
  let file: DockerConfigFile | null | undefined;
  const load = (): DockerConfigFile | null => {
    if (file !== undefined) return file;
    let text: string;
    try {
      text = readFileSync(options.configPath, "utf8");
    } catch {
      file = null; // no docker config: no credentials, not an error
      return file;
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      file = typeof parsed === "object" && parsed !== null ? (parsed as DockerConfigFile) : {};
    } catch (err) {
      throw new BasewarmError("CONFIG_INVALID", `${options.configPath}: invalid JSON (${(err as Error).message.split("\n")[0]}); fix or remove the Docker config file`);
    }
    return file;
  };
  return cached(async (host) => {
    const config = load();
    if (!config) return undefined;
    const helpers = Object.entries(config.credHelpers ?? {}).find(([key]) => normalizeHost(key) === host);
    if (helpers) return fromHelper(runner, helpers[1], host === "docker.io" ? "https://index.docker.io/v1/" : host);
    const entry = Object.entries(config.auths ?? {}).find(([key]) => normalizeHost(key) === host)?.[1];
    if (entry) {
      if (entry.registrytoken) return { kind: "registryToken", token: entry.registrytoken };
      if (entry.identitytoken) return { kind: "identityToken", token: entry.identitytoken, ...(entry.username ? { username: entry.username } : {}) };
      if (entry.username && entry.password !== undefined) return { kind: "basic", username: entry.username, password: entry.password };
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        if (colon <= 0) throw new BasewarmError("CONFIG_INVALID", `${options.configPath}: auths["${host}"].auth does not decode to user:password; log in again (docker login ${host})`);
        return { kind: "basic", username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
    }
    if (config.credsStore) return fromHelper(runner, config.credsStore, host === "docker.io" ? "https://index.docker.io/v1/" : host);
    return undefined;
  });
}

export function chainCredentials(...sources: CredentialSource[]): CredentialSource {
  return {
    async get(host) {
      for (const source of sources) {
        const credential = await source.get(host);
        if (credential) return credential;
      }
      return undefined;
    },
  };
}
