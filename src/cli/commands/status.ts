import { Option, type Command } from "commander";
import { BasewarmError, errorMessage, isBasewarmError } from "../../errors.js";
import { parseDuration } from "../args.js";
import type { CliContext } from "../context.js";

const MAX_STALE_HOURS = 10 * 365 * 24;

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description("the last runs, what failed, and which references were not resolved recently; exits 1 when a shard's last run failed or was partial")
    .requiredOption("--config <file>", "basewarm config file (required)")
    .addOption(new Option("--stale-hours <n>", "a reference is stale when not resolved for this long").default("24", "24 h"))
    .option("--json", "print JSON")
    .option("--check", "exit 1 when the last run of any shard failed, was partial or abandoned, a shard never ran, or an image deferred at the rate-limit reserve was not mirrored within --stale-hours (for monitoring)")
    .option("--max-age <duration>", "with --check: also when a shard's last run started longer ago than this (e.g. 7h)")
    .action(async (opts: { config: string; staleHours: string; json?: boolean; check?: boolean; maxAge?: string }) => {
      const hours = Number(opts.staleHours);
      // Ten years: beyond that the date it names is not a date.
      if (!Number.isFinite(hours) || hours <= 0 || hours > MAX_STALE_HOURS) throw new BasewarmError("USAGE", `--stale-hours ${JSON.stringify(opts.staleHours)}: want a positive number of hours, at most ${MAX_STALE_HOURS}`);
      if (opts.maxAge !== undefined && !opts.check) throw new BasewarmError("USAGE", `--max-age ${JSON.stringify(opts.maxAge)} only counts with --check; add --check`);
      const maxAgeMs = opts.maxAge === undefined ? undefined : parseDuration("--max-age", opts.maxAge);
      const [{ loadConfig }, { openRecordedState }, { stateStatus, healthProblems, runProblems, neverRanText }, { shardName }] = await Promise.all([import("../../config/index.js"), import("../runtime.js"), import("../../run/status.js"), import("../../state/index.js")]);
      const loaded = loadConfig(opts.config, { env: ctx.env, secrets: false });
      let state;
      try {
        state = await openRecordedState(loaded, ctx.env);
      } catch (err) {
        // For a monitor, a state nothing has written yet is "never ran" (1), like an empty one.
        if (!opts.check || !isBasewarmError(err, "STATE_EMPTY")) throw err;
        ctx.io.stderr(`basewarm: ${errorMessage(err)}\n`);
        ctx.setExit(1);
        return;
      }
      try {
        const now = new Date();
        const staleMs = hours * 3600_000;
        const status = await stateStatus(state, { staleBefore: new Date(now.getTime() - staleMs) });
        const problems = healthProblems(status, now, { staleMs, ...(maxAgeMs === undefined ? {} : { maxAgeMs }) });
        // Without --check only failed work counts; --check also counts abandoned, too old and never run.
        const failedWork = status.shards.some((s) => s.last.outcome === "failed" || s.last.outcome === "partial");
        ctx.setExit(opts.check ? (problems.length > 0 ? 1 : 0) : failedWork ? 1 : 0);
        if (opts.json) {
          ctx.io.stdout(JSON.stringify({ ...status, problems }, null, 2) + "\n");
          return;
        }
        const { runs, shards, neverRan, stale } = status;
        if (runs.length === 0) ctx.io.stdout("no runs recorded yet\n");
        for (const run of runs) ctx.io.stdout(`run ${run.id}  ${run.trigger.padEnd(8)} ${run.outcome.padEnd(9)} shard ${shardName(run.shard).padEnd(5)} ${run.startedAt}${run.endedAt ? ` → ${run.endedAt}` : ""}\n`);
        for (const shard of neverRan) ctx.io.stdout(`${neverRanText(shard)}\n`);
        for (const { shard, last, failures } of shards) {
          const problems = runProblems(last.summary);
          if (failures.images.length + failures.builds.length + problems.length === 0) continue;
          ctx.io.stdout(`failures in run ${last.id} (shard ${shard}):\n`);
          for (const image of failures.images) ctx.io.stdout(`  image ${image.source}: ${image.error ?? image.status}\n`);
          for (const build of failures.builds) ctx.io.stdout(`  build ${build.entry}: ${build.reason}\n`);
          for (const problem of problems) ctx.io.stdout(`  ${problem}\n`);
        }
        for (const { shard, last, deferred } of shards) {
          if (deferred.length === 0) continue;
          ctx.io.stdout(`deferred (rate limit) in run ${last.id} (shard ${shard}), tried again next run:\n`);
          for (const image of deferred) ctx.io.stdout(`  image ${image.source}: ${image.lastMirrored === null ? "never mirrored" : `last mirrored ${image.lastMirrored}`}\n`);
        }
        if (stale.length > 0) {
          ctx.io.stdout(`stale (not resolved in ${hours} h):\n`);
          for (const ref of stale) ctx.io.stdout(`  ${ref.ref}  last ${ref.lastResolved}\n`);
        }
        if (opts.check) for (const problem of problems) ctx.io.stderr(`basewarm: ${problem}\n`);
      } finally {
        await state.close();
      }
    });
}

