/** Turns SQLite failures into one-line STATE_ERRORs that say which file, what failed and what to do. */
import { BasewarmError } from "../errors.js";

function hintFor(code: string): string | undefined {
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return "another process kept the file busy; retry, and check that nothing else writes to it for long";
  }
  if (code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_PERM") || code.startsWith("SQLITE_AUTH")) {
    return "check that the file and its directory exist and are writable by this user";
  }
  if (code === "SQLITE_NOTADB") return "it is not a SQLite database; move it away or point state: at another file";
  if (code.startsWith("SQLITE_CORRUPT")) return "the file is damaged; restore it from a backup or move it away to start afresh";
  if (code.startsWith("SQLITE_FULL") || code.startsWith("SQLITE_IOERR")) return "check free space and the health of the disk";
  return undefined;
}

export function stateError(path: string, what: string, err: unknown): BasewarmError {
  if (err instanceof BasewarmError) return err;
  const code = typeof (err as { code?: unknown } | null)?.code === "string" ? (err as { code: string }).code : "";
  const raw = err instanceof Error ? err.message : String(err);
  const detail = (raw.split("\n")[0] ?? raw).trim();
  const hint = hintFor(code);
  return new BasewarmError("STATE_ERROR", `state file ${path}: cannot ${what}: ${detail}${hint === undefined ? "" : `; ${hint}`}`, { cause: err });
}

export function invalid(path: string, message: string): BasewarmError {
  return new BasewarmError("STATE_ERROR", `state file ${path}: ${message}`);
}
