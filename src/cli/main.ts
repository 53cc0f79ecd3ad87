#!/usr/bin/env node
// `--version` answers before anything else is loaded: monitoring and wrappers call it often.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  const { basewarmVersion } = await import("./version.js");
  process.stdout.write(`${basewarmVersion()}\n`);
} else {
  const { runCli } = await import("./program.js");
  process.exitCode = await runCli(args);
}
