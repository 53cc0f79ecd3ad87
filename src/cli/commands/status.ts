import type { Command } from "commander";
import { BasewarmError } from "../../errors.js";
import type { CliContext } from "../context.js";

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description("the last runs, what failed, and which references were not resolved recently")
    .requiredOption("--config <file>", "basewarm config file (required)")
    .option("--stale-hours <n>", "a reference is stale when not resolved for this long", "24")
    .option("--json", "print JSON")
    .action(async (opts: { config: string; staleHours: string; json?: boolean }) => {
      const hours = Number(opts.staleHours);
      if (!Number.isFinite(hours) || hours <= 0) throw new BasewarmError("USAGE", `--stale-hours ${JSON.stringify(opts.staleHours)}: want a positive number`);
      const [{ loadConfig }, { openState }, { stateStatus }] = await Promise.all([import("../../config/index.js"), import("../runtime.js"), import("../../run/status.js")]);
      const loaded = loadConfig(opts.config, { env: ctx.env });
      const state = await openState(loaded, ctx.env);
      try {
        const status = await stateStatus(state, { staleBefore: new Date(Date.now() - hours * 3600_000) });
        if (opts.json) {
          ctx.io.stdout(JSON.stringify(status, null, 2) + "\n");
          return;
        }
        const { runs, lastRunFailures: failures, stale } = status;
        if (runs.length === 0) ctx.io.stdout("no runs recorded yet\n");
        for (const run of runs) ctx.io.stdout(`run ${run.id}  ${run.trigger.padEnd(8)} ${run.outcome.padEnd(9)} ${run.startedAt}${run.endedAt ? ` → ${run.endedAt}` : ""}\n`);
        if (failures.images.length + failures.builds.length > 0) {
          ctx.io.stdout(`failures in run ${runs[0]?.id}:\n`);
          for (const image of failures.images) ctx.io.stdout(`  image ${image.source}: ${image.error ?? image.status}\n`);
          for (const build of failures.builds) ctx.io.stdout(`  build ${build.entry}: ${build.reason}\n`);
        }
        if (stale.length > 0) {
          ctx.io.stdout(`stale (not resolved in ${hours} h):\n`);
          for (const ref of stale) ctx.io.stdout(`  ${ref.ref}  last ${ref.lastResolved}\n`);
        }
      } finally {
        await state.close();
      }
    });
}
