import { defaultSettings } from "../config/index.js";
import { createLogger, type Logger } from "../log/index.js";

export function loggerFor(level: string | undefined, debug: boolean): Logger {
  return createLogger({ level: debug ? "debug" : (level ?? defaultSettings().log.level) });
}
