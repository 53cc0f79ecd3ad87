import type { Command } from "commander";
import { collect, parseBuildArgs } from "../args.js";
import type { CliContext } from "../context.js";
import { isBasewarmError } from "../../errors.js";

export function registerRewrite(program: Command, ctx: CliContext): void {
  program
    .command("rewrite")
    .description("print a Dockerfile rewritten to pull from the mirror, pinned by the digest the mirror holds")
    .argument("<dockerfile>", "path of the Dockerfile")
    .requiredOption("--config <file>", "basewarm config file (required)")
    .option("--build-arg <NAME=VALUE>", "override an ARG (repeatable; default: the catalog entry's buildArgs)", collect)
    .option("--target <stage>", "the build target (default: the catalog entry's)")
    .option("--platform <os/arch[/variant]>", "platform for the automatic platform ARGs (default: the catalog entry's first)")
    .option("--resolve", "ask the mirror which digest it holds for each image")
    .action(async (path: string, opts: { config: string; buildArg?: string[]; target?: string; platform?: string; resolve?: boolean }) => {
      const buildArgs = parseBuildArgs(opts.buildArg ?? [], ctx.env);
      const [{ loadConfig }, { readDockerfile, dockerfileOptions }, { rewriteForMirror }, runtime] = await Promise.all([
        import("../../config/index.js"), import("../../run/catalog.js"), import("../../run/rewrite.js"), import("../runtime.js"),
      ]);
      const loaded = loadConfig(opts.config, { env: ctx.env });
      const content = readDockerfile(path);
      const { options, platforms } = dockerfileOptions(loaded, path, {
        buildArgs,
        ...(opts.target === undefined ? {} : { target: opts.target }),
        ...(opts.platform === undefined ? {} : { platform: opts.platform }),
      });
      // Read what the state recorded, if there is a state yet: previewing must not create one, nor
      // need to write it (a read-only mount is opened read-only).
      const state = await runtime.openRecordedState(loaded, ctx.env).catch((err: unknown) => {
        if (isBasewarmError(err, "STATE_EMPTY")) return undefined; // no file, or a database nothing has recorded in yet
        throw err;
      });
      const client = opts.resolve ? runtime.clientFor(loaded, ctx.env, await ctx.logger(loaded.config.log.level, { human: true })) : undefined;
      try {
        const result = await rewriteForMirror({
          content, options, platforms, config: loaded.config,
          ...(state ? { mirroredDigest: async (source: string, target: string) => (await state.lastMirrored(source, target))?.digest } : {}),
          ...(client ? { client } : {}),
        });
        ctx.io.stdout(result.text);
        for (const use of result.unrewritten) {
          if (use.kind !== "syntax") ctx.io.stderr(`basewarm: ${path}:${use.line}: ${use.ref} left as written (built from variables)\n`);
        }
        // Asked, the mirror said it lacks these: the rewritten file would not build from it.
        const where = opts.resolve ? "the mirror does not hold it" : "the state has no record of mirroring it (--resolve asks the mirror)";
        for (const use of result.unknown) ctx.io.stderr(`basewarm: ${path}:${use.line}: ${use.ref}: ${where}; mirror it first: basewarm mirror --config ${opts.config} ${use.normalized}\n`);
        if (opts.resolve && result.unknown.length > 0) ctx.setExit(1);
      } finally {
        await state?.close();
        await client?.close();
      }
    });
}
