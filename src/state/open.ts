/** Opens the state the `state:` setting names: a SQLite file or a PostgreSQL database. */
import { readFile } from "node:fs/promises";
import { BasewarmError } from "../errors.js";
import { parseStateSetting, type PostgresLocation } from "./setting.js";
import { SqliteStateStore } from "./sqlite.js";
import type { StateStore } from "./store.js";

export interface OpenStateOptions {
  /** The config file's directory: a relative SQLite path is resolved against it. */
  baseDir: string;
  /** Where PGPASSWORD / PGPASSWORD_FILE are read from (the composition root passes process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Clock for every timestamp the store writes (tests pin it). */
  now?: () => Date;
  /** For readers (status, history): refuse a state nothing has written yet instead of creating it. */
  mustExist?: boolean;
  /** For readers: a SQLite file this user may not write is read without writing (see StateOptions). */
  readOnly?: boolean;
}

/** The password for a PostgreSQL state, from PGPASSWORD or the file PGPASSWORD_FILE names; undefined when neither is set. */
async function postgresPassword(location: PostgresLocation, env: Readonly<Record<string, string | undefined>>): Promise<string | undefined> {
  const direct = env["PGPASSWORD"];
  if (direct !== undefined && direct !== "") return direct;
  const file = env["PGPASSWORD_FILE"];
  if (file === undefined || file === "") return undefined;
  let content: string;
  try {
    content = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why = code === "ENOENT" ? "it does not exist" : code === "EACCES" || code === "EPERM" ? "permission denied" : `${String(code ?? "")} ${err instanceof Error ? err.message.split("\n")[0] : ""}`.trim();
    // The operator's setup, not the database: a usage error (exit 2), like a missing config file.
    throw new BasewarmError(code === "ENOENT" ? "FILE_NOT_FOUND" : "FILE_UNREADABLE", `${location.label}: cannot read the password file PGPASSWORD_FILE=${file}: ${why}; mount the secret there or fix the variable`);
  }
  // Secret files usually end with a newline that is not part of the password.
  const password = content.replace(/\r?\n$/, "");
  if (password === "") throw new BasewarmError("CONFIG_INVALID", `${location.label}: the password file PGPASSWORD_FILE=${file} is empty; put the password in it`);
  return password;
}

export async function openStateStore(setting: string, options: OpenStateOptions): Promise<StateStore> {
  const location = parseStateSetting(setting, options.baseDir);
  if (location.kind === "sqlite") return SqliteStateStore.open({ path: location.path, ...(options.now ? { now: options.now } : {}), ...(options.readOnly ? { readOnly: true } : {}) });
  const password = await postgresPassword(location, options.env ?? {});
  // Loaded only here: pg (and, through it, Node's own undici) would cost a SQLite run ~20 ms of start-up.
  const { PostgresStateStore } = await import("./postgres.js");
  return PostgresStateStore.open({ location, ...(password === undefined ? {} : { password }), ...(options.now ? { now: options.now } : {}), ...(options.mustExist ? { mustExist: true } : {}) });
}
