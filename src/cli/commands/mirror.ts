import type { Command } from "commander";
import type { CliContext } from "../context.js";

export function registerMirror(program: Command, ctx: CliContext): void {
  program
    .command("mirror")
    .description("mirror the given references (or every configured one) into the target registry")
    .argument("[refs...]", "image references; all references of the catalog and images: when none")
    .requiredOption("--config <file>", "basewarm config file (required)")
    .option("--force", "re-copy even when the mirror already has the digest")
    .option("--json", "print the report as JSON")
    .action(async (refs: string[], opts: { config: string; force?: boolean; json?: boolean }) => {
      const [{ loadConfig }, { parseReference }, { mirrorRun }, { catalogOf }, { platformsToMirror }, { withRunLock }, runtime, { progressReporter }, { formatMirrorReport }, { onStopSignals }] = await Promise.all([
        import("../../config/index.js"), import("../../reference/index.js"), import("../../run/mirror.js"), import("../../run/catalog.js"), import("../../catalog/index.js"),
        import("../../run/lifecycle.js"), import("../runtime.js"), import("../progress.js"), import("../format.js"), import("../signals.js"),
      ]);
      const loaded = loadConfig(opts.config, { env: ctx.env });
      const { config } = loaded;
      const catalog = catalogOf(loaded);
      // A reference the catalog needs is copied with the catalog's platforms (the filter plus those
      // its builds pull for), so a one-off mirror makes exactly the copy a run would.
      const items = refs.length === 0
        ? [...catalog.images.values()].map((need) => ({ reference: need.reference, platforms: need.platforms }))
        // Once each, however it was spelled (`alpine` and `docker.io/library/alpine:latest` are one image).
        : [...new Map(refs.map((ref) => parseReference(ref)).map((r) => [r.toString(), r] as const)).values()]
          .map((reference) => ({ reference, platforms: catalog.images.get(reference.toString())?.platforms ?? platformsToMirror(reference, config.mirror.platforms) }));
      const problems = refs.length === 0 ? catalog.problems : [];
      const logger = await ctx.logger(config.log.level, { human: !opts.json });
      const state = await runtime.openState(loaded, ctx.env);
      const stop = new AbortController();
      const unsubscribe = onStopSignals(() => stop.abort());
      try {
        // The whole lock, as a run without --shard takes it: a mirror writes the same records a
        // run reads, and two copies of one image at once only race each other.
        await withRunLock(state, { stateLabel: runtime.stateLabel(loaded), logger, signal: stop.signal }, async (signal) => {
          const client = runtime.clientFor(loaded, ctx.env, logger, [], signal);
          const progress = progressReporter(process.stderr, items.length, !opts.json);
          try {
            const { report, failed } = await mirrorRun({
              client, config, items, state, logger, signal, onProgress: progress.onProgress,
              problems: problems.map((p) => p.message),
              ...(opts.force ? { force: true } : {}),
            });
            progress.done();
            if (opts.json) {
              ctx.io.stdout(JSON.stringify({ images: report.images, summary: report.summary, problems }, null, 2) + "\n");
            } else {
              for (const problem of problems) ctx.io.stderr(`basewarm: ${problem.message}\n`);
              ctx.io.stdout(formatMirrorReport(report));
            }
            ctx.setExit(failed ? 1 : 0);
          } finally {
            await client.close();
          }
        });
      } finally {
        unsubscribe();
        await state.close();
      }
    });
}
