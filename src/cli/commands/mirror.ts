import type { Command } from "commander";
import { loadCatalog, type CatalogProblem } from "../../catalog/index.js";
import { loadConfig, resolvePath } from "../../config/index.js";
import { parseReference } from "../../reference/index.js";
import { mirrorImages, type MirrorItem, type MirrorReport } from "../../run/mirror.js";
import { StateStore } from "../../state/index.js";
import type { CliContext } from "../context.js";
import { formatBytes, progressReporter } from "../progress.js";
import { clientFor } from "../runtime.js";

export function formatMirrorReport(report: MirrorReport): string {
  const lines: string[] = [];
  for (const image of report.images) {
    const digest = image.digest ? image.digest.slice(0, 19) : "-";
    const extra = image.status === "failed" || image.status === "deferred" ? `  ${image.error ?? ""}` : image.changedUpstream ? `  (upstream changed from ${image.previousDigest?.slice(0, 19)})` : "";
    lines.push(`${image.status.padEnd(9)} ${image.source} → ${image.target}  ${digest}  ${formatBytes(image.bytes)}${extra}`);
  }
  const s = report.summary;
  lines.push(`${s.images} images: ${s.copied} copied, ${s.unchanged} unchanged, ${s.failed} failed, ${s.deferred} deferred; ${formatBytes(s.bytes)} moved (${s.blobsCopied} blobs copied, ${s.blobsMounted} mounted, ${s.blobsSkipped} already there) in ${s.seconds.toFixed(1)} s`);
  return lines.join("\n") + "\n";
}

export function registerMirror(program: Command, ctx: CliContext): void {
  program
    .command("mirror")
    .description("mirror the given references (or every configured one) into the target registry")
    .argument("[refs...]", "image references; all references of the catalog and images: when none")
    .requiredOption("--config <file>", "basewarm config file")
    .option("--force", "re-copy even when the mirror already has the digest")
    .option("--json", "print the report as JSON")
    .action(async (refs: string[], opts: { config: string; force?: boolean; json?: boolean }) => {
      const loaded = loadConfig(opts.config, { env: ctx.env });
      const { config } = loaded;
      let items: MirrorItem[];
      let problems: CatalogProblem[] = [];
      if (refs.length > 0) {
        items = refs.map((ref) => ({ reference: parseReference(ref), platforms: config.mirror.platforms }));
      } else {
        const catalog = loadCatalog(loaded);
        problems = catalog.problems;
        items = [...catalog.images.values()].map((need) => ({ reference: need.reference, platforms: need.platforms }));
      }
      const logger = ctx.logger(config.log.level);
      const state = StateStore.open({ path: resolvePath(loaded.dir, config.state) });
      const client = clientFor(loaded, ctx.env, logger);
      const runId = state.startRun("mirror");
      const progress = progressReporter(process.stderr, items.length, !opts.json);
      try {
        const report = await mirrorImages({ client, config, items, state, runId, logger, onProgress: progress.onProgress, ...(opts.force ? { force: true } : {}) });
        progress.done();
        const failed = report.summary.failed > 0 || problems.length > 0;
        state.finishRun(runId, failed ? (report.summary.copied + report.summary.unchanged > 0 ? "partial" : "failed") : "ok", { mirror: report.summary, problems: problems.map((p) => p.message) });
        if (opts.json) {
          ctx.io.stdout(JSON.stringify({ images: report.images, summary: report.summary, problems }, null, 2) + "\n");
        } else {
          for (const problem of problems) ctx.io.stderr(`basewarm: ${problem.message}\n`);
          ctx.io.stdout(formatMirrorReport(report));
        }
        ctx.setExit(failed ? 1 : 0);
      } catch (err) {
        state.finishRun(runId, "failed", { error: String(err) });
        throw err;
      } finally {
        await client.close();
        state.close();
      }
    });
}
