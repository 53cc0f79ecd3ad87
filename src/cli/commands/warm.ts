import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { createBuilder, type BuilderConfig } from "../../builder/index.js";
import { loadConfig, resolvePath, type LoadedConfig } from "../../config/index.js";
import { BasewarmError } from "../../errors.js";
import { isLoopbackHost } from "../../registry/index.js";
import { warmRun, type RunReport } from "../../run/warm-run.js";
import { Scheduler } from "../../schedule/index.js";
import { StateStore, type RunTrigger } from "../../state/index.js";
import type { CliContext } from "../context.js";
import { formatMirrorReport } from "./mirror.js";
import { progressReporter } from "../progress.js";
import { clientFor } from "../runtime.js";

function parseShard(value: string | undefined): { index: number; count: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index >= count) throw new BasewarmError("USAGE", `--shard ${JSON.stringify(value)}: want INDEX/COUNT with 0 ≤ INDEX < COUNT, e.g. 0/4`);
  return { index, count };
}

/**
 * Builders get registry credentials through a Docker-style auth file, never on the command line.
 * The file lives in a private temp dir for the duration of the run.
 */
function builderAuthFile(loaded: LoadedConfig): { path?: string; cleanup: () => void } {
  const auths: Record<string, { auth: string }> = {};
  for (const [host, entry] of Object.entries(loaded.config.registries)) {
    const password = loaded.secrets[host];
    if (entry.username !== undefined && password !== undefined) auths[host] = { auth: Buffer.from(`${entry.username}:${password}`).toString("base64") };
  }
  if (Object.keys(auths).length === 0) return { cleanup: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), "basewarm-auth-"));
  const path = join(dir, "config.json");
  writeFileSync(path, JSON.stringify({ auths }), { mode: 0o600 });
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Call `handler` on the first SIGTERM or SIGINT; returns a function that stops listening. */
function onStopSignals(handler: () => void): () => void {
  process.once("SIGTERM", handler);
  process.once("SIGINT", handler);
  return () => {
    process.off("SIGTERM", handler);
    process.off("SIGINT", handler);
  };
}

export function formatRunReport(report: RunReport): string {
  const lines = [`run ${report.runId}: ${report.outcome} in ${report.seconds.toFixed(1)} s`, "mirror:"];
  lines.push(...formatMirrorReport(report.mirror).trimEnd().split("\n").map((l) => `  ${l}`));
  if (report.builds.length > 0) {
    lines.push("builds:");
    for (const b of report.builds) {
      const ratio = b.hitRatio === undefined ? "" : `  probe cache hits ${(b.hitRatio * 100).toFixed(0)}%`;
      lines.push(`  ${b.outcome.padEnd(8)} ${b.entry}  → ${b.cacheRef}  ${b.reason}${ratio}${b.durationMs ? `  (${(b.durationMs / 1000).toFixed(1)} s)` : ""}`);
    }
  }
  if (report.problems.length > 0) {
    lines.push("problems:");
    for (const p of report.problems) lines.push(`  ${p.message}`);
  }
  return lines.join("\n") + "\n";
}

interface WarmOptions {
  trigger: RunTrigger;
  shard?: { index: number; count: number };
  signal?: AbortSignal;
  progress: boolean;
}

/** Open state, take the cross-process lock, run once, release. */
async function executeWarmRun(loaded: LoadedConfig, ctx: CliContext, options: WarmOptions): Promise<RunReport> {
  const { config } = loaded;
  const logger = ctx.logger(config.log.level);
  const statePath = resolvePath(loaded.dir, config.state);
  const state = StateStore.open({ path: statePath });
  const lock = state.acquireLock();
  if (!lock) {
    state.close();
    throw new BasewarmError("LOCKED", `another warm run holds the lock in ${statePath}; wait for it to finish (a lock left by a dead process is taken over automatically)`);
  }
  const lost = new AbortController();
  const heartbeat = setInterval(() => {
    try {
      // Another process took the lock over (we looked dead or stale): stop starting new work.
      if (lock.heartbeat() === false) {
        logger.error({ state: statePath }, "the run lock was taken over by another process; stopping this run");
        lost.abort();
      }
    } catch (err) {
      logger.error({ error: (err as Error).message }, "cannot refresh the run lock; stopping this run");
      lost.abort();
    }
  }, 30_000);
  heartbeat.unref();
  const auth = builderAuthFile(loaded);
  const client = clientFor(loaded, ctx.env, logger);
  const insecure = [config.target.registry, ...Object.keys(config.registries)].filter((h) => isLoopbackHost(h) || config.registries[h]?.insecure);
  const builderConfig: BuilderConfig = {
    driver: config.build.driver,
    insecureRegistries: insecure,
    timeoutMs: config.build.timeoutSeconds * 1000,
    extraArgs: config.build.extraArgs,
    ...(config.build.addr === undefined ? {} : { addr: config.build.addr }),
    ...(config.build.executable === undefined ? {} : { executable: config.build.executable }),
    ...(auth.path === undefined ? {} : { authFile: auth.path }),
  };
  const progress = progressReporter(process.stderr, 0, options.progress);
  try {
    const report = await warmRun({
      loaded, client, state, builder: createBuilder(builderConfig), logger, trigger: options.trigger,
      ...(options.shard ? { shard: options.shard } : {}),
      signal: options.signal ? AbortSignal.any([options.signal, lost.signal]) : lost.signal,
      onProgress: progress.onProgress,
    });
    progress.done();
    logger.info({ health: { runId: report.runId, outcome: report.outcome, seconds: report.seconds, images: report.mirror.summary, builds: report.builds.length, problems: report.problems.length } }, "warm run finished");
    return report;
  } finally {
    clearInterval(heartbeat);
    lock.release();
    auth.cleanup();
    await client.close();
    state.close();
  }
}

export function registerWarmCommands(program: Command, ctx: CliContext): void {
  program
    .command("run")
    .description("one warm run over the whole catalog: mirror, build, verify, record")
    .requiredOption("--config <file>", "basewarm config file")
    .option("--shard <i/n>", "only this deterministic shard of the catalog (0-based), for Kubernetes Indexed Jobs")
    .option("--json", "print the report as JSON")
    .action(async (opts: { config: string; shard?: string; json?: boolean }) => {
      const loaded = loadConfig(opts.config, { env: ctx.env });
      const shard = parseShard(opts.shard);
      const controller = new AbortController();
      const unsubscribe = onStopSignals(() => controller.abort());
      try {
        const report = await executeWarmRun(loaded, ctx, { trigger: "manual", signal: controller.signal, progress: !opts.json, ...(shard ? { shard } : {}) });
        ctx.io.stdout(opts.json ? JSON.stringify(report, null, 2) + "\n" : formatRunReport(report));
        ctx.setExit(report.outcome === "ok" ? 0 : report.outcome === "abandoned" ? 0 : 1);
      } finally {
        unsubscribe();
      }
    });

  program
    .command("serve")
    .description("run warm runs on the configured cron schedule until SIGTERM/SIGINT")
    .requiredOption("--config <file>", "basewarm config file")
    .option("--once", "run once now and exit (for a Kubernetes CronJob)")
    .option("--shard <i/n>", "only this deterministic shard of the catalog")
    .action(async (opts: { config: string; once?: boolean; shard?: string }) => {
      const loaded = loadConfig(opts.config, { env: ctx.env });
      const shard = parseShard(opts.shard);
      const schedule = loaded.config.schedule;
      if (!schedule && !opts.once) throw new BasewarmError("CONFIG_INVALID", `${loaded.path}: schedule.cron is required for basewarm serve (or use --once)`);
      const logger = ctx.logger(loaded.config.log.level === "warn" ? "info" : loaded.config.log.level);
      const scheduler = new Scheduler({
        cron: schedule?.cron ?? "0 0 * * *",
        ...(schedule?.timezone === undefined ? {} : { timezone: schedule.timezone }),
        jitterSeconds: opts.once ? 0 : (schedule?.jitterSeconds ?? 0),
        logger,
        run: async (signal) => {
          try {
            const report = await executeWarmRun(loaded, ctx, { trigger: opts.once ? "manual" : "schedule", signal, progress: false, ...(shard ? { shard } : {}) });
            logger.info({ health: "ok", runId: report.runId, outcome: report.outcome, host: hostname() }, "health");
            if (report.outcome === "failed" || report.outcome === "partial") ctx.setExit(1);
          } catch (err) {
            logger.error({ health: "error", error: (err as Error).message }, "health");
            if (opts.once) throw err;
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

  program
    .command("status")
    .description("the last runs, what failed, and which references were not resolved recently")
    .requiredOption("--config <file>", "basewarm config file")
    .option("--stale-hours <n>", "a reference is stale when not resolved for this long", "24")
    .option("--json", "print JSON")
    .action((opts: { config: string; staleHours: string; json?: boolean }) => {
      const loaded = loadConfig(opts.config, { env: ctx.env });
      const hours = Number(opts.staleHours);
      if (!Number.isFinite(hours) || hours <= 0) throw new BasewarmError("USAGE", `--stale-hours ${JSON.stringify(opts.staleHours)}: want a positive number`);
      const state = StateStore.open({ path: resolvePath(loaded.dir, loaded.config.state) });
      try {
        const runs = state.recentRuns(10);
        const last = runs[0];
        const failures = last ? state.failuresOfRun(last.id) : { images: [], builds: [] };
        const stale = state.staleRefs(new Date(Date.now() - hours * 3600_000));
        if (opts.json) {
          ctx.io.stdout(JSON.stringify({ runs, lastRunFailures: failures, stale }, null, 2) + "\n");
          return;
        }
        if (runs.length === 0) ctx.io.stdout("no runs recorded yet\n");
        for (const run of runs) ctx.io.stdout(`run ${run.id}  ${run.trigger.padEnd(8)} ${run.outcome.padEnd(9)} ${run.startedAt}${run.endedAt ? ` → ${run.endedAt}` : ""}\n`);
        if (failures.images.length + failures.builds.length > 0) {
          ctx.io.stdout(`failures in run ${last?.id}:\n`);
          for (const image of failures.images) ctx.io.stdout(`  image ${image.source}: ${image.error ?? image.status}\n`);
          for (const build of failures.builds) ctx.io.stdout(`  build ${build.entry}: ${build.reason}\n`);
        }
        if (stale.length > 0) {
          ctx.io.stdout(`stale (not resolved in ${hours} h):\n`);
          for (const ref of stale) ctx.io.stdout(`  ${ref.ref}  last ${ref.lastResolved}\n`);
        }
      } finally {
        state.close();
      }
    });

  program
    .command("history")
    .description("the digests each reference resolved to over time")
    .argument("[ref]", "one image reference (all when omitted)")
    .requiredOption("--config <file>", "basewarm config file")
    .option("--json", "print JSON")
    .action(async (ref: string | undefined, opts: { config: string; json?: boolean }) => {
      const loaded = loadConfig(opts.config, { env: ctx.env });
      const { parseReference } = await import("../../reference/index.js");
      const normalized = ref === undefined ? undefined : parseReference(ref).toString();
      const state = StateStore.open({ path: resolvePath(loaded.dir, loaded.config.state) });
      try {
        const rows = state.history(normalized);
        if (opts.json) {
          ctx.io.stdout(JSON.stringify(rows, null, 2) + "\n");
          return;
        }
        if (rows.length === 0) ctx.io.stdout(normalized ? `no history for ${normalized}\n` : "no history yet\n");
        for (const row of rows) ctx.io.stdout(`${row.ref}  ${row.digest}  first ${row.firstSeen}  last ${row.lastSeen}  (${row.runs} runs)\n`);
      } finally {
        state.close();
      }
    });
}
