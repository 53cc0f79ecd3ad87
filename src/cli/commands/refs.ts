import type { Command } from "commander";
import type { ImageUse } from "../../dockerfile/index.js";
import { collect, parseBuildArgs } from "../args.js";
import type { CliContext } from "../context.js";

function useJson(use: ImageUse): Record<string, unknown> {
  return {
    ref: use.ref,
    normalized: use.normalized,
    kind: use.kind,
    line: use.line,
    ...(use.platform === undefined ? {} : { platform: use.platform }),
    ...(use.stage === undefined ? {} : { stage: use.stage }),
  };
}

export function registerRefs(program: Command, ctx: CliContext): void {
  program
    .command("refs")
    .description("list the external images a Dockerfile pulls, as BuildKit reads it (no network)")
    .argument("<dockerfile>", "path of the Dockerfile")
    .option("--build-arg <NAME=VALUE>", "override an ARG (repeatable)", collect)
    .option("--target <stage>", "only what this target's build pulls")
    .option("--platform <os/arch[/variant]>", "platform for the automatic platform ARGs")
    .option("--json", "print an array of objects")
    .action(async (path: string, opts: { buildArg?: string[]; target?: string; platform?: string; json?: boolean }) => {
      const buildArgs = parseBuildArgs(opts.buildArg ?? [], ctx.env);
      // Only the parser and the file reader: no registry client, no state.
      const [{ extractImages }, { readDockerfile }] = await Promise.all([import("../../dockerfile/index.js"), import("../../run/catalog.js")]);
      const uses = extractImages(readDockerfile(path), {
        file: path,
        buildArgs,
        ...(opts.target === undefined ? {} : { target: opts.target }),
        ...(opts.platform === undefined ? {} : { platform: opts.platform }),
      });
      if (opts.json) {
        ctx.io.stdout(JSON.stringify(uses.map(useJson), null, 2) + "\n");
        return;
      }
      // Said on stderr, so stdout stays the list (empty) a script reads.
      if (uses.length === 0) ctx.io.stderr(`basewarm: ${path} pulls no image (only FROM scratch, or stages built here)\n`);
      for (const use of uses) {
        const where = [`line ${use.line}`, use.stage === undefined ? "" : `stage ${use.stage}`, use.platform === undefined ? "" : `platform ${use.platform}`].filter(Boolean).join(", ");
        ctx.io.stdout(`${use.kind.padEnd(10)} ${use.normalized}  (${where})\n`);
      }
    });
}
