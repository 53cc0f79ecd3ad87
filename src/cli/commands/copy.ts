import type { Command } from "commander";
import { collect } from "../args.js";
import { exitCodeForCode } from "../../errors.js";
import type { CliContext } from "../context.js";

export function registerCopy(program: Command, ctx: CliContext): void {
  program
    .command("copy")
    .description("copy one image from SRC to DST, skopeo-style (all platforms unless --platform); either may be an OCI layout")
    .argument("<src>", "source: an image reference (docker:// optional) or an OCI layout, oci:DIR[:TAG]")
    .argument("<dst>", "destination: an image reference or oci:DIR[:TAG] (DIR is created when missing)")
    .option("--platform <os/arch[/variant]>", "copy only this platform (repeatable)", collect)
    .option("--force", "copy even when the destination already has the digest")
    .option("--referrers", "also copy OCI referrers (signatures, SBOMs); registries only")
    .option("--insecure <host>", "reach this registry over plain HTTP (repeatable; loopback always is)", collect)
    .option("--config <file>", "take registry credentials and settings from this config")
    .option("--json", "print the result as JSON")
    .addHelpText("after", [
      "",
      "oci:DIR[:TAG] is an OCI image layout, as skopeo names it: DIR runs to the first ':', TAG is the",
      "image's org.opencontainers.image.ref.name. A source without TAG must hold exactly one image.",
      "  basewarm copy docker.io/library/alpine:3.20 oci:./alpine:3.20",
      "  basewarm copy oci:./alpine:3.20 mirror.internal:5000/library/alpine:3.20",
    ].join("\n"))
    .action(async (src: string, dst: string, opts: { platform?: string[]; force?: boolean; referrers?: boolean; insecure?: string[]; config?: string; json?: boolean }) => {
      const [{ openCopyEnds, copyOne }, { parsePlatform }, { loadConfig, defaultSettings }, { parseReference }, { clientFor }, { count, formatBytes, progressReporter }, { onStopSignals }] = await Promise.all([
        import("../../run/copy.js"), import("../../oci/index.js"), import("../../config/index.js"), import("../../reference/index.js"), import("../runtime.js"), import("../progress.js"),
        import("../signals.js"),
      ]);
      const ends = openCopyEnds(src, dst, opts.referrers ? { referrers: true } : {});
      const platforms = (opts.platform ?? []).map(parsePlatform);
      const loaded = opts.config ? loadConfig(opts.config, { env: ctx.env }) : undefined;
      const concurrency = loaded?.config.concurrency ?? defaultSettings().concurrency;
      const logger = await ctx.logger(loaded?.config.log.level, { human: !opts.json });
      const stop = new AbortController();
      const client = clientFor(loaded, ctx.env, logger, opts.insecure ?? [], stop.signal);
      const progress = progressReporter(process.stderr, 1, !opts.json);
      const unsubscribe = onStopSignals(() => stop.abort());
      try {
        const result = await copyOne(ends, {
          client, blobConcurrency: concurrency.blobs, imageConcurrency: concurrency.images, signal: stop.signal, onProgress: progress.onProgress,
          // The failure is printed below as the one line; the copier's own warning would repeat it.
          logger: opts.json ? logger : logger.child({}, { level: "error" }),
          ...(platforms.length ? { platforms } : {}),
          ...(opts.force ? { force: true } : {}),
          ...(opts.referrers ? { referrers: true } : {}),
        });
        progress.done();
        if (opts.json) {
          ctx.io.stdout(JSON.stringify(result, null, 2) + "\n");
        } else if (result.status === "failed") {
          ctx.io.stderr(`basewarm: copy ${result.source} → ${result.target} failed: ${result.error ?? "unknown error"}\n`);
        } else {
          const note = result.platformsFiltered ? " (platforms filtered: new index digest)" : "";
          // A registry reference carries the digest; a layout name cannot (`oci:DIR:TAG@…` would be one tag).
          const shown = ends.target && parseReference(result.target, { defaultTag: false });
          const where = !shown ? `${result.target} (${result.digest})`
            : result.digest === null || shown.digest !== undefined ? shown.toString() : shown.withDigest(result.digest).toString();
          ctx.io.stdout(`${result.status} ${where}${note}: ${formatBytes(result.bytes)} moved, ${count(result.blobs.copied, "blob")} copied, ${result.blobs.mounted} mounted, ${result.blobs.skipped} already there\n`);
        }
        // A failure the user caused (a layout they may not write, a name it lacks) exits 2, as before the copy.
        ctx.setExit(result.status === "failed" ? exitCodeForCode(result.errorCode) : 0);
      } finally {
        unsubscribe();
        await client.close();
      }
    });
}
