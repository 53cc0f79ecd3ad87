/**
 * The `state:` setting: a SQLite file path (relative to the config's directory), or
 * `postgres://user@host:port/database[?sslmode=disable|require|verify-full]`.
 *
 * The URL never carries the password: config files get committed and settings get logged. The
 * password comes from the environment the composition root passes in: libpq's own PGPASSWORD, so
 * psql and basewarm share one Kubernetes Secret, or PGPASSWORD_FILE, a file holding it (the
 * `*_FILE` convention of mounted Docker and Kubernetes secrets). No new config key is needed for it.
 */
import { resolve } from "node:path";
import { BasewarmError } from "../errors.js";

export type SslMode = "disable" | "require" | "verify-full";

export interface PostgresLocation {
  kind: "postgres";
  host: string;
  port: number;
  user: string;
  database: string;
  ssl: SslMode;
  /** `state database postgres://user@host:port/database`: safe to print, it has no password. */
  label: string;
}

export type StateLocation = { kind: "sqlite"; path: string } | PostgresLocation;

const SSL_MODES: readonly SslMode[] = ["disable", "require", "verify-full"];

function refuse(message: string): BasewarmError {
  return new BasewarmError("CONFIG_INVALID", `state: ${message}`);
}

export function parseStateSetting(setting: string, baseDir: string): StateLocation {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(setting)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: "sqlite", path: resolve(baseDir, setting) };
  if (scheme !== "postgres" && scheme !== "postgresql") {
    throw refuse(`${scheme}:// is not a state backend; use a SQLite file path or postgres://user@host:port/database`);
  }
  let url: URL;
  try {
    url = new URL(setting);
  } catch {
    // Not echoed: a malformed URL may still hold a password.
    throw refuse("the postgres:// URL cannot be parsed; write it as postgres://user@host:port/database");
  }
  if (url.password !== "") {
    throw refuse(`the postgres:// URL carries a password; remove it from the config and set PGPASSWORD or PGPASSWORD_FILE instead`);
  }
  const user = decodeURIComponent(url.username);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port === "" ? 5432 : Number(url.port);
  if (user === "" || host === "" || database === "" || database.includes("/")) {
    throw refuse(`postgres://${user}@${url.host}${url.pathname} needs a user, a host and a database: postgres://user@host:port/database`);
  }
  let ssl: SslMode = "disable";
  for (const [key, value] of url.searchParams) {
    if (key !== "sslmode" || !SSL_MODES.includes(value as SslMode)) {
      throw refuse(`URL option ${JSON.stringify(key)} is not understood; the only option is sslmode=${SSL_MODES.join("|")}`);
    }
    ssl = value as SslMode;
  }
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return { kind: "postgres", host, port, user, database, ssl, label: `state database postgres://${url.username}@${shownHost}:${port}/${url.pathname.replace(/^\//, "")}` };
}
