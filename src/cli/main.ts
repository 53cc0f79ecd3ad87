#!/usr/bin/env node

/**
 * A reader that goes away (`basewarm status | head -1`) is the reader's choice: the rest of the
 * output is dropped and the command finishes its work and cleanup, instead of dying on an
 * unhandled EPIPE with a stack trace. Any other write failure (a full disk under `> file`) is
 * said in one line and fails the command.
 */
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED") return;
    process.exitCode = Math.max(Number(process.exitCode ?? 0), 1);
    if (stream !== process.stderr && process.stderr.writable) {
      process.stderr.write(`basewarm: cannot write the output: ${err.message}; check where standard output goes\n`);
    }
  });
}

// `--version` answers before anything else is loaded: monitoring and wrappers call it often.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  const { basewarmVersion } = await import("./version.js");
  process.stdout.write(`${basewarmVersion()}\n`);
} else {
  const { loadProgram } = await import("./program-loader.js");
  const { runCli, codeCache } = await loadProgram();
  // Whether start-up used the build's compiled code: a Node flag or another Node turns it off quietly.
  if (args.includes("--debug")) process.stderr.write(`basewarm: debug: code cache ${codeCache}\n`);
  const code = await runCli(args);
  // A failed write of the output (set above) stays a failure whatever the command thought.
  process.exitCode = Math.max(code, Number(process.exitCode ?? 0));
}
