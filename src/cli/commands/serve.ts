import { hostname } from "node:os";
import type { Command } from "commander";
import { BasewarmError, errorMessage, exitCodeFor } from "../../errors.js";
import { parseShard } from "../args.js";
import type { CliContext } from "../context.js";

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command("serve")
    .description("run warm runs on the configured cron schedule until SIGTERM/SIGINT")
    .requiredOption("--config <file>", "basewarm config file (required)")
    .option("--once", "run once now and exit (for a Kubernetes CronJob)")
    .option("--shard <i/n>", "only this deterministic shard of the catalog")
    .action(async (opts: { config: string; once?: boolean; shard?: string }) => {
      const shard = parseShard(opts.shard);
      const [{ loadConfig }, { lockedWarmRun }, { catalogSource }, { runParts }, { Scheduler }, { onStopSignals }] = await Promise.all([
        import("../../config/index.js"), import("../../run/execute.js"), import("../../run/catalog.js"), import("../parts.js"),
        import("../../schedule/index.js"), import("../signals.js"),
      ]);
      const loaded = loadConfig(opts.config, { env: ctx.env });
      const schedule = loaded.config.schedule;
      if (!schedule && !opts.once) throw new BasewarmError("CONFIG_INVALID", `${loaded.path}: schedule.cron is required for basewarm serve (or use --once)`);
      // serve always logs at least info: its health lines are how operators watch it.
      const logger = await ctx.logger(loaded.config.log.level === "warn" ? "info" : loaded.config.log.level);
      const parts = runParts(loaded, ctx.env, logger);
      const scheduler = new Scheduler({
        cron: schedule?.cron ?? "0 0 * * *",
        ...(schedule?.timezone === undefined ? {} : { timezone: schedule.timezone }),
        jitterSeconds: opts.once ? 0 : (schedule?.jitterSeconds ?? 0),
        logger,
        run: async (signal) => {
          try {
            const report = await lockedWarmRun(parts, {
              config: loaded.config, catalog: catalogSource(loaded), trigger: opts.once ? "manual" : "schedule", signal,
              ...(shard ? { shard } : {}),
            });
            // "ok" only for a run that did all its work: a monitor reading these lines must see the rest.
            const health = { health: report.outcome, runId: report.runId, outcome: report.outcome, host: hostname() };
            if (report.outcome === "ok") logger.info(health, "health");
            else logger.warn(health, "health");
            // Abandoned counts too: for --once the work was not done. A scheduled serve exits 0 at stop.
            if (report.outcome !== "ok") ctx.setExit(1);
          } catch (err) {
            logger.error({ health: "error", error: errorMessage(err) }, "health");
            // The scheduler keeps going after a failed run; a one-shot run must say it failed.
            if (opts.once) {
              ctx.io.stderr(`basewarm: ${errorMessage(err)}\n`);
              ctx.setExit(exitCodeFor(err));
            }
          }
        },
      });
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        logger.info("stopping: no new runs; finishing or abandoning the current one");
        await scheduler.stop();
      };
      if (opts.once) {
        const unsubscribe = onStopSignals(() => void stop());
        await scheduler.fire();
        unsubscribe();
        return;
      }
      await new Promise<void>((resolve) => {
        onStopSignals(() => void stop().then(resolve));
        scheduler.start();
      });
      ctx.setExit(0);
    });
}
