import { defaultSettings } from "../config/index.js";
import { createLogger, type Logger } from "../log/index.js";

const LEVEL_NAMES: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warning", 50: "error", 60: "fatal" };
const HIDDEN_FIELDS = new Set(["level", "time", "pid", "hostname", "name", "msg"]);

/**
 * Log lines for a person at a terminal: `basewarm: warning: <message> (key=value, ...)`. The JSON
 * line pino wrote (already redacted) is reformatted, so the two forms carry the same fields.
 */
export function humanLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = LEVEL_NAMES[Number(entry["level"])] ?? "log";
  const fields = flatten(Object.entries(entry).filter(([key]) => !HIDDEN_FIELDS.has(key)), "", 0)
    .map(([key, value]) => `${key}=${(typeof value === "string" ? value : JSON.stringify(value)).slice(0, 300)}`);
  return `basewarm: ${level}: ${String(entry["msg"] ?? "")}${fields.length ? ` (${fields.join(", ")})` : ""}\n`;
}

/** Nested objects as dotted keys (`health.outcome=ok`), not JSON inside the line; arrays stay JSON. */
function flatten(entries: [string, unknown][], prefix: string, depth: number): [string, unknown][] {
  return entries.flatMap(([key, value]): [string, unknown][] =>
    value !== null && typeof value === "object" && !Array.isArray(value) && depth < 3 && Object.keys(value).length > 0
      ? flatten(Object.entries(value), `${prefix}${key}.`, depth + 1)
      : [[`${prefix}${key}`, value]]);
}

/**
 * `human`: one readable line per entry on stderr (commands a person runs); otherwise JSON lines
 * (`serve`, `--json`, log collectors).
 */
export function loggerFor(level: string | undefined, debug: boolean, human = false): Logger {
  const resolved = debug ? "debug" : (level ?? defaultSettings().log.level);
  if (!human) return createLogger({ level: resolved });
  return createLogger({ level: resolved, destination: { write: (line: string) => void process.stderr.write(humanLogLine(line)) } });
}
