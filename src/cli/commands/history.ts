import type { Command } from "commander";
import type { CliContext } from "../context.js";

export function registerHistory(program: Command, ctx: CliContext): void {
  program
    .command("history")
    .description("the digests each reference resolved to over time")
    .argument("[ref]", "one image reference (all when omitted)")
    .requiredOption("--config <file>", "basewarm config file (required)")
    .option("--json", "print JSON")
    .action(async (ref: string | undefined, opts: { config: string; json?: boolean }) => {
      const [{ loadConfig }, { parseReference }, { openRecordedState }] = await Promise.all([import("../../config/index.js"), import("../../reference/index.js"), import("../runtime.js")]);
      const normalized = ref === undefined ? undefined : parseReference(ref).toString();
      const loaded = loadConfig(opts.config, { env: ctx.env, secrets: false });
      const state = await openRecordedState(loaded, ctx.env);
      try {
        const rows = await state.history(normalized);
        if (opts.json) {
          ctx.io.stdout(JSON.stringify(rows, null, 2) + "\n");
          return;
        }
        if (rows.length === 0) ctx.io.stdout(normalized ? `no history for ${normalized}\n` : "no history yet\n");
        for (const row of rows) ctx.io.stdout(`${row.ref}  ${row.digest}  first ${row.firstSeen}  last ${row.lastSeen}  (${row.runs} ${row.runs === 1 ? "run" : "runs"})\n`);
      } finally {
        await state.close();
      }
    });
}
