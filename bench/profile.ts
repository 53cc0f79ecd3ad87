/**
 * Where `basewarm mirror` spends its time: one cold and one no-op run of N small images under
 * `node --cpu-prof`, each profile summarized as self time per function (file:line, mapped back to
 * src/*.ts through the source maps tsc writes) and per package.
 *
 *   node dist/bench/profile.js [--images 96] [--cli PATH] [--top 25] [--keep DIR] [--layer-scale 0.015625]
 */
import { readdir, readFile, mkdtemp, rm, cp } from "node:fs/promises";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startRegistry, type RunningRegistry } from "../testkit/index.js";
import { basewarmMirror, DEFAULT_CLI, writeMirrorConfig } from "./command.js";
import { fixed, table } from "./report.js";
import { SMALL_LAYER_SCALE } from "./scaling.js";
import { makeSyntheticSet, pushSyntheticSet } from "./synthetic.js";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const maps = new Map<string, SourceMap | null>();

async function sourceMapFor(file: string): Promise<SourceMap | null> {
  if (!maps.has(file)) {
    try {
      maps.set(file, new SourceMap(JSON.parse(await readFile(`${file}.map`, "utf8")) as ConstructorParameters<typeof SourceMap>[0]));
    } catch {
      maps.set(file, null);
    }
  }
  return maps.get(file) ?? null;
}

/** `src/copy/copier.ts:123` for our compiled code, `undici/lib/…:45` for a package, else the URL. */
async function location(frame: CallFrame): Promise<string> {
  if (!frame.url) return "";
  const file = frame.url.startsWith("file://") ? fileURLToPath(frame.url) : frame.url;
  const line = frame.lineNumber + 1;
  const pkg = /node_modules\/(.*)$/.exec(file);
  if (pkg) return `${pkg[1]}:${line}`;
  if (file.startsWith("node:")) return `${file}:${line}`;
  const map = await sourceMapFor(file);
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
  if (entry?.originalSource !== undefined && entry.originalLine !== undefined) {
    const source = entry.originalSource.startsWith("file://") ? fileURLToPath(entry.originalSource) : join(dirname(file), entry.originalSource);
    return `${relative(ROOT, source)}:${entry.originalLine + 1}`;
  }
  return `${relative(ROOT, file)}:${line}`;
}

function packageOf(frame: CallFrame): string {
  if (!frame.url) return frame.functionName || "(anonymous)"; // (idle), (garbage collector), (program)
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (pkg) return pkg[1] as string;
  if (frame.url.startsWith("node:")) return "node internals";
  if (frame.url.includes("/dist/src/")) return "basewarm src";
  return frame.url;
}

export async function summarizeProfile(path: string, top: number): Promise<string> {
  const profile = JSON.parse(await readFile(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<CpuProfile["nodes"][number]["callFrame"], number>();
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id);
    if (frame) self.set(frame, (self.get(frame) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = (profile.endTime - profile.startTime) / 1000;
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [frame, us] of self) {
    const key = `${frame.functionName || "(anonymous)"}  ${await location(frame)}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us / 1000);
    byPackage.set(packageOf(frame), (byPackage.get(packageOf(frame)) ?? 0) + us / 1000);
  }
  const rows = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, ms]) => [k, fixed(ms, 0), `${fixed((100 * ms) / total, 1)} %`]);
  return [
    `profiled ${fixed(total, 0)} ms`,
    "",
    table(["self time by package", "ms", "share"], rows(byPackage, 15)),
    "",
    table(["self time by function (file:line)", "ms", "share"], rows(byFunction, top)),
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      images: { type: "string", default: "96" },
      cli: { type: "string", default: DEFAULT_CLI },
      top: { type: "string", default: "25" },
      keep: { type: "string" },
      "layer-scale": { type: "string", default: String(SMALL_LAYER_SCALE) },
    },
    strict: true,
  });
  const count = Number(values.images);
  const work = await mkdtemp(join(tmpdir(), "basewarm-profile-"));
  const registries: RunningRegistry[] = [];
  try {
    const set = makeSyntheticSet({ count, layerScale: Number(values["layer-scale"]), seed: 384 });
    const source = await startRegistry();
    registries.push(source);
    const target = await startRegistry();
    registries.push(target);
    await pushSyntheticSet(source.url, set);
    const config = join(work, "basewarm.json");
    await writeMirrorConfig(config, { source, target, images: set.images, state: join(work, "state.db"), concurrency: { blobs: undefined, perRegistry: undefined, images: undefined } });
    for (const [name, wanted] of [["cold", "copied"], ["no-op", "unchanged"]] as const) {
      const dir = join(work, name);
      const r = await basewarmMirror({ cli: values.cli, config, workDir: work, wanted, cpuProfileDir: dir });
      const file = (await readdir(dir)).find((f) => f.endsWith(".cpuprofile"));
      if (!file) throw new Error(`no profile written in ${dir}`);
      process.stdout.write(`\n== ${name}: ${count} images, ${fixed(r.seconds)} s wall, ${fixed(r.cpuSeconds)} s CPU (profiling on) ==\n`);
      process.stdout.write(await summarizeProfile(join(dir, file), Number(values.top)));
      if (values.keep) await cp(join(dir, file), join(values.keep, `${name}.cpuprofile`));
    }
  } finally {
    for (const r of registries) await r.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith("profile.js")) {
  main().catch((err: unknown) => {
    process.stderr.write(`profile failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
