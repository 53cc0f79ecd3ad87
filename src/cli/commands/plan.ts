import type { Command } from "commander";
import type { CliContext } from "../context.js";

export function registerPlan(program: Command, ctx: CliContext): void {
  program
    .command("plan")
    .description("every image the catalog needs, where it is used, its upstream digest and whether the mirror has it")
    .requiredOption("--config <file>", "basewarm config file (required)")
    .option("--offline", "do not ask the registries")
    .option("--json", "print JSON")
    .action(async (opts: { config: string; offline?: boolean; json?: boolean }) => {
      const [{ loadConfig }, { catalogOf }, { planCatalog }, { clientFor }, { formatPlan }] = await Promise.all([
        import("../../config/index.js"), import("../../run/catalog.js"), import("../../run/plan.js"), import("../runtime.js"), import("../format.js"),
      ]);
      const loaded = loadConfig(opts.config, { env: ctx.env, secrets: !opts.offline });
      const catalog = catalogOf(loaded);
      const client = opts.offline ? undefined : clientFor(loaded, ctx.env, await ctx.logger(loaded.config.log.level, { human: !opts.json }));
      let plan;
      try {
        plan = await planCatalog(loaded.config, catalog, client);
      } finally {
        await client?.close();
      }
      if (opts.json) {
        ctx.io.stdout(JSON.stringify(plan, null, 2) + "\n");
      } else {
        ctx.io.stdout(formatPlan(plan));
        for (const problem of plan.problems) ctx.io.stderr(`basewarm: ${problem.message}\n`);
      }
      ctx.setExit(plan.problems.length > 0 || plan.images.some((r) => r.error !== undefined) ? 1 : 0);
    });
}
