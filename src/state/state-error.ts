/**
 * Turns backend failures into one-line STATE_ERRORs that name the state (`state file PATH` or
 * `state database postgres://user@host:port/db`, never with a password), say what failed and
 * what to do.
 */
import { BasewarmError } from "../errors.js";

function sqliteHint(code: string): string | undefined {
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return "another process kept the file busy; retry, and check that nothing else writes to it for long";
  }
  if (code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_PERM") || code.startsWith("SQLITE_AUTH")) {
    return "check that the file and its directory exist and are writable by this user";
  }
  if (code.startsWith("SQLITE_CORRUPT")) return "the file is damaged; restore it from a backup or move it away to start afresh";
  if (code.startsWith("SQLITE_FULL") || code.startsWith("SQLITE_IOERR")) return "check free space and the health of the disk";
  return undefined;
}

/** PostgreSQL SQLSTATEs and socket errors (node-postgres passes both as `code`). */
function postgresHint(code: string, message: string): string | undefined {
  if (["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ETIMEDOUT"].includes(code)) return "check that the database server is running and reachable";
  if (code === "ECONNRESET" || code === "EPIPE" || code.startsWith("57P") || /connection terminated|connection.*(closed|ended)/i.test(message)) {
    return "the database server went away; records committed before are kept: run again once it is back";
  }
  if (code === "28P01" || code === "28000") return "check the user in the URL and the password in PGPASSWORD or PGPASSWORD_FILE";
  if (code === "3D000") return "create the database or fix its name in the state: URL";
  if (code === "42501") return "grant the user the rights to create and write tables in the database";
  if (code === "53300") return "the server has no free connection; retry later or raise max_connections";
  return undefined;
}

export function stateError(label: string, what: string, err: unknown): BasewarmError {
  if (err instanceof BasewarmError) return err;
  const code = typeof (err as { code?: unknown } | null)?.code === "string" ? (err as { code: string }).code : "";
  const raw = err instanceof Error ? err.message : String(err);
  const detail = (raw.split("\n")[0] ?? raw).trim() || code || "unknown error";
  // The config points at some other file: the user's to fix (exit 2), like a directory there.
  if (code === "SQLITE_NOTADB") return new BasewarmError("CONFIG_INVALID", `${label} is not a SQLite database; move it away or point state: at another file`, { cause: err });
  const hint = code.startsWith("SQLITE_") ? sqliteHint(code) : postgresHint(code, detail);
  return new BasewarmError("STATE_ERROR", `${label}: cannot ${what}: ${detail}${hint === undefined ? "" : `; ${hint}`}`, { cause: err });
}

export function invalid(label: string, message: string): BasewarmError {
  return new BasewarmError("STATE_ERROR", `${label}: ${message}`);
}
