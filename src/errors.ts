/**
 * One error hierarchy for the whole program. Callers branch on `code`, never on message text;
 * the CLI prints `message` as one line and maps the code to an exit status.
 */
export type ErrorCode =
  | "REF_INVALID"
  | "CONFIG_INVALID"
  | "DOCKERFILE_INVALID"
  | "FILE_NOT_FOUND"
  /** The state names a place nothing has recorded in yet (no file, no tables): readers tell it from a missing secret. */
  | "STATE_EMPTY"
  | "FILE_UNREADABLE"
  | "FILE_UNWRITABLE"
  | "LAYOUT_INVALID"
  | "AUTH_DENIED"
  | "AUTH_FAILED"
  | "NOT_FOUND"
  | "MANIFEST_INVALID"
  | "MANIFEST_TOO_LARGE"
  | "DIGEST_MISMATCH"
  | "REGISTRY_ERROR"
  | "NETWORK_ERROR"
  | "TIMEOUT"
  | "RATE_LIMITED"
  | "BUILD_FAILED"
  | "BUILDER_INCOMPATIBLE"
  | "CACHE_INVALID"
  | "LOCKED"
  | "STATE_ERROR"
  | "USAGE"
  | "ABORTED";

export class BasewarmError extends Error {
  readonly code: ErrorCode;
  /** Whether retrying the same operation may succeed (transport faults, 429, 5xx). */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BasewarmError";
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

export function isBasewarmError(err: unknown, code?: ErrorCode): err is BasewarmError {
  return err instanceof BasewarmError && (code === undefined || err.code === code);
}

/** A one-line description of any thrown value, for reports and logs. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message.split("\n")[0] ?? err.message;
  return String(err);
}

/** Exit statuses: 0 ok, 1 the work had failures, 2 usage or input errors, 3 the run lock is held. */
export const EXIT = { ok: 0, failed: 1, usage: 2, locked: 3 } as const;

/** Codes a user causes with their input (config, arguments, files): exit 2, nothing was attempted. */
const USER_ERROR_CODES: ReadonlySet<ErrorCode> = new Set(["CONFIG_INVALID", "USAGE", "REF_INVALID", "DOCKERFILE_INVALID", "FILE_NOT_FOUND", "STATE_EMPTY", "FILE_UNREADABLE", "FILE_UNWRITABLE", "LAYOUT_INVALID"]);

/** The process exit status for an error that ended a command. */
export function exitCodeFor(err: unknown): number {
  return err instanceof BasewarmError ? exitCodeForCode(err.code) : EXIT.failed;
}

/** The exit status for an error code a result carries (a copy reports its failure, not throws it). */
export function exitCodeForCode(code: string | undefined): number {
  if (code === "LOCKED") return EXIT.locked;
  return USER_ERROR_CODES.has(code as ErrorCode) ? EXIT.usage : EXIT.failed;
}
