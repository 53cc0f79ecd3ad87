import { readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { isMap, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { BasewarmError } from "../errors.js";
import { configSchema, type Config } from "./schema.js";

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the config file. */
  path: string;
  /** Directory relative paths in the config are resolved against. */
  dir: string;
  /** Resolved registry passwords (from password, passwordEnv or passwordFile), by host. */
  secrets: Record<string, string>;
}

export interface LoadOptions {
  /** Environment for `passwordEnv`; passed in so no module reads process.env on its own. */
  env?: Record<string, string | undefined>;
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
    throw fail(path, line, `invalid YAML: ${yamlError.message.split("\n")[0]}`);
  }
  const raw = doc.toJS() as unknown;
  if (raw === null || raw === undefined) throw fail(path, undefined, "the file is empty; see config/basewarm.example.yaml");
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const first = issues[0]!;
    const keys = first.code === "unrecognized_keys" ? first.keys : [];
    const issuePath = [...first.path, ...(keys.length ? [keys[0]!] : [])] as (string | number)[];
    const line = lineOf(doc, counter, issuePath);
    const what = first.code === "unrecognized_keys" ? `unknown key${keys.length > 1 ? "s" : ""} ${keys.map((k) => JSON.stringify(k)).join(", ")}` : first.message;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? "s" : ""})` : "";
    throw fail(path, line, `${formatPath(issuePath)}: ${what}${more}`);
  }
  const config = parsed.data;
  const dir = dirname(path);
  const secrets: Record<string, string> = {};
  for (const [host, entry] of Object.entries(config.registries)) {
    if (entry.password !== undefined) secrets[host] = entry.password;
    if (entry.passwordEnv !== undefined) {
      const value = options.env?.[entry.passwordEnv];
      if (value === undefined) throw fail(path, lineOf(doc, counter, ["registries", host, "passwordEnv"]), `registries.${host}.passwordEnv: environment variable ${entry.passwordEnv} is not set`);
      secrets[host] = value;
    }
    if (entry.passwordFile !== undefined) {
      const file = resolvePath(dir, entry.passwordFile);
      try {
        secrets[host] = readFileSync(file, "utf8").replace(/\r?\n$/, "");
      } catch {
        throw fail(path, lineOf(doc, counter, ["registries", host, "passwordFile"]), `registries.${host}.passwordFile: cannot read ${file}`);
      }
    }
    if ((entry.username === undefined) !== (secrets[host] === undefined) && entry.credentialHelper === undefined) {
      throw fail(path, lineOf(doc, counter, ["registries", host]), `registries.${host}: give both username and a password (password, passwordEnv or passwordFile), or a credentialHelper`);
    }
  }
  return { config, path, dir, secrets };
}

export function loadConfig(path: string, options: LoadOptions = {}): LoadedConfig {
  const absolute = resolve(path);
  let text: string;
  try {
    if (statSync(absolute).isDirectory()) throw new BasewarmError("CONFIG_INVALID", `${absolute} is a directory; pass the config file itself with --config`);
    text = readFileSync(absolute, "utf8");
  } catch (err) {
    if (err instanceof BasewarmError) throw err;
    throw new BasewarmError("FILE_NOT_FOUND", `config file ${absolute} not found; pass an existing file with --config (see config/basewarm.example.yaml)`);
  }
  return parseConfig(text, absolute, options);
}

/** Resolve a path from the config against the config file's directory. */
export function resolvePath(dir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dir, path);
}
