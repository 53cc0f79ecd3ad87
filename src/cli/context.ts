import type { Logger } from "../log/index.js";

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** What every command gets from the composition root. */
export interface CliContext {
  io: CliIo;
  env: Record<string, string | undefined>;
  debug: boolean;
  /**
   * Loaded on first use, so commands that log nothing never load the logger. `human`: readable
   * lines for a person (not with --json, not for serve).
   */
  logger: (level?: string, options?: { human?: boolean }) => Promise<Logger>;
  setExit: (code: number) => void;
}
