import { Command, CommanderError } from "commander";
import { BasewarmError, errorMessage } from "../errors.js";

/** Exit statuses: 0 ok, 1 the work had failures, 2 usage or input errors. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

export function buildProgram(io: CliIo): Command {
  const program = new Command();
  program
    .name("basewarm")
    .description("Keep base images mirrored and a global BuildKit cache warm in a registry you control.")
    .option("--debug", "print stack traces and debug logs")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  return program;
}

export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const program = buildProgram(io);
  const debug = argv.includes("--debug");
  try {
    await program.parseAsync(argv, { from: "user" });
    return Number(process.exitCode ?? EXIT.ok);
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
