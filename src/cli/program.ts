import { Command, CommanderError } from "commander";
import { EXIT, errorMessage, exitCodeFor } from "../errors.js";
import { registerBuildkitConfig } from "./commands/buildkit-config.js";
import { registerCopy } from "./commands/copy.js";
import { registerHistory } from "./commands/history.js";
import { registerMirror } from "./commands/mirror.js";
import { registerPlan } from "./commands/plan.js";
import { registerRefs } from "./commands/refs.js";
import { registerRewrite } from "./commands/rewrite.js";
import { registerRun } from "./commands/run.js";
import { registerServe } from "./commands/serve.js";
import { registerStatus } from "./commands/status.js";
import type { CliContext, CliIo } from "./context.js";
import { basewarmVersion } from "./version.js";

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/** Commands register their options here; each loads the core modules it needs only when it runs. */
export function buildProgram(ctx: CliContext, argv: readonly string[] = []): Command {
  const { io } = ctx;
  const program = new Command();
  program
    .name("basewarm")
    .description("Keep base images mirrored and a global BuildKit cache warm in a registry you control.")
    .version(basewarmVersion(), "-V, --version", "print basewarm's version")
    .option("--debug", "print stack traces and debug logs")
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    // commander's own errors ("error: unknown option") speak with basewarm's voice, like every other
    // one-line error, and an option given before its command says where it goes.
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (text, write) => write(usageLine(text, program, argv)) });
  registerRun(program, ctx);
  registerServe(program, ctx);
  registerMirror(program, ctx);
  registerCopy(program, ctx);
  registerRefs(program, ctx);
  registerRewrite(program, ctx);
  registerPlan(program, ctx);
  registerStatus(program, ctx);
  registerHistory(program, ctx);
  registerBuildkitConfig(program, ctx);
  return program;
}

export async function runCli(argv: string[], io: CliIo = defaultIo, env: Record<string, string | undefined> = process.env): Promise<number> {
  const debug = argv.includes("--debug");
  let exitCode: number = EXIT.ok;
  const ctx: CliContext = {
    io,
    env,
    debug,
    logger: async (level, options) => (await import("./logging.js")).loggerFor(level, debug, options?.human ?? false),
    setExit: (code) => {
      exitCode = code;
    },
  };
  const program = buildProgram(ctx, argv);
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

/**
 * commander's error in basewarm's voice. An option of a command given before any command
 * (`basewarm --config F run`, a common slip) also says where it goes.
 */
function usageLine(text: string, program: Command, argv: readonly string[]): string {
  const line = text.replace(/^error: /, "basewarm: ");
  const option = /^basewarm: unknown option '(--[a-z-]+)/.exec(line)?.[1];
  if (option === undefined) return line;
  const commandAt = argv.findIndex((arg) => program.commands.some((c) => c.name() === arg));
  const optionAt = argv.findIndex((arg) => arg === option || arg.startsWith(`${option}=`));
  const belongsToCommand = program.commands.some((c) => c.options.some((o) => o.long === option));
  return belongsToCommand && optionAt !== -1 && (commandAt === -1 || optionAt < commandAt)
    ? `${line.trimEnd()}; options go after the command: basewarm COMMAND ${option} ...\n`
    : line;
}
