import { Command, CommanderError } from "commander";
import { EXIT, errorMessage, exitCodeFor } from "../errors.js";
import { registerCopy } from "./commands/copy.js";
import { registerDockerfileCommands } from "./commands/dockerfile.js";
import { registerMirror } from "./commands/mirror.js";
import { registerWarmCommands } from "./commands/warm.js";
import type { CliContext, CliIo } from "./context.js";
import { loggerFor } from "./runtime.js";


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
    return exitCodeFor(err);
  }
}
