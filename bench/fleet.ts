/**
 * The fleet row: the same catalog warmed by one `basewarm run` and by four `basewarm run --shard i/4`
 * processes at once (as the Kubernetes Indexed Job runs them), each into a fresh target registry,
 * timed as commands, with the requests both registries served.
 */
import { join } from "node:path";
import type { RunningRegistry } from "../testkit/index.js";
import { writeMirrorConfig, type Concurrency } from "./command.js";
import { measure } from "./measure.js";
import { median, type Sample } from "./report.js";
import type { BenchImage } from "./synthetic.js";
import { timedRun } from "./timed.js";

export interface FleetResult {
  single: Sample[];
  sharded: Sample[];
}

async function runs(cli: string, config: string, workDir: string, shards: number): Promise<void> {
  const env = { ...process.env, DOCKER_CONFIG: join(workDir, "no-docker-config") };
  const args = (i: number) => [cli, "run", "--config", config, "--json", ...(shards > 1 ? ["--shard", `${i}/${shards}`] : [])];
  await Promise.all(Array.from({ length: shards }, (_, i) => timedRun(process.execPath, args(i), { workDir, env, label: `basewarm run ${i}/${shards}` })));
}

export async function runFleet(options: {
  reps: number; cli: string; workDir: string; source: RunningRegistry; images: BenchImage[]; concurrency: Concurrency;
  start: () => Promise<RunningRegistry>; stop: (r: RunningRegistry) => Promise<void>; log: (m: string) => void;
}): Promise<FleetResult> {
  const result: FleetResult = { single: [], sharded: [] };
  for (let rep = 0; rep < options.reps; rep++) {
    for (const shards of rep % 2 === 0 ? [1, 4] : [4, 1]) {
      const target = await options.start();
      const config = join(options.workDir, `fleet-${rep}-${shards}.json`);
      await writeMirrorConfig(config, { source: options.source, target, images: options.images, state: join(options.workDir, `fleet-${rep}-${shards}.db`), concurrency: options.concurrency });
      const sample = await measure(options.source, target, async () => {
        await runs(options.cli, config, options.workDir, shards);
        return { inProcess: false, maxRssKiB: undefined, cpuSeconds: undefined };
      });
      (shards === 1 ? result.single : result.sharded).push(sample);
      options.log(`fleet ${rep + 1}/${options.reps} ${shards} process(es) ${sample.seconds.toFixed(2)} s, ${sample.sourceRequests + sample.targetRequests} requests`);
      await options.stop(target);
    }
  }
  return result;
}

export function renderFleet(fleet: FleetResult, images: number): string {
  const row = (label: string, samples: Sample[]) => {
    const requests = median(samples.map((s) => s.sourceRequests + s.targetRequests));
    return `${label.padEnd(34)} ${median(samples.map((s) => s.seconds)).toFixed(2).padStart(8)}  ${String(requests).padStart(6)} (${(requests / images).toFixed(2)}/image)`;
  };
  const ratio = median(fleet.single.map((s) => s.seconds)) / median(fleet.sharded.map((s) => s.seconds));
  return [
    "",
    `fleet: one catalog of ${images} images, cold, whole commands (basewarm run), medians of ${fleet.single.length}`,
    `${"".padEnd(34)} ${"wall (s)".padStart(8)}  requests`,
    row("1 process", fleet.single),
    row("4 shard processes at once (i/4)", fleet.sharded),
    `4 shards vs 1 process: ${ratio.toFixed(2)}× (2 cores here; the registry's CPU is shared by all shards)`,
    "",
  ].join("\n");
}
