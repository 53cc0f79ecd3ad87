import { resolve } from "node:path";
import type { Command } from "commander";
import type { CopyResult } from "../../copy/index.js";
import { BasewarmError } from "../../errors.js";
import { collect } from "../args.js";
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
      const [copy, { parsePlatform }, { loadConfig, defaultSettings }, { parseReference }, { clientFor }, { formatBytes, progressReporter }, layouts, { onStopSignals }] = await Promise.all([
        import("../../copy/index.js"), import("../../oci/index.js"), import("../../config/index.js"), import("../../reference/index.js"), import("../runtime.js"), import("../progress.js"),
        import("../../layout/index.js"), import("../signals.js"),
      ]);
      // skopeo's transport prefixes: docker:// for a registry (the default), oci: for a layout.
      const registryRef = (ref: string) => parseReference(ref.replace(/^docker:\/\//, ""));
      const srcLayout = layouts.isLayoutName(src) ? layouts.parseLayoutName(src) : undefined;
      const dstLayout = layouts.isLayoutName(dst) ? layouts.parseLayoutName(dst) : undefined;
      const source = srcLayout ? undefined : registryRef(src);
      const requested = dstLayout ? undefined : registryRef(dst);
      if (requested?.digest !== undefined && source?.digest !== undefined && requested.digest !== source.digest) {
        throw new BasewarmError("USAGE", `destination ${dst} names digest ${requested.digest}, but the source is ${source.digest}; a copy keeps the digest: drop it from the destination`);
      }
      if ((srcLayout || dstLayout) && opts.referrers) {
        throw new BasewarmError("USAGE", "--referrers: an OCI layout has no referrers API to read or write them; copy without --referrers");
      }
      const platforms = (opts.platform ?? []).map(parsePlatform);
      // Layouts are opened, and a source's name resolved, before any network: a missing or broken
      // layout, or a name it does not hold, is reported before anything is copied.
      const layoutFrom = srcLayout && copy.layoutSource(layouts.OciLayout.open(resolve(srcLayout.dir)), srcLayout.refName);
      const layoutTo = dstLayout && copy.layoutTarget(layouts.OciLayout.forWriting(resolve(dstLayout.dir)), dstLayout.refName);
      const loaded = opts.config ? loadConfig(opts.config, { env: ctx.env }) : undefined;
      const concurrency = loaded?.config.concurrency ?? defaultSettings().concurrency;
      const logger = await ctx.logger(loaded?.config.log.level, { human: !opts.json });
      const stop = new AbortController();
      const client = clientFor(loaded, ctx.env, logger, opts.insecure ?? [], stop.signal);
      const progress = progressReporter(process.stderr, 1, !opts.json);
      const unsubscribe = onStopSignals(() => stop.abort());
      try {
        const wanted = {
          ...(platforms.length ? { platforms } : {}),
          ...(opts.force ? { force: true } : {}),
        };
        let result: CopyResult;
        if (source && requested) {
          // The failure is printed below as the one line; the copier's own warning would repeat it.
          const copyLogger = opts.json ? logger : logger.child({}, { level: "error" });
          const copier = new copy.Copier({ client, logger: copyLogger, blobConcurrency: concurrency.blobs, imageConcurrency: concurrency.images, onProgress: progress.onProgress, signal: stop.signal });
          if (requested.digest !== undefined && source.digest === undefined) {
            const head = await client.manifestHead(source);
            if (head && head.digest !== requested.digest) {
              throw new BasewarmError("DIGEST_MISMATCH", `destination ${dst} names digest ${requested.digest}, but ${source.toString()} is ${head.digest}; drop the digest from the destination or copy the source by that digest`);
            }
          }
          // A destination digest was checked against what the source resolves to, above.
          result = await copier.copyImage({ source, target: requested, ...wanted, ...(opts.referrers ? { referrers: true } : {}) });
        } else {
          // One end at least is a layout; the other, when a registry, is wrapped the same way.
          const from = layoutFrom || (source && copy.registrySource(client, source));
          const to = layoutTo || (requested && copy.registryTarget(client, requested));
          if (!from || !to) throw new Error("copy: an end is neither a registry nor a layout");
          result = await copy.copyBetween({ source: from, target: to, ...wanted }, { blobConcurrency: concurrency.blobs, signal: stop.signal, logger, onProgress: progress.onProgress });
        }
        progress.done();
        if (opts.json) {
          ctx.io.stdout(JSON.stringify(result, null, 2) + "\n");
        } else if (result.status === "failed") {
          ctx.io.stderr(`basewarm: copy ${result.source} → ${result.target} failed: ${result.error ?? "unknown error"}\n`);
        } else {
          const note = result.platformsFiltered ? " (platforms filtered: new index digest)" : "";
          // A registry reference carries the digest; a layout name cannot (`oci:DIR:TAG@…` would be one tag).
          const shown = requested && parseReference(result.target, { defaultTag: false });
          const where = !shown ? `${result.target} (${result.digest})`
            : result.digest === null || shown.digest !== undefined ? shown.toString() : shown.withDigest(result.digest).toString();
          ctx.io.stdout(`${result.status} ${where}${note}: ${formatBytes(result.bytes)} moved, ${result.blobs.copied} blobs copied, ${result.blobs.mounted} mounted, ${result.blobs.skipped} already there\n`);
        }
        ctx.setExit(result.status === "failed" ? 1 : 0);
      } finally {
        unsubscribe();
        await client.close();
      }
    });
}
