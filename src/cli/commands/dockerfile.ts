import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { loadCatalog } from "../../catalog/index.js";
import { loadConfig, resolvePath } from "../../config/index.js";
import { targetReference } from "../../copy/index.js";
import { extractImages, rewriteDockerfile, type ImageUse } from "../../dockerfile/index.js";
import { BasewarmError } from "../../errors.js";
import { StateStore } from "../../state/index.js";
import type { CliContext } from "../context.js";
import { clientFor } from "../runtime.js";

function readDockerfile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new BasewarmError("FILE_NOT_FOUND", code === "EISDIR" ? `${path} is a directory; pass the Dockerfile itself` : `Dockerfile ${path} not found; check the path`);
  }
}

function buildArgs(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq <= 0) throw new BasewarmError("USAGE", `--build-arg ${JSON.stringify(value)}: want NAME=VALUE`);
    out[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return out;
}

const collect = (v: string, acc: string[]) => [...acc, v];

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

export function registerDockerfileCommands(program: Command, ctx: CliContext): void {
  program
    .command("refs")
    .description("list the external images a Dockerfile pulls, as BuildKit reads it (no network)")
    .argument("<dockerfile>", "path of the Dockerfile")
    .option("--build-arg <NAME=VALUE>", "override an ARG (repeatable)", collect, [] as string[])
    .option("--target <stage>", "only what this target's build pulls")
    .option("--platform <os/arch[/variant]>", "platform for the automatic platform ARGs")
    .option("--json", "print an array of objects")
    .action((path: string, opts: { buildArg: string[]; target?: string; platform?: string; json?: boolean }) => {
      const uses = extractImages(readDockerfile(path), {
        file: path,
        buildArgs: buildArgs(opts.buildArg),
        ...(opts.target === undefined ? {} : { target: opts.target }),
        ...(opts.platform === undefined ? {} : { platform: opts.platform }),
      });
      if (opts.json) {
        ctx.io.stdout(JSON.stringify(uses.map(useJson), null, 2) + "\n");
        return;
      }
      for (const use of uses) {
        const where = [`line ${use.line}`, use.stage === undefined ? "" : `stage ${use.stage}`, use.platform === undefined ? "" : `platform ${use.platform}`].filter(Boolean).join(", ");
        ctx.io.stdout(`${use.kind.padEnd(10)} ${use.normalized}  (${where})\n`);
      }
    });

  program
    .command("rewrite")
    .description("print a Dockerfile rewritten to pull from the mirror, pinned by digest where known")
    .argument("<dockerfile>", "path of the Dockerfile")
    .requiredOption("--config <file>", "basewarm config file")
    .option("--build-arg <NAME=VALUE>", "override an ARG (repeatable)", collect, [] as string[])
    .option("--target <stage>", "the build target")
    .option("--resolve", "ask the mirror for digests not yet in the state file")
    .action(async (path: string, opts: { config: string; buildArg: string[]; target?: string; resolve?: boolean }) => {
      const loaded = loadConfig(opts.config, { env: ctx.env });
      const { config } = loaded;
      const content = readDockerfile(path);
      const extractOptions = { file: path, buildArgs: buildArgs(opts.buildArg), ...(opts.target === undefined ? {} : { target: opts.target }) };
      const uses = extractImages(content, extractOptions);
      const statePath = resolvePath(loaded.dir, config.state);
      const digests = new Map<string, string>();
      const state = StateStore.open({ path: statePath });
      try {
        for (const use of uses) {
          const known = use.reference.digest ?? state.lastResolution(use.normalized)?.digest;
          if (known) digests.set(use.normalized, known);
        }
      } finally {
        state.close();
      }
      if (opts.resolve) {
        const client = clientFor(loaded, ctx.env, ctx.logger(config.log.level));
        try {
          for (const use of uses) {
            if (digests.has(use.normalized)) continue;
            const head = await client.manifestHead(targetReference(use.reference, config.target));
            if (head) digests.set(use.normalized, head.digest);
          }
        } finally {
          await client.close();
        }
      }
      const result = rewriteDockerfile(content, (use) => {
        if (use.kind === "syntax") return undefined;
        const target = targetReference(use.reference, config.target);
        const digest = digests.get(use.normalized);
        return digest ? target.pinned(digest).toString() : target.toString();
      }, extractOptions);
      ctx.io.stdout(result.text);
      for (const use of result.unrewritten) {
        if (use.kind !== "syntax") ctx.io.stderr(`basewarm: ${path}:${use.line}: ${use.ref} left as written (built from variables)\n`);
      }
    });

  program
    .command("plan")
    .description("every image the catalog needs, where it is used, its upstream digest and whether the mirror has it")
    .requiredOption("--config <file>", "basewarm config file")
    .option("--offline", "do not ask the registries")
    .option("--json", "print JSON")
    .action(async (opts: { config: string; offline?: boolean; json?: boolean }) => {
      const loaded = loadConfig(opts.config, { env: ctx.env });
      const { config } = loaded;
      const catalog = loadCatalog(loaded);
      const client = opts.offline ? undefined : clientFor(loaded, ctx.env, ctx.logger(config.log.level));
      const rows: Record<string, unknown>[] = [];
      try {
        for (const [key, need] of catalog.images) {
          const target = targetReference(need.reference, config.target);
          const row: Record<string, unknown> = { ref: key, mirror: target.toString(), platforms: need.platforms, usedBy: need.sites };
          if (client) {
            try {
              const upstream = need.reference.digest ? { digest: need.reference.digest } : await client.manifestHead(need.reference);
              row["upstreamDigest"] = upstream?.digest ?? null;
              const mirrored = upstream ? await client.manifestHead(target.pinned(upstream.digest)) : undefined;
              row["mirrored"] = mirrored !== undefined;
            } catch (err) {
              row["error"] = (err as Error).message;
            }
          }
          rows.push(row);
        }
      } finally {
        await client?.close();
      }
      if (opts.json) {
        ctx.io.stdout(JSON.stringify({ images: rows, entries: catalog.entries.map((e) => ({ name: e.name, dockerfile: e.dockerfile, cache: `${config.target.registry}/${e.cacheRepository}` })), problems: catalog.problems }, null, 2) + "\n");
      } else {
        for (const row of rows) {
          const state = row["error"] ? `error: ${String(row["error"])}` : row["mirrored"] === undefined ? "" : row["mirrored"] ? "mirrored" : "NOT mirrored";
          const digest = typeof row["upstreamDigest"] === "string" ? row["upstreamDigest"].slice(0, 19) : "";
          const sites = (row["usedBy"] as { kind: string; file?: string; line?: number; origin?: string }[]).map((s) => (s.kind === "config" ? s.origin : `${s.file}:${s.line}`)).join(", ");
          ctx.io.stdout(`${String(row["ref"])}  ${digest}  ${state}\n    → ${String(row["mirror"])}\n    used by ${sites}\n`);
        }
        for (const problem of catalog.problems) ctx.io.stderr(`basewarm: ${problem.message}\n`);
      }
      ctx.setExit(catalog.problems.length > 0 || rows.some((r) => r["error"]) ? 1 : 0);
    });
}
