import type { Command } from "commander";
import { BasewarmError } from "../../errors.js";
import { collect } from "../args.js";
import type { CliContext } from "../context.js";

export function registerCopy(program: Command, ctx: CliContext): void {
  program
    .command("copy")
    .description("copy one image from SRC to DST, skopeo-style (all platforms unless --platform)")
    .argument("<src>", "source image reference")
    .argument("<dst>", "destination image reference")
    .option("--platform <os/arch[/variant]>", "copy only this platform (repeatable)", collect)
    .option("--force", "copy even when the destination already has the digest")
    .option("--referrers", "also copy OCI referrers (signatures, SBOMs)")
    .option("--insecure <host>", "reach this registry over plain HTTP (repeatable; loopback always is)", collect)
    .option("--config <file>", "take registry credentials and settings from this config")
    .option("--json", "print the result as JSON")
    .action(async (src: string, dst: string, opts: { platform?: string[]; force?: boolean; referrers?: boolean; insecure?: string[]; config?: string; json?: boolean }) => {
      const [{ Copier }, { parsePlatform }, { loadConfig, defaultSettings }, { parseReference }, { clientFor }, { formatBytes, progressReporter }] = await Promise.all([
        import("../../copy/index.js"), import("../../oci/index.js"), import("../../config/index.js"), import("../../reference/index.js"), import("../runtime.js"), import("../progress.js"),
      ]);
      // skopeo's transport prefix is accepted for the registry transport (the only one basewarm copies).
      const withoutTransport = (ref: string) => ref.replace(/^docker:\/\//, "");
      const source = parseReference(withoutTransport(src));
      const requested = parseReference(withoutTransport(dst));
      if (requested.digest !== undefined && source.digest !== undefined && requested.digest !== source.digest) {
        throw new BasewarmError("USAGE", `destination ${dst} names digest ${requested.digest}, but the source is ${source.digest}; a copy keeps the digest: drop it from the destination`);
      }
      const platforms = (opts.platform ?? []).map(parsePlatform);
      const loaded = opts.config ? loadConfig(opts.config, { env: ctx.env }) : undefined;
      const concurrency = loaded?.config.concurrency ?? defaultSettings().concurrency;
      const logger = await ctx.logger(loaded?.config.log.level, { human: !opts.json });
      const client = clientFor(loaded, ctx.env, logger, opts.insecure ?? []);
      const progress = progressReporter(process.stderr, 1, !opts.json);
      try {
        const copier = new Copier({ client, logger, blobConcurrency: concurrency.blobs, imageConcurrency: concurrency.images, onProgress: progress.onProgress });
        if (requested.digest !== undefined && source.digest === undefined) {
          const head = await client.manifestHead(source);
          if (head && head.digest !== requested.digest) {
            throw new BasewarmError("DIGEST_MISMATCH", `destination ${dst} names digest ${requested.digest}, but ${source.toString()} is ${head.digest}; drop the digest from the destination or copy the source by that digest`);
          }
        }
        const result = await copier.copyImage({
          // A destination digest was checked against what the source resolves to, above.
          source, target: requested,
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
          const shown = parseReference(result.target, { defaultTag: false });
          const ref = result.digest === null || shown.digest !== undefined ? shown.toString() : shown.withDigest(result.digest).toString();
          ctx.io.stdout(`${result.status} ${ref}${note}: ${formatBytes(result.bytes)} moved, ${result.blobs.copied} blobs copied, ${result.blobs.mounted} mounted, ${result.blobs.skipped} already there\n`);
        }
        ctx.setExit(result.status === "failed" ? 1 : 0);
      } finally {
        await client.close();
      }
    });
}
