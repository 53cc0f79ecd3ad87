import type { Command } from "commander";
import { parseShard } from "../args.js";
import type { CliContext } from "../context.js";

export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command("run")
    .description("one warm run over the whole catalog: mirror, build, verify, record")
    .requiredOption("--config <file>", "basewarm config file (required)")
    .option("--shard <i/n>", "only this deterministic shard of the catalog (0-based), for Kubernetes Indexed Jobs")
    .option("--json", "print the report as JSON")
    .action(async (opts: { config: string; shard?: string; json?: boolean }) => {
      // Arguments first: a bad --shard is reported before the config is even read.
      const shard = parseShard(opts.shard);
      const [{ loadConfig }, { lockedWarmRun }, { catalogSource }, { runParts }, { progressReporter }, { formatRunReport }, { onStopSignals }] = await Promise.all([
        import("../../config/index.js"), import("../../run/execute.js"), import("../../run/catalog.js"), import("../parts.js"),
        import("../progress.js"), import("../format.js"), import("../signals.js"),
      ]);
      const loaded = loadConfig(opts.config, { env: ctx.env });
      const logger = await ctx.logger(loaded.config.log.level, { human: !opts.json });
      const stop = new AbortController();
      const unsubscribe = onStopSignals(() => stop.abort());
      const progress = progressReporter(process.stderr, 0, !opts.json);
      try {
        const report = await lockedWarmRun(runParts(loaded, ctx.env, logger), {
          config: loaded.config, catalog: catalogSource(loaded), trigger: "manual", signal: stop.signal, onProgress: progress.onProgress,
          ...(shard ? { shard } : {}),
        });
        progress.done();
        ctx.io.stdout(opts.json ? JSON.stringify(report, null, 2) + "\n" : formatRunReport(report));
        // Stopped before its work was done (abandoned) is not success either: a CronJob must see it.
        ctx.setExit(report.outcome === "ok" ? 0 : 1);
      } finally {
        unsubscribe();
      }
    });
}
