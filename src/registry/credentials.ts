/**
 * Where registry credentials come from: basewarm's config, a Docker config.json (`auths`,
 * `credsStore`, `credHelpers`) and docker-credential-* helpers. Secrets never appear in errors.
 * Files and the environment are given by the caller (the composition root), never read from
 * process.env here.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { BasewarmError } from "../errors.js";
import { redactOpaque } from "../log/redact.js";

export type Credential =
  | { kind: "basic"; username: string; password: string }
  /** Docker's `identitytoken`: an OAuth2 refresh token traded at the token endpoint. */
  | { kind: "identityToken"; username?: string; token: string }
  /** Docker's `registrytoken`: a bearer token sent as-is. */
  | { kind: "registryToken"; token: string };

export interface CredentialSource {
  get(host: string): Promise<Credential | undefined>;
}

/**
 * Runs `docker-credential-<helper> get` for `serverUrl`; resolves to its stdout, or undefined when
 * the helper has no credentials for it. Rejects with BasewarmError(AUTH_FAILED) on failure.
 */
export type HelperRunner = (helper: string, serverUrl: string) => Promise<string | undefined>;

const DOCKER_HUB = "docker.io";
const DOCKER_HUB_ALIASES = new Set([DOCKER_HUB, "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);
/** The key `docker login` uses for Docker Hub, so helpers (desktop, osxkeychain, pass) know it by this name. */
const DOCKER_HUB_SERVER_URL = "https://index.docker.io/v1/";
/** A helper name becomes part of a program name: no path separators or shell characters. */
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** docker-credential-helpers' ErrCredentialsNotFound text; helpers print it and exit 1. */
const NOT_FOUND = /credentials not found/i;

/**
 * Docker config keys may be URLs (`https://index.docker.io/v1/`, `http://host:5000`) or hosts with
 * paths (`host:5000/v2/`); like Docker's ConvertToHostname, keep only the host[:port]. Docker Hub's
 * names are one registry. Host names are case-insensitive.
 */
export function normalizeHost(key: string): string {
  const withoutScheme = key.trim().replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, "");
  const host = (withoutScheme.split("/")[0] ?? "").toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/** What a helper is asked for: Docker Hub by its login URL, everything else by host[:port]. */
function helperServerUrl(host: string): string {
  return host === DOCKER_HUB ? DOCKER_HUB_SERVER_URL : host;
}

export interface SpawnHelperOptions {
  /** The helper's whole environment (PATH finds the program). Default: inherited from this process. */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/** The default runner: spawns `docker-credential-<helper> get` without a shell. */
export function spawnHelperRunner(options: SpawnHelperOptions = {}): HelperRunner {
  const timeout = options.timeoutMs ?? 30_000;
  return (helper, serverUrl) => new Promise((resolve, reject) => {
    const program = `docker-credential-${helper}`;
    const fail = (reason: string) => reject(new BasewarmError("AUTH_FAILED", `credential helper ${program} failed for ${serverUrl}: ${reason}`));
    if (!HELPER_NAME.test(helper)) return fail("invalid helper name (want letters, digits, '.', '_' or '-')");
    const child = execFile(
      program,
      ["get"],
      { ...(options.env ? { env: options.env as NodeJS.ProcessEnv } : {}), timeout, maxBuffer: 1 << 20, windowsHide: true },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        if (NOT_FOUND.test(stdout) || NOT_FOUND.test(stderr)) return resolve(undefined);
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return fail(`${program} is not on PATH; install it or remove it from the credentials configuration`);
        if (code === "EACCES") return fail(`${program} is not executable`);
        if (code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER") return fail("output larger than 1 MiB");
        if ((err as { killed?: boolean }).killed) return fail(`no answer within ${timeout / 1000} s`);
        fail(helperFailureReason(stdout, stderr, err));
      },
    );
    // A helper that exits without reading stdin must not crash us with EPIPE.
    child.stdin?.on("error", () => {});
    child.stdin?.end(serverUrl);
  });
}

/** How much of a helper's own message an error quotes. */
const HELPER_MESSAGE_LIMIT = 120;

/**
 * The exit status, and a hint from the helper's own words: the first line of stderr, else of
 * stdout (where docker-credential-helpers print their errors) unless it looks like JSON. A helper
 * may print its secret there, so the line is redacted (anything shaped like a credential) and cut.
 */
function helperFailureReason(stdout: string, stderr: string, err: Error): string {
  const firstLine = (text: string) => (text.trim().split("\n")[0] ?? "").trim();
  const status = (err as { code?: unknown }).code;
  const signal = (err as { signal?: unknown }).signal;
  const exit = typeof status === "number" ? `exit status ${status}` : `killed by ${String(signal)}`;
  const fromStdout = firstLine(stdout);
  const line = firstLine(stderr) || (/^[[{]/.test(fromStdout) ? "" : fromStdout);
  if (!line) return exit;
  // Control characters could rewrite the terminal line; the message is one plain line.
  const plain = redactOpaque(line.replace(/[\u0000-\u001f\u007f]/g, " "));
  const cut = plain.length > HELPER_MESSAGE_LIMIT ? `${plain.slice(0, HELPER_MESSAGE_LIMIT)}…` : plain;
  return `${exit}: ${cut}`;
}

const helperAnswer = z.object({ Username: z.string().optional(), Secret: z.string().optional() });

async function fromHelper(runner: HelperRunner, helper: string, host: string): Promise<Credential | undefined> {
  const serverUrl = helperServerUrl(host);
  const out = await runner(helper, serverUrl);
  if (out === undefined || out.trim() === "") return undefined;
  let json: unknown;
  try {
    json = JSON.parse(out);
  } catch {
    json = undefined;
  }
  const parsed = helperAnswer.safeParse(json);
  if (!parsed.success) {
    // The output itself is never quoted: it may hold a secret.
    throw new BasewarmError("AUTH_FAILED", `credential helper docker-credential-${helper} returned an unreadable answer for ${serverUrl} (want JSON with Username and Secret)`);
  }
  const { Username: username = "", Secret: secret = "" } = parsed.data;
  if (secret === "") return undefined;
  // Docker's convention: the username "<token>" marks the secret as an identity (refresh) token.
  if (username === "<token>") return { kind: "identityToken", token: secret };
  return { kind: "basic", username, password: secret };
}

/** One lookup per host for the life of the source; failures are not kept, so a retry runs again. */
function cachedByHost(lookup: (host: string) => Promise<Credential | undefined>): CredentialSource {
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

export interface ConfigCredentialEntry {
  username?: string;
  password?: string;
  credentialHelper?: string;
}

/** Static credentials from basewarm's config: host → {username, password} or {credentialHelper}. */
export function configCredentials(entries: Record<string, ConfigCredentialEntry>, options: { helperRunner?: HelperRunner } = {}): CredentialSource {
  const byHost = new Map<string, ConfigCredentialEntry>();
  for (const [key, entry] of Object.entries(entries)) {
    const where = `registries[${JSON.stringify(key)}]`;
    if (entry.credentialHelper !== undefined && !HELPER_NAME.test(entry.credentialHelper)) {
      throw new BasewarmError("CONFIG_INVALID", `${where}.credentialHelper: want a helper name like ecr-login (for docker-credential-ecr-login)`);
    }
    if (entry.credentialHelper === undefined && (entry.username === undefined) !== (entry.password === undefined)) {
      throw new BasewarmError("CONFIG_INVALID", `${where}: give both username and password, or a credentialHelper`);
    }
    byHost.set(normalizeHost(key), entry);
  }
  let runner = options.helperRunner;
  return cachedByHost(async (host) => {
    const entry = byHost.get(host);
    if (!entry) return undefined;
    if (entry.username !== undefined && entry.password !== undefined) return { kind: "basic", username: entry.username, password: entry.password };
    if (entry.credentialHelper !== undefined) return fromHelper((runner ??= spawnHelperRunner()), entry.credentialHelper, host);
    return undefined;
  });
}

// Docker writes more keys (email, serveraddress, proxies, plugins...): unknown keys are ignored.
const authEntrySchema = z.object({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
  registrytoken: z.string().optional(),
});
const dockerConfigSchema = z.object({
  auths: z.record(z.string(), authEntrySchema).optional(),
  credsStore: z.string().optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
});
type DockerConfig = z.infer<typeof dockerConfigSchema>;
type AuthEntry = z.infer<typeof authEntrySchema>;

function readDockerConfig(path: string): DockerConfig | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null; // no Docker config: no credentials
    throw new BasewarmError("CONFIG_INVALID", `${path}: cannot read the Docker config (${(err as Error).message.split("\n")[0]})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    // V8 quotes the text near the error, which may be a password, and words it differently from one
    // Node to the next: say only where, in words of our own.
    const message = (err as Error).message.split("\n")[0] ?? "";
    const position = /position (\d+)/.exec(message)?.[1];
    const detail = position !== undefined ? `at ${lineAndColumn(text, Number(position))}` : /["']/.test(message) ? "(syntax error)" : `(${message})`;
    throw new BasewarmError("CONFIG_INVALID", `${path}: invalid JSON ${detail}; fix the Docker config or point dockerConfig elsewhere`);
  }
  const parsed = dockerConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue ? issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `[${JSON.stringify(String(p))}]`)).join("") : "";
    throw new BasewarmError("CONFIG_INVALID", `${path}: invalid Docker config at ${at || "the top level"}: ${issue?.message ?? "unexpected shape"}`);
  }
  return parsed.data;
}

/** Docker's `auth` field: base64 of `user:password` (the password may contain ':'). */
function decodeAuth(path: string, key: string, auth: string): { username: string; password: string } {
  const compact = auth.trim();
  const fail = () => new BasewarmError("CONFIG_INVALID", `${path}: auths[${JSON.stringify(key)}].auth is not base64 of user:password; run docker login ${normalizeHost(key)} again or fix the entry`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) throw fail();
  const decoded = Buffer.from(compact, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) throw fail();
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function fromAuthEntry(path: string, key: string, entry: AuthEntry): Credential | undefined {
  if (entry.registrytoken) return { kind: "registryToken", token: entry.registrytoken };
  const decoded = entry.auth ? decodeAuth(path, key, entry.auth) : undefined;
  if (entry.identitytoken) {
    const username = entry.username || decoded?.username;
    return { kind: "identityToken", token: entry.identitytoken, ...(username ? { username } : {}) };
  }
  // As in Docker, a decoded `auth` wins over separate username/password fields.
  if (decoded) return { kind: "basic", ...decoded };
  if (entry.username && entry.password !== undefined) return { kind: "basic", username: entry.username, password: entry.password };
  return undefined;
}

/** The entry for `host`: a key spelled exactly as Docker would look it up first, else any key naming the same host. */
function entryFor<T>(record: Record<string, T> | undefined, host: string): [string, T] | undefined {
  const entries = Object.entries(record ?? {});
  const byKey = (wanted: string) => entries.find(([key]) => key === wanted);
  return byKey(helperServerUrl(host)) ?? byKey(host) ?? entries.find(([key]) => normalizeHost(key) === host);
}

/**
 * Credentials from a Docker config.json, looked up as Docker does: the host's `credHelpers` entry,
 * else `credsStore`, else the inline `auths` entry. When a helper has nothing for the host, the
 * inline entry is still tried (Docker would go anonymous). The file is read on first use; a
 * missing file means no credentials.
 */
export function dockerConfigCredentials(options: { configPath: string; helperRunner?: HelperRunner }): CredentialSource {
  const path = options.configPath;
  let config: DockerConfig | null | undefined;
  let runner = options.helperRunner;
  return cachedByHost(async (host) => {
    if (config === undefined) config = readDockerConfig(path);
    if (!config) return undefined;
    const helper = entryFor(config.credHelpers, host)?.[1] ?? config.credsStore;
    if (helper) {
      if (!HELPER_NAME.test(helper)) {
        throw new BasewarmError("CONFIG_INVALID", `${path}: credential helper name ${JSON.stringify(helper)} is invalid (want e.g. desktop for docker-credential-desktop)`);
      }
      const answer = await fromHelper((runner ??= spawnHelperRunner()), helper, host);
      if (answer) return answer;
    }
    const inline = entryFor(config.auths, host);
    return inline ? fromAuthEntry(path, inline[0], inline[1]) : undefined;
  });
}

/** The first source with an answer wins; a source that fails stops the lookup (no silent anonymous fallback). */
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

/** `line L, column C` (1-based) of a 0-based offset in a text. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return `line ${line}, column ${offset - before.lastIndexOf("\n")}`;
}
