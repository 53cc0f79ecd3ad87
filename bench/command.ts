/**
 * basewarm as users run it: `node dist/src/cli/main.js mirror --config F --json` in a child
 * process, with a config naming the target registry, a state file and the images.
 */
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RunningRegistry } from "../testkit/index.js";
import type { BenchImage } from "./synthetic.js";
import { timedRun, type TimedRun } from "./timed.js";

/** The CLI the bench was built with, next to it in dist/. */
export const DEFAULT_CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "cli", "main.js");

export interface Concurrency {
  blobs: number | undefined;
  perRegistry: number | undefined;
  images: number | undefined;
}

/** JSON, which is YAML: no quoting rules to get wrong. */
export async function writeMirrorConfig(path: string, options: { source: RunningRegistry; target: RunningRegistry; images: BenchImage[]; state: string; concurrency: Concurrency }): Promise<void> {
  const { blobs, perRegistry, images } = options.concurrency;
  const concurrency = {
    ...(blobs === undefined ? {} : { blobs }),
    ...(perRegistry === undefined ? {} : { perRegistry }),
    ...(images === undefined ? {} : { images }),
  };
  const config = {
    target: { registry: options.target.host, prefix: "mirror" },
    state: options.state,
    ...(Object.keys(concurrency).length > 0 ? { concurrency } : {}),
    images: options.images.map((i) => `${options.source.host}/${i.repository}:${i.tag}`),
  };
  await writeFile(path, JSON.stringify(config, null, 2) + "\n");
}

interface MirrorJson {
  images: { source: string; status: string; error?: string }[];
}

/** One `basewarm mirror`; fails unless every image ends with the wanted status. */
export async function basewarmMirror(options: { cli: string; config: string; workDir: string; wanted: string; cpuProfileDir?: string }): Promise<TimedRun> {
  const nodeArgs = options.cpuProfileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", options.cpuProfileDir];
  // No Docker config of the user's: the bench measures the same work on every machine.
  const env = { ...process.env, DOCKER_CONFIG: join(options.workDir, "no-docker-config") };
  const result = await timedRun(process.execPath, [...nodeArgs, options.cli, "mirror", "--config", options.config, "--json"], { workDir: options.workDir, env, label: "basewarm mirror" });
  const report = JSON.parse(result.stdout) as MirrorJson;
  const bad = report.images.filter((i) => i.status !== options.wanted);
  if (bad.length > 0) throw new Error(`basewarm mirror: ${bad.length} image(s) not ${options.wanted}: ${bad.slice(0, 3).map((i) => `${i.source} ${i.status} ${i.error ?? ""}`).join("; ")}`);
  return result;
}

/** Start-up as users see it: one short command, no registry involved. */
export function basewarmStartup(cli: string, args: string[], workDir: string): Promise<TimedRun> {
  return timedRun(process.execPath, [cli, ...args], { workDir, label: `basewarm ${args.join(" ")}` });
}
