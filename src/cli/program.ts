import { Command, CommanderError } from "commander";
import { BasewarmError, errorMessage } from "../errors.js";
import { registerCopy } from "./commands/copy.js";
import { registerDockerfileCommands } from "./commands/dockerfile.js";
import { registerMirror } from "./commands/mirror.js";
import { registerWarmCommands } from "./commands/warm.js";
import type { CliContext, CliIo } from "./context.js";
import { loggerFor } from "./runtime.js";

/** Exit statuses: 0 ok, 1 the work had failures, 2 usage or input errors. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

export function buildProgram(ctx: CliContext): Command {
  const { io } = ctx;
  const program = new Command();
  program
    .name("basewarm")
    .description("Keep base images mirrored and a global BuildKit cache warm in a registry you control.")
    .option("--debug", "print stack traces and debug logs")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerCopy(program, ctx);
  registerMirror(program, ctx);
  registerWarmCommands(program, ctx);
  registerDockerfileCommands(program, ctx);
  return program;
}

export async function runCli(argv: string[], io: CliIo = defaultIo, env: Record<string, string | undefined> = process.env): Promise<number> {
  const debug = argv.includes("--debug");
  let exitCode: number = EXIT.ok;
  const ctx: CliContext = {
    io,
    env,
    debug,
    logger: (level) => loggerFor(level, debug),
    setExit: (code) => {
      exitCode = code;
    },
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (debug && err instanceof Error) io.stderr(`${err.stack ?? err.message}\n`);
    io.stderr(`basewarm: ${errorMessage(err)}\n`);
    if (err instanceof BasewarmError) return err.code === "CONFIG_INVALID" || err.code === "USAGE" || err.code === "REF_INVALID" || err.code === "DOCKERFILE_INVALID" || err.code === "FILE_NOT_FOUND" ? EXIT.usage : EXIT.failed;
    return EXIT.failed;
  }
}
