import type { Command } from "commander";
import { collect, parseBuildArgs } from "../args.js";
import type { CliContext } from "../context.js";
import { BasewarmError } from "../../errors.js";

export function registerBuildkitConfig(program: Command, ctx: CliContext): void {
  program
    .command("buildkit-config")
    .description("print what points a BuildKit builder at the mirror: buildkitd.toml mirrors, a source policy, or --build-context flags")
    .argument("[dockerfile]", "only this Dockerfile's images (required for build-contexts)")
    .requiredOption("--config <file>", "basewarm config file (required)")
    .requiredOption("--format <format>", "mirrors, source-policy or build-contexts")
    .option("--build-arg <NAME=VALUE>", "override an ARG of the Dockerfile (repeatable; default: the catalog entry's buildArgs)", collect)
    .option("--target <stage>", "the Dockerfile's build target (default: the catalog entry's)")
    .option("--platform <os/arch[/variant]>", "platform for the automatic platform ARGs (default: the catalog entry's first)")
    .option("--json", "print JSON: the output with the redirected and left-out images")
    .action(async (path: string | undefined, opts: { config: string; format: string; buildArg?: string[]; target?: string; platform?: string; json?: boolean }) => {
      const buildArgs = parseBuildArgs(opts.buildArg ?? [], ctx.env);
      const [{ loadConfig }, { catalogOf, readDockerfile, dockerfileOptions }, { buildkitConfig, BUILDKIT_CONFIG_FORMATS }, { clientFor }] = await Promise.all([
        import("../../config/index.js"), import("../../run/catalog.js"), import("../../redirect/index.js"), import("../runtime.js"),
      ]);
      const format = BUILDKIT_CONFIG_FORMATS.find((f) => f === opts.format);
      if (format === undefined) throw new BasewarmError("USAGE", `--format ${JSON.stringify(opts.format)}: want one of ${BUILDKIT_CONFIG_FORMATS.join(", ")}`);
      if (format === "build-contexts" && path === undefined) throw new BasewarmError("USAGE", "--format build-contexts needs a DOCKERFILE argument: the flags are per build");
      if (path === undefined && (opts.buildArg !== undefined || opts.target !== undefined || opts.platform !== undefined)) {
        throw new BasewarmError("USAGE", "--build-arg, --target and --platform apply to a DOCKERFILE argument; give one, or drop them");
      }
      const loaded = loadConfig(opts.config, { env: ctx.env });
      const dockerfile = path === undefined ? undefined : {
        content: readDockerfile(path),
        options: dockerfileOptions(loaded, path, {
          buildArgs,
          ...(opts.target === undefined ? {} : { target: opts.target }),
          ...(opts.platform === undefined ? {} : { platform: opts.platform }),
        }).options,
      };
      const catalog = catalogOf(loaded);
      const client = clientFor(loaded, ctx.env, await ctx.logger(loaded.config.log.level));
      let result;
      try {
        result = await buildkitConfig({ format, config: loaded.config, catalog, client, ...(dockerfile ? { dockerfile } : {}) });
      } finally {
        await client.close();
      }
      if (opts.json) {
        ctx.io.stdout(JSON.stringify(result, null, 2) + "\n");
      } else {
        ctx.io.stdout(result.text);
      }
      // JSON has no comments: what was left out goes to stderr in every format.
      for (const left of result.leftOut) ctx.io.stderr(`basewarm: not redirected: ${left.ref}: ${left.message}\n`);
      for (const problem of result.problems) ctx.io.stderr(`basewarm: ${problem}\n`);
      ctx.setExit(result.leftOut.length > 0 || result.problems.length > 0 ? 1 : 0);
    });
}
