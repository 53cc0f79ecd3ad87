import { pino, type Logger, type DestinationStream } from "pino";

export type { Logger };

/**
 * Paths pino censors wherever they occur in a log object. Registry credentials travel in
 * headers, token responses and config objects; all of them are covered here so a careless
 * `log.debug({ req })` cannot leak a secret.
 */
export const REDACT_PATHS = [
  "authorization",
  "Authorization",
  "password",
  "token",
  "access_token",
  "refresh_token",
  "secret",
  "identitytoken",
  "auth",
  "*.authorization",
  "*.Authorization",
  "*.password",
  "*.token",
  "*.access_token",
  "*.refresh_token",
  "*.secret",
  "*.identitytoken",
  "*.auth",
  "headers.authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
  "*.*.password",
  "*.*.token",
];

export interface LogOptions {
  level?: string;
  destination?: DestinationStream;
}

export function createLogger(options: LogOptions = {}): Logger {
  const opts = {
    level: options.level ?? "info",
    base: { name: "basewarm" },
    redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts, pino.destination(2));
}

/** A logger that drops everything, for library callers and tests that do not care. */
export const silentLogger: Logger = pino({ level: "silent" });
