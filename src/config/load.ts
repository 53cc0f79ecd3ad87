import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { isAlias, isMap, isSeq, LineCounter, parseDocument, visit, type Node } from "yaml";
import type { z } from "zod";
import { BasewarmError, isBasewarmError } from "../errors.js";
import { emptyPath, readRegularFile, resolvePath } from "../files/index.js";
import { configSchema, type Config } from "./schema.js";

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the config file. */
  path: string;
  /** Directory relative paths in the config are resolved against. */
  dir: string;
  /** Resolved registry passwords (from password, passwordEnv or passwordFile), by host. */
  secrets: Record<string, string>;
  /** The line of a setting (`["catalog", 2]`), for messages found after loading (catalog problems). */
  lineOf?: (path: (string | number)[]) => number | undefined;
}

/** A config is a page of YAML; anything near this size is a mistake (or /dev/zero). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Password files hold one secret. */
const MAX_PASSWORD_FILE_BYTES = 64 * 1024;
/** YAML aliases expand; cap them so an alias bomb is a config error, not an out-of-memory. */
const MAX_YAML_ALIASES = 100;

export interface LoadOptions {
  /** Environment for `passwordEnv`; passed in so no module reads process.env on its own. */
  env?: Record<string, string | undefined>;
  /**
   * False for commands that never reach a registry (status, history, plan --offline): registry
   * passwords are then not read, so a monitoring job needs no registry secret to read the state.
   */
  secrets?: boolean;
}

function fail(path: string, line: number | undefined, message: string): BasewarmError {
  return new BasewarmError("CONFIG_INVALID", `${path}${line ? `:${line}` : ""}: ${message}`);
}

/** The 1-based line of the YAML node at `path` (or its nearest existing parent). */
function lineOf(doc: ReturnType<typeof parseDocument>, counter: LineCounter, path: (string | number)[]): number | undefined {
  let node: unknown = doc.contents;
  let best: number | undefined;
  const lineFor = (n: unknown) => {
    const range = (n as Node | undefined)?.range;
    return range ? counter.linePos(range[0]).line : undefined;
  };
  best = lineFor(node);
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown } | null)?.value ?? p.key) === String(key));
      if (!pair) break;
      best = lineFor(pair.key) ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof key === "number") {
      node = node.items[key];
      best = lineFor(node) ?? best;
    } else {
      break;
    }
  }
  return best;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`)).join("") || "(top level)";
}

export function parseConfig(text: string, path: string, options: LoadOptions = {}): LoadedConfig {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0]?.line ?? counter.linePos(yamlError.pos[0]).line;
    // The library's own words for this one name its API, which a user cannot call.
    const what = yamlError.code === "MULTIPLE_DOCS" ? "a second document starts here (---); a config is one document: remove the line or split the file" : yamlError.message.split("\n")[0];
    throw fail(path, line, `invalid YAML: ${what}`);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) as unknown;
  } catch (err) {
    // The yaml library's own message quotes the alias name, which may be a secret written
    // unquoted (`password: *x7!`): say where, never what.
    throw fail(path, firstAliasLine(doc, counter), `invalid YAML: an alias (a value starting with "*") that does not resolve, or too many aliases (${(err as Error).name}); quote values that begin with * or &`);
  }
  if (raw === null || raw === undefined) throw fail(path, undefined, "the file is empty; see config/basewarm.example.yaml");
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const first = issues[0]!;
    const keys = first.code === "unrecognized_keys" ? first.keys : [];
    const issuePath = [...first.path, ...(keys.length ? [keys[0]!] : [])] as (string | number)[];
    const line = lineOf(doc, counter, issuePath);
    const what = first.code === "unrecognized_keys" ? `unknown key${keys.length > 1 ? "s" : ""} ${keys.map((k) => JSON.stringify(k)).join(", ")}` : issueText(first);
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})` : "";
    throw fail(path, line, `${formatPath(issuePath)}: ${what}${more}`);
  }
  const config = parsed.data;
  const dir = dirname(path);
  const secrets: Record<string, string> = {};
  const lines = (at: (string | number)[]) => lineOf(doc, counter, at);
  if (options.secrets === false) return { config, path, dir, secrets, lineOf: lines };
  for (const [host, entry] of Object.entries(config.registries)) {
    if (entry.password !== undefined) secrets[host] = entry.password;
    if (entry.passwordEnv !== undefined) {
      const value = options.env?.[entry.passwordEnv];
      if (value === undefined) throw fail(path, lineOf(doc, counter, ["registries", host, "passwordEnv"]), `registries.${host}.passwordEnv: environment variable ${entry.passwordEnv} is not set`);
      // An empty password is a Secret that was not filled in: say so now, not as a 401 mid-run.
      if (value === "") throw fail(path, lineOf(doc, counter, ["registries", host, "passwordEnv"]), `registries.${host}.passwordEnv: environment variable ${entry.passwordEnv} is empty; set it to the password`);
      secrets[host] = value;
    }
    if (entry.passwordFile !== undefined) {
      const file = resolvePath(dir, entry.passwordFile);
      try {
        const password = readRegularFile(file, { what: "password file", maxBytes: MAX_PASSWORD_FILE_BYTES }).toString("utf8").replace(/\r?\n$/, "");
        if (password === "") throw new BasewarmError("CONFIG_INVALID", `password file ${file} is empty; write the password in it`);
        secrets[host] = password;
      } catch (err) {
        const reason = isBasewarmError(err) ? err.message : String(err);
        throw fail(path, lineOf(doc, counter, ["registries", host, "passwordFile"]), `registries.${host}.passwordFile: ${reason}`);
      }
    }
    if ((entry.username === undefined) !== (secrets[host] === undefined) && entry.credentialHelper === undefined) {
      throw fail(path, lineOf(doc, counter, ["registries", host]), `registries.${host}: give both username and a password (password, passwordEnv or passwordFile), or a credentialHelper`);
    }
  }
  // A Docker config named here that is not there would leave every registry anonymous, and the
  // first 401 would look like bad credentials: say so now. (The default one may well be missing.)
  if (config.dockerConfig !== undefined) {
    const file = resolvePath(dir, config.dockerConfig);
    if (!existsSync(file)) throw fail(path, lines(["dockerConfig"]), `dockerConfig: ${file} does not exist; fix the path, or remove dockerConfig to use $DOCKER_CONFIG or ~/.docker/config.json`);
  }
  return { config, path, dir, secrets, lineOf: lines };
}

/**
 * zod's words for one issue, with what a YAML writer needs added: the reason a record key was
 * refused (zod only says "Invalid key"), that YAML reads an unquoted 20 or true as a number or
 * boolean where text is wanted, and how YAML writes a boolean (yes/no are text in YAML 1.2).
 */
function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_key") return issue.issues[0]?.message ?? issue.message;
  if (issue.code === "invalid_type" && issue.expected === "string" && /received (number|boolean)/.test(issue.message)) {
    return `${issue.message}; YAML reads an unquoted 20 or true as a number or boolean: quote it ("20")`;
  }
  if (issue.code === "invalid_type" && issue.expected === "boolean") return `${issue.message}; write true or false`;
  return issue.message;
}

export function loadConfig(path: string, options: LoadOptions = {}): LoadedConfig {
  const read = { what: "config file", maxBytes: MAX_CONFIG_BYTES, hint: "pass an existing file with --config (see config/basewarm.example.yaml)" };
  // resolve("") is the working directory: an empty path must not become "… is a directory".
  if (path.trim() === "") throw emptyPath(read);
  const absolute = resolve(path);
  const bytes = readRegularFile(absolute, read);
  return parseConfig(bytes.toString("utf8"), absolute, options);
}

/** The line of the first alias node, for an alias error that must not quote the alias. */
function firstAliasLine(doc: ReturnType<typeof parseDocument>, counter: LineCounter): number | undefined {
  let line: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (isAlias(node) && node.range) line = counter.linePos(node.range[0]).line;
      return visit.BREAK;
    },
  });
  return line;
}

