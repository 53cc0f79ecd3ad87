/**
 * The blob-memory row: what a run that adds new repositories costs when the state remembers where
 * yesterday's run placed the shared "OS" layers (they are mounted) against a state that does not
 * (they are pulled from the source again). Both start from a target that already holds the first
 * half of the catalog; the second half, in new repositories, is then mirrored and timed as a command.
 */
import { join } from "node:path";
import type { RunningRegistry } from "../testkit/index.js";
import { basewarmMirror, writeMirrorConfig, type Concurrency } from "./command.js";
import { measure } from "./measure.js";
import { MB, median, type Sample } from "./report.js";
import type { BenchImage } from "./synthetic.js";

export interface BlobMemoryResult {
  /** The second half, with the state that mirrored the first half. */
  remembered: Sample[];
  /** The second half, with a state that never saw the first half. */
  forgotten: Sample[];
  images: number;
}

export async function runBlobMemory(options: {
  reps: number; cli: string; workDir: string; source: RunningRegistry; images: BenchImage[]; concurrency: Concurrency;
  start: () => Promise<RunningRegistry>; stop: (r: RunningRegistry) => Promise<void>; log: (m: string) => void;
}): Promise<BlobMemoryResult> {
  const half = Math.floor(options.images.length / 2);
  const first = options.images.slice(0, half);
  const second = options.images.slice(half);
  const result: BlobMemoryResult = { remembered: [], forgotten: [], images: second.length };
  for (let rep = 0; rep < options.reps; rep++) {
    for (const remember of rep % 2 === 0 ? [true, false] : [false, true]) {
      const target = await options.start();
      const name = (what: string) => join(options.workDir, `memory-${rep}-${remember ? "on" : "off"}-${what}`);
      const config = async (what: string, images: BenchImage[], state: string) => {
        await writeMirrorConfig(name(`${what}.json`), { source: options.source, target, images, state, concurrency: options.concurrency });
        return name(`${what}.json`);
      };
      const yesterday = await config("first", first, name("first.db"));
      await basewarmMirror({ cli: options.cli, config: yesterday, workDir: options.workDir, wanted: "copied" });
      const today = await config("second", second, remember ? name("first.db") : name("fresh.db"));
      const sample = await measure(options.source, target, async () => {
        const run = await basewarmMirror({ cli: options.cli, config: today, workDir: options.workDir, wanted: "copied" });
        return { inProcess: false, maxRssKiB: run.maxRssKiB, cpuSeconds: run.cpuSeconds };
      });
      (remember ? result.remembered : result.forgotten).push(sample);
      options.log(`blob memory ${rep + 1}/${options.reps} ${remember ? "remembered" : "forgotten "} ${sample.seconds.toFixed(2)} s, ${(sample.bytesPulled / MB).toFixed(1)} MB pulled`);
      await options.stop(target);
    }
  }
  return result;
}

export function renderBlobMemory(r: BlobMemoryResult): string {
  const row = (label: string, samples: Sample[]) =>
    `${label.padEnd(40)} ${median(samples.map((s) => s.seconds)).toFixed(2).padStart(8)}  ${(median(samples.map((s) => s.bytesPulled)) / MB).toFixed(1).padStart(11)}  ${String(median(samples.map((s) => s.profile.target["POST mount"] ?? 0))).padStart(10)}`;
  const gain = median(r.forgotten.map((s) => s.seconds)) / median(r.remembered.map((s) => s.seconds));
  return [
    "",
    `blob memory: ${r.images} images added in new repositories next to yesterday's, sharing its OS layers; basewarm mirror as a command, medians of ${r.remembered.length}`,
    `${"".padEnd(40)} ${"wall (s)".padStart(8)}  ${"pulled (MB)".padStart(11)}  ${"POST mount".padStart(10)}`,
    row("state remembers where the blobs are", r.remembered),
    row("fresh state (no memory)", r.forgotten),
    `with memory: ${gain.toFixed(2)}× the speed, ${((median(r.forgotten.map((s) => s.bytesPulled)) - median(r.remembered.map((s) => s.bytesPulled))) / MB).toFixed(1)} MB less pulled`,
    "",
  ].join("\n");
}
